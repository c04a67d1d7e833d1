//===- tests/unit/ir/VerifierTest.cpp - Every violation, at once ----------===//

#include "IRTestUtil.h"

#include "ir/Builder.h"
#include "ir/IR.h"

using namespace mpc;
using namespace mpc::test;

namespace {
TensorType f32(std::vector<int64_t> s, Vis v = Vis::Public, int owner = -1) {
  return TensorType(s, ElemType::F32, v, owner);
}
} // namespace

TEST_CASE("verifier accepts a well-formed graph", "[ir][verifier]") {
  Graph g;
  Builder b(g);
  Value *x = g.addInput("x", f32({2, 4}, Vis::Private, 1));
  Value *w = b.constF32({4, 4}, std::vector<double>(16, 1.0), "w");
  Value *y = ok(b.create(OpKind::MatMul, {x, w}))->result();
  Value *z = ok(b.create(OpKind::Gelu, {y}))->result();
  g.setOutputs({z, x});
  CHECK(!verifyGraph(g));
  CHECK(!verifyGraph(g, OpStage::Any));
  // Add is valid at every stage, Gelu only before lowering.
  std::string msg = errorOf(verifyGraph(g, OpStage::Lowered));
  CHECK(msg == "%0 = matmul: a semantic op is not allowed in a lowered "
               "graph\n%1 = gelu: a semantic op is not allowed in a lowered "
               "graph");
}

TEST_CASE("verifier reports every violation", "[ir][verifier]") {
  Graph g;
  Builder b(g);
  Value *x = g.addInput("x", f32({2, 4}));
  b.setLoc({"/a/Add", "Add", 17, ""});
  // %0: wrong operand count.
  b.createWithTypes(OpKind::Add, {x}, {f32({2, 4})});
  b.setLoc({});
  // %1: unknown attribute and a missing one.
  b.createWithTypes(OpKind::MaskBias, {x}, {f32({2, 4})},
                    {{"bogus", int64_t(1)}});
  // %2: wrong result type.
  Op *neg = b.createWithTypes(OpKind::Neg, {x}, {f32({4, 2})});
  // %3: attribute of the wrong kind.
  b.createWithTypes(OpKind::Gelu, {x}, {f32({2, 4})}, {{"form", int64_t(3)}});
  // %4: shapes that do not fit.
  b.createWithTypes(OpKind::MatMul, {x, x}, {f32({2, 4})});
  // Use before definition: an op placed before the op defining its operand.
  Op *late = ok(b.create(OpKind::Exp, {x}));
  b.setInsertionPointBefore(neg);
  ok(b.create(OpKind::Relu, {late->result()}));
  // A value from another graph.
  Graph other;
  Value *foreign = other.addInput("foreign", f32({2, 4}));
  b.setInsertionPointToEnd();
  b.createWithTypes(OpKind::Sqrt, {foreign}, {f32({2, 4})});
  g.setOutputs({late->result(), foreign});

  std::string msg = errorOf(verifyGraph(g));
  std::vector<std::string> lines;
  llvm::SmallVector<llvm::StringRef, 8> parts;
  llvm::StringRef(msg).split(parts, '\n');
  for (llvm::StringRef p : parts)
    lines.push_back(p.str());
  std::vector<std::string> want = {
      "[onnx node '/a/Add' (Add, opset 17)] %0 = add: has 1 operands, "
      "expects 2",
      "%1 = mask_bias: unknown attribute 'bogus'",
      "%1 = mask_bias: missing attribute 'value'",
      "%2 = relu: operand 0 (%6) is used before it is defined or is not in "
      "the graph",
      "%3 = neg: result type is public<4x2, f32>, but the operands give "
      "public<2x4, f32>",
      "%4 = gelu: attribute 'form' must be a string",
      "%5 = matmul: inner dimensions differ: 2x4 vs 2x4",
      "%7 = sqrt: operand 0 (%<undefined>) is used before it is defined or "
      "is not in the graph",
      "output 1 (%<undefined>) is not defined in the graph",
  };
  CHECK(lines == want);
}

TEST_CASE("verifier checks constant data sizes", "[ir][verifier]") {
  Graph g;
  ConstData d;
  d.f = {1.0, 2.0};
  Value *c = g.addConstant("c", f32({3}), d);
  ConstData e;
  e.elided = true;
  g.addConstant("big", f32({1000}), e);
  g.setOutputs({c});
  CHECK(errorOf(verifyGraph(g)) ==
        "constant %c of type public<3, f32> has 2 values");
}
