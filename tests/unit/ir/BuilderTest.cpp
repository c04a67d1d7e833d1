//===- tests/unit/ir/BuilderTest.cpp - Type inference and graph editing ---===//
//
// Result type inference for every op kind (shapes, element types,
// visibility), its error messages, and the Graph's bookkeeping: use lists,
// replaceAllUsesWith, eraseOp, dead constants, unique names.
//
//===----------------------------------------------------------------------===//

#include "IRTestUtil.h"

#include "ir/Builder.h"
#include "ir/OpSchema.h"

using namespace mpc;
using namespace mpc::test;

namespace {
using Shape = std::vector<int64_t>;

TensorType f32(Shape s, Vis v = Vis::Public, int owner = -1) {
  return TensorType(s, ElemType::F32, v, owner);
}
TensorType i64(Shape s, Vis v = Vis::Public, int owner = -1) {
  return TensorType(s, ElemType::I64, v, owner);
}

/// Infers the single result type of \p kind applied to values of \p types.
llvm::Expected<TensorType> infer(OpKind kind, std::vector<TensorType> types,
                                 std::map<std::string, Attr> attrs = {}) {
  Graph g;
  std::vector<const Value *> ops;
  for (size_t k = 0; k < types.size(); ++k)
    ops.push_back(g.addInput("x" + std::to_string(k), types[k]));
  auto r = inferResultTypes(kind, ops, attrs);
  if (!r)
    return r.takeError();
  REQUIRE(r->size() == 1);
  return (*r)[0];
}

std::string inferShape(OpKind kind, std::vector<TensorType> types,
                       std::map<std::string, Attr> attrs = {}) {
  return ok(infer(kind, std::move(types), std::move(attrs))).str();
}

std::string inferError(OpKind kind, std::vector<TensorType> types,
                       std::map<std::string, Attr> attrs = {}) {
  return errorOf(infer(kind, std::move(types), std::move(attrs)));
}

using Ints = std::vector<int64_t>;
} // namespace

TEST_CASE("op kinds map to names and back", "[ir][graph]") {
  CHECK(opKindName(OpKind::ReduceMean) == "reduce_mean");
  CHECK(opKindName(OpKind::MaskBias) == "mask_bias");
  CHECK(opKindStage(OpKind::Add) == OpStage::Any);
  CHECK(opKindStage(OpKind::Gelu) == OpStage::Semantic);
  CHECK(opKindFromName("layernorm") == OpKind::LayerNorm);
  CHECK(!opKindFromName("conv"));
  for (unsigned k = 0; k <= static_cast<unsigned>(OpKind::MaskBias); ++k) {
    auto kind = static_cast<OpKind>(k);
    CHECK(opKindFromName(opKindName(kind)) == kind);
  }
}

TEST_CASE("element-wise ops broadcast like numpy", "[ir][infer]") {
  CHECK(inferShape(OpKind::Add, {f32({1, 8, 32}), f32({32})}) ==
        "public<1x8x32, f32>");
  CHECK(inferShape(OpKind::Mul, {f32({4, 1, 3}), f32({2, 1})}) ==
        "public<4x2x3, f32>");
  CHECK(inferShape(OpKind::Sub, {i64({3}), i64({})}) == "public<3, i64>");
  CHECK(inferShape(OpKind::Pow, {f32({2, 2}), f32({})}) == "public<2x2, f32>");
  CHECK(inferShape(OpKind::Div, {f32({1}), f32({5})}) == "public<5, f32>");
  for (OpKind k : {OpKind::Neg, OpKind::Sqrt, OpKind::Erf, OpKind::Tanh,
                   OpKind::Exp, OpKind::Relu, OpKind::Gelu, OpKind::Softmax})
    CHECK(inferShape(k, {f32({2, 3})}) == "public<2x3, f32>");
  CHECK(inferShape(OpKind::Equal, {i64({1, 8}), i64({1})}) ==
        "public<1x8, bool>");
  CHECK(inferShape(OpKind::Where, {TensorType({1, 1, 8}, ElemType::Bool),
                                   f32({4, 1, 1}), f32({})}) ==
        "public<4x1x8, f32>");
  CHECK(inferShape(OpKind::Cast, {i64({2})}, {{"to", std::string("f32")}}) ==
        "public<2, f32>");
  CHECK(inferShape(OpKind::Cast, {f32({2})}, {{"to", std::string("bool")}}) ==
        "public<2, bool>");
  CHECK(inferShape(OpKind::MaskBias, {i64({1, 8})}, {{"value", -10000.0}}) ==
        "public<1x8, f32>");

  CHECK(inferError(OpKind::Add, {f32({2, 3}), f32({3, 2})}) ==
        "add: shapes do not broadcast: 2x3 vs 3x2");
  CHECK(inferError(OpKind::Add, {f32({2}), i64({2})}) ==
        "add: element types differ: f32 vs i64");
  CHECK(inferError(OpKind::Exp, {i64({2})}) ==
        "exp: input must be f32 or fixed point, got i64");
  CHECK(inferError(OpKind::Where, {f32({2}), f32({2}), f32({2})}) ==
        "where: condition must be bool, got f32");
  CHECK(inferError(OpKind::Cast, {f32({2})}, {{"to", std::string("f16")}}) ==
        "cast: cannot cast to \"f16\" (expected \"f32\", \"i64\" or "
        "\"bool\")");
  CHECK(inferError(OpKind::Add, {f32({2})}) ==
        "add: expects 2 operands, got 1");
  CHECK(inferError(OpKind::Gelu, {f32({2})}, {{"form", std::string("x")}}) ==
        "gelu: unknown form \"x\" (expected \"erf\", \"tanh\" or \"quad\")");
  CHECK(inferError(OpKind::Gelu, {f32({2})}, {{"bogus", int64_t(1)}}) ==
        "gelu: unknown attribute 'bogus'");
  CHECK(inferError(OpKind::MaskBias, {f32({2})}) ==
        "mask_bias: missing attribute 'value'");
  CHECK(inferError(OpKind::Softmax, {f32({2, 3})}, {{"axis", int64_t(2)}}) ==
        "softmax: axis 2 out of range for rank 2");
}

TEST_CASE("matmul follows numpy semantics", "[ir][infer]") {
  CHECK(inferShape(OpKind::MatMul, {f32({1, 8, 32}), f32({32, 16})}) ==
        "public<1x8x16, f32>");
  CHECK(inferShape(OpKind::MatMul, {f32({2, 1, 4, 8}), f32({3, 8, 5})}) ==
        "public<2x3x4x5, f32>");
  CHECK(inferShape(OpKind::MatMul, {f32({8}), f32({8, 3})}) ==
        "public<3, f32>");
  CHECK(inferShape(OpKind::MatMul, {f32({2, 4, 8}), f32({8})}) ==
        "public<2x4, f32>");
  CHECK(inferShape(OpKind::MatMul, {f32({8}), f32({8})}) == "public<f32>");
  CHECK(inferError(OpKind::MatMul, {f32({1, 8, 32}), f32({16, 32})}) ==
        "matmul: inner dimensions differ: 1x8x32 vs 16x32");
  CHECK(inferError(OpKind::MatMul, {f32({2, 4, 8}), f32({3, 8, 5})}) ==
        "matmul: batch dimensions do not broadcast: 2x4x8 vs 3x8x5");
  CHECK(inferError(OpKind::MatMul, {f32({}), f32({3})}) ==
        "matmul: operands must have rank >= 1, got scalar and 3");

  CHECK(inferShape(OpKind::Linear, {f32({1, 8, 32}), f32({32, 64}),
                                    f32({64})}) == "public<1x8x64, f32>");
  CHECK(inferShape(OpKind::Linear, {f32({4, 32}), f32({32, 2})}) ==
        "public<4x2, f32>");
  CHECK(inferError(OpKind::Linear, {f32({4, 32}), f32({16, 2})}) ==
        "linear: inner dimensions differ: 4x32 vs 16x2");
  CHECK(inferError(OpKind::Linear, {f32({4, 32}), f32({32, 2}), f32({3})}) ==
        "linear: bias must be [2], got 3");
  CHECK(inferError(OpKind::Linear, {f32({4, 32}), f32({32})}) ==
        "linear: weight must be [K, N], got 32");
}

TEST_CASE("data movement ops resolve their attributes", "[ir][infer]") {
  // Reshape: -1 inferred, 0 copies the input dimension.
  CHECK(inferShape(OpKind::Reshape, {f32({1, 8, 32})},
                   {{"shape", Ints{0, 0, 4, -1}}}) == "public<1x8x4x8, f32>");
  CHECK(inferShape(OpKind::Reshape, {f32({2, 3})}, {{"shape", Ints{-1}}}) ==
        "public<6, f32>");
  CHECK(inferError(OpKind::Reshape, {f32({2, 3})}, {{"shape", Ints{-1, -1}}}) ==
        "reshape: shape -1,-1 has more than one -1");
  CHECK(inferError(OpKind::Reshape, {f32({2, 3})}, {{"shape", Ints{4}}}) ==
        "reshape: cannot reshape 2x3 (6 elements) to 4 (4 elements)");
  CHECK(inferError(OpKind::Reshape, {f32({2, 3})}, {{"shape", Ints{4, -1}}}) ==
        "reshape: cannot reshape 2x3 (6 elements) to 4,-1");

  CHECK(inferShape(OpKind::Transpose, {f32({1, 8, 4, 16})},
                   {{"perm", Ints{0, 2, 1, 3}}}) == "public<1x4x8x16, f32>");
  CHECK(inferError(OpKind::Transpose, {f32({2, 3})}, {{"perm", Ints{0, 0}}}) ==
        "transpose: perm [0, 0] is not a permutation of 0..1");
  CHECK(inferError(OpKind::Transpose, {f32({2, 3})}) ==
        "transpose: missing attribute 'perm'");

  // Slice: clamping, negative indices and steps.
  CHECK(
      inferShape(OpKind::Slice, {f32({1, 512})},
                 {{"starts", Ints{0}}, {"ends", Ints{8}}, {"axes", Ints{1}}}) ==
      "public<1x8, f32>");
  CHECK(inferShape(OpKind::Slice, {f32({10})},
                   {{"starts", Ints{-1}},
                    {"ends", Ints{INT64_MIN}},
                    {"steps", Ints{-1}}}) == "public<10, f32>");
  CHECK(inferShape(OpKind::Slice, {f32({10, 4})},
                   {{"starts", Ints{1, 0}},
                    {"ends", Ints{INT64_MAX, 100}},
                    {"steps", Ints{3, 1}}}) == "public<3x4, f32>");
  CHECK(inferShape(OpKind::Slice, {f32({5})},
                   {{"starts", Ints{4}}, {"ends", Ints{2}}}) ==
        "public<0, f32>");
  CHECK(inferError(
            OpKind::Slice, {f32({5})},
            {{"starts", Ints{0}}, {"ends", Ints{2}}, {"steps", Ints{0}}}) ==
        "slice: slice step must not be 0 (axis 0)");
  CHECK(
      inferError(OpKind::Slice, {f32({5})},
                 {{"starts", Ints{0}}, {"ends", Ints{2}}, {"axes", Ints{1}}}) ==
      "slice: slice axis 1 out of range for rank 1");

  CHECK(inferShape(OpKind::Concat, {f32({1, 2}), f32({1, 3}), f32({1, 1})},
                   {{"axis", int64_t(-1)}}) == "public<1x6, f32>");
  CHECK(inferError(OpKind::Concat, {f32({1, 2}), f32({2, 3})},
                   {{"axis", int64_t(1)}}) ==
        "concat: operand 1 has shape 2x3, which does not fit 1x2 along axis "
        "1");

  // Gather: data.shape[:axis] + indices.shape + data.shape[axis+1:].
  CHECK(inferShape(OpKind::Gather, {f32({5, 6, 7}), i64({2, 3})},
                   {{"axis", int64_t(1)}}) == "public<5x2x3x7, f32>");
  CHECK(inferShape(OpKind::Gather, {i64({3}), i64({})}) == "public<i64>");
  CHECK(inferError(OpKind::Gather, {f32({5}), f32({2})}) ==
        "gather: indices must be i64, got f32");

  CHECK(inferShape(OpKind::ReduceMean, {f32({1, 8, 32})},
                   {{"axes", Ints{-1}}}) == "public<1x8x1, f32>");
  CHECK(inferShape(OpKind::ReduceSum, {f32({1, 8, 32})},
                   {{"axes", Ints{0, 2}}, {"keepdims", int64_t(0)}}) ==
        "public<8, f32>");
  CHECK(inferShape(OpKind::ReduceMax, {f32({2, 3})},
                   {{"keepdims", int64_t(0)}}) == "public<f32>");
  CHECK(inferError(OpKind::ReduceSum, {f32({2, 3})}, {{"axes", Ints{1, -1}}}) ==
        "reduce_sum: reduce axis -1 given twice");
}

TEST_CASE("transformer ops infer their shapes", "[ir][infer]") {
  CHECK(inferShape(OpKind::Embedding, {f32({256, 32}, Vis::Private, 0),
                                       i64({1, 8}, Vis::Private, 1)}) ==
        "shared<1x8x32, f32>");
  CHECK(inferError(OpKind::Embedding, {f32({256}), i64({1, 8})}) ==
        "embedding: table must be [V, D], got 256");
  CHECK(inferShape(OpKind::LayerNorm, {f32({1, 8, 32}), f32({32}), f32({32})},
                   {{"eps", 1e-12}}) == "public<1x8x32, f32>");
  CHECK(inferShape(OpKind::LayerNorm, {f32({2, 3, 4}), f32({3, 4}), f32({4})},
                   {{"axis", int64_t(1)}}) == "public<2x3x4, f32>");
  CHECK(
      inferError(OpKind::LayerNorm, {f32({1, 8, 32}), f32({16}), f32({32})}) ==
      "layernorm: scale has shape 16, which does not broadcast to the "
      "normalised shape 32");
  CHECK(inferError(OpKind::LayerNorm, {f32({1, 8, 32}), f32({32}), f32({32})},
                   {{"eps", std::string("small")}}) ==
        "layernorm: attribute 'eps' must be a float");
}

TEST_CASE("result visibility is the common visibility", "[ir][infer]") {
  auto vis = [](std::vector<TensorType> ts) {
    return ok(infer(OpKind::Concat, std::move(ts), {{"axis", int64_t(0)}}))
        .str();
  };
  CHECK(vis({f32({1}), f32({1})}) == "public<2, f32>");
  CHECK(vis({f32({1}), f32({1}, Vis::Private, 1)}) == "private1<2, f32>");
  CHECK(vis({f32({1}, Vis::Private, 0), f32({1}, Vis::Private, 0)}) ==
        "private0<2, f32>");
  CHECK(vis({f32({1}, Vis::Private, 0), f32({1}, Vis::Private, 1)}) ==
        "shared<2, f32>");
  CHECK(vis({f32({1}), f32({1}, Vis::Shared), f32({1})}) == "shared<3, f32>");
}

TEST_CASE("Builder creates ops at its insertion point with its location",
          "[ir][builder]") {
  Graph g;
  Builder b(g);
  Value *x = g.addInput("x", f32({2, 4}, Vis::Private, 1));
  Location loc{"/layer/Gelu", "Gelu", 17, ""};
  b.setLoc(loc);
  Op *gelu = ok(b.create(OpKind::Gelu, {x}, {{"form", std::string("tanh")}}));
  CHECK(gelu->result()->type().str() == "private1<2x4, f32>");
  CHECK(gelu->loc().onnxNode == "/layer/Gelu");
  CHECK(gelu->getString("form") == "tanh");
  Value *w = b.constF32({4, 3}, std::vector<double>(12, 0.5), "w");
  b.setInsertionPointBefore(gelu);
  Op *mm = ok(b.create(OpKind::MatMul, {x, w}));
  CHECK(g.ops().front().get() == mm);
  b.setInsertionPointAfter(mm);
  Op *neg = ok(b.create(OpKind::Neg, {mm->result()}));
  CHECK(std::next(g.ops().begin())->get() == neg);

  Value *ids = b.constI64({2}, {1, 2});
  CHECK(ids->name() == "cst");
  CHECK(b.constI64({1}, {3})->name() == "cst.1");
  auto err = b.create(OpKind::MatMul, {x, ids});
  std::string msg = errorOf(std::move(err));
  CHECK(msg == "[onnx node '/layer/Gelu' (Gelu, opset 17)] matmul: element "
               "types differ: f32 vs i64");
  // createWithTypes does not infer.
  Op *raw = b.createWithTypes(OpKind::Add, {x, x}, {f32({9})});
  CHECK(raw->result()->type().str() == "public<9, f32>");
  CHECK(countOps(g, OpKind::Add) == 1);
  CHECK(countOps(g, OpKind::Softmax) == 0);
}

TEST_CASE("Graph keeps use lists right", "[ir][graph]") {
  Graph g;
  Builder b(g);
  Value *x = g.addInput("x", f32({4}));
  Value *y = g.addInput("y", f32({4}));
  Op *add = ok(b.create(OpKind::Add, {x, x}));
  CHECK(x->users().size() == 2);
  add->setOperand(1, y);
  CHECK(x->users().size() == 1);
  CHECK(y->users().size() == 1);
  Op *neg = ok(b.create(OpKind::Neg, {add->result()}));
  Op *exp = ok(b.create(OpKind::Exp, {add->result()}));
  g.setOutputs({add->result(), exp->result()});

  // RAUW moves operand uses and graph outputs.
  g.replaceAllUsesWith(add->result(), y);
  CHECK(!add->result()->hasUses());
  CHECK(neg->operand(0) == y);
  CHECK(exp->operand(0) == y);
  CHECK(g.outputs()[0] == y);
  CHECK(y->users().size() == 3);

  g.eraseOp(add);
  CHECK(x->users().empty());
  CHECK(y->users().size() == 2);
  CHECK(g.ops().size() == 2);
  CHECK(g.iteratorOf(exp)->get() == exp);

  Value *c1 = b.constF32({1}, {1.0}, "c");
  Value *c2 = b.constF32({1}, {2.0}, "c");
  CHECK(c2->name() == "c.1");
  ok(b.create(OpKind::Add, {neg->result(), c2}));
  CHECK(g.findConstant("c") == c1);
  g.removeDeadConstants();
  CHECK(g.constants().size() == 1);
  CHECK(g.constants()[0] == c2);
  CHECK(!g.findConstant("c"));
  CHECK(g.findInput("y") == y);
  CHECK(!g.findInput("z"));

  CHECK(g.uniqueName("x") == "x.1");
  CHECK(g.uniqueName("x") == "x.2");
  CHECK(g.uniqueName("fresh") == "fresh");
}

TEST_CASE("attribute getters", "[ir][graph]") {
  Graph g;
  Builder b(g);
  Value *x = g.addInput("x", f32({4}));
  Op *op = b.createWithTypes(OpKind::Softmax, {x}, {x->type()},
                             {{"axis", int64_t(-1)},
                              {"c", int64_t(5)},
                              {"form", std::string("2quad")},
                              {"ints", Ints{1, 2}},
                              {"floats", std::vector<double>{0.5}},
                              {"empty", Ints{}}});
  CHECK(op->getInt("axis") == -1);
  CHECK(op->getInt("form", 7) == 7);
  CHECK(op->getFloat("c") == 5.0); // Integers widen.
  CHECK(op->getFloat("missing", 2.5) == 2.5);
  CHECK(op->getString("form") == "2quad");
  CHECK(op->getString("axis", "d") == "d");
  CHECK(op->getInts("ints") == Ints{1, 2});
  CHECK(op->getFloats("floats") == std::vector<double>{0.5});
  CHECK(op->getFloats("empty").empty());
  CHECK(op->hasAttr("c"));
  op->removeAttr("c");
  CHECK(!op->hasAttr("c"));
  std::vector<std::string> problems = checkAttrs(op->kind(), op->attrs());
  CHECK(problems == std::vector<std::string>{"unknown attribute 'empty'",
                                             "unknown attribute 'floats'",
                                             "unknown attribute 'ints'"});
}
