//===- tests/unit/ir/InterpreterTest.cpp - The float reference semantics --===//
//
// Small graphs evaluated by interpretGraph / evaluateOp against values
// computed by hand (or with numpy, noted where used): GeLU and softmax
// forms, LayerNorm, numpy matmul broadcasting, Gather, Slice with negative
// steps, Reshape with -1/0, integer arithmetic, and input/op errors.
//
//===----------------------------------------------------------------------===//

#include "IRTestUtil.h"

#include "ir/Builder.h"
#include "ir/IR.h"

#include <cmath>
#include <limits>

using namespace mpc;
using namespace mpc::test;

namespace {
using Ints = std::vector<int64_t>;
using Doubles = std::vector<double>;

/// A graph with one f32 input "x" of \p shape and one op of \p kind on it
/// (plus \p extra operands), evaluated on \p x.
struct OneOp {
  Graph g;
  Builder b{g};
  Value *x;
  explicit OneOp(Ints shape, ElemType e = ElemType::F32)
      : x(g.addInput("x", TensorType(shape, e, Vis::Private, 1))) {}

  llvm::Expected<HostTensor> run(OpKind kind, HostTensor in,
                                 std::vector<Value *> extra = {},
                                 std::map<std::string, Attr> attrs = {}) {
    std::vector<Value *> ops = {x};
    ops.insert(ops.end(), extra.begin(), extra.end());
    auto op = b.create(kind, ops, std::move(attrs));
    if (!op)
      return op.takeError();
    g.setOutputs({(*op)->result()});
    auto outs = interpretGraph(g, {{"x", std::move(in)}});
    if (!outs)
      return outs.takeError();
    return std::move((*outs)[0]);
  }
};

void checkClose(const Doubles &got, const Doubles &want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    INFO("element " << k);
    CHECK(got[k] == Approx(want[k]).margin(tol).epsilon(tol));
  }
}

HostTensor floats(Ints shape, Doubles v) {
  return HostTensor::floats(std::move(shape), std::move(v));
}
} // namespace

TEST_CASE("gelu forms", "[ir][interp]") {
  HostTensor in = floats({4}, {1.0, -1.0, 0.0, -2.0});
  {
    OneOp t({4});
    auto r = ok(t.run(OpKind::Gelu, in, {}, {{"form", std::string("erf")}}));
    // 0.5 x (1 + erf(x / sqrt 2)), values from scipy.
    checkClose(r.f, {0.8413447460685429, -0.15865525393145707, 0.0,
                     -0.04550026389635842});
  }
  {
    OneOp t({4});
    auto r = ok(t.run(OpKind::Gelu, in, {}, {{"form", std::string("tanh")}}));
    checkClose(r.f, {0.8411919906082768, -0.15880800939172324, 0.0,
                     -0.04540230591222494});
  }
  {
    OneOp t({4});
    auto r = ok(t.run(OpKind::Gelu, in, {}, {{"form", std::string("quad")}}));
    // 0.125 x^2 + 0.25 x + 0.5.
    checkClose(r.f, {0.875, 0.375, 0.5, 0.5});
  }
}

TEST_CASE("softmax forms and axes", "[ir][interp]") {
  {
    OneOp t({1, 3});
    auto r = ok(t.run(OpKind::Softmax, floats({1, 3}, {1, 2, 3})));
    checkClose(r.f,
               {0.09003057317038046, 0.24472847105479764, 0.6652409557748219});
  }
  {
    // Max subtraction keeps large inputs finite.
    OneOp t({2});
    auto r = ok(t.run(OpKind::Softmax, floats({2}, {1000, 1000})));
    checkClose(r.f, {0.5, 0.5});
  }
  {
    OneOp t({2, 2});
    auto r = ok(t.run(OpKind::Softmax, floats({2, 2}, {1, 2, 3, 4}), {},
                      {{"axis", int64_t(0)}}));
    checkClose(r.f, {0.11920292202211755, 0.11920292202211755,
                     0.8807970779778823, 0.8807970779778823});
  }
  {
    // (x + 5)^2 / sum (x + 5)^2 with the default c.
    OneOp t({1, 3});
    auto r = ok(t.run(OpKind::Softmax, floats({1, 3}, {1, 2, 3}), {},
                      {{"form", std::string("2quad")}}));
    checkClose(r.f, {36.0 / 149, 49.0 / 149, 64.0 / 149});
  }
  {
    OneOp t({3});
    auto r = ok(t.run(OpKind::Softmax, floats({3}, {1, 2, 3}), {},
                      {{"form", std::string("2quad")}, {"c", 1.0}}));
    checkClose(r.f, {4.0 / 29, 9.0 / 29, 16.0 / 29});
  }
}

TEST_CASE("layernorm over the trailing axis", "[ir][interp]") {
  OneOp t({2, 4});
  Value *gamma = t.b.constF32({4}, {1, 2, 1, 1}, "gamma");
  Value *beta = t.b.constF32({4}, {0, 0, 0, 1}, "beta");
  auto r = ok(t.run(OpKind::LayerNorm, floats({2, 4}, {1, 2, 3, 4, 5, 5, 5, 5}),
                    {gamma, beta}, {{"eps", 0.0}}));
  // Row 1: mean 2.5, variance 1.25; row 2 is constant, eps 0 gives 0/0.
  double s = std::sqrt(1.25);
  Doubles want = {-1.5 / s, -0.5 / s * 2, 0.5 / s, 1.5 / s + 1};
  checkClose(Doubles(r.f.begin(), r.f.begin() + 4), want);
  CHECK(std::isnan(r.f[4]));

  OneOp t2({1, 2});
  Value *g2 = t2.b.constF32({2}, {1, 1}, "g");
  Value *b2 = t2.b.constF32({2}, {0, 0}, "b");
  auto r2 = ok(t2.run(OpKind::LayerNorm, floats({1, 2}, {0, 2}), {g2, b2},
                      {{"eps", 1.0}}));
  // mean 1, var 1: (x - 1) / sqrt(2).
  checkClose(r2.f, {-1 / std::sqrt(2.0), 1 / std::sqrt(2.0)});
}

TEST_CASE("matmul broadcasting and 1-D cases", "[ir][interp]") {
  {
    OneOp t({2, 2, 3});
    Value *w = t.b.constF32({3, 2}, {1, 0, 0, 1, 1, 1}, "w");
    auto r = ok(t.run(OpKind::MatMul,
                      floats({2, 2, 3}, {1, 2, 3, 4, 5, 6, -1, 0, 1, 2, 2, 2}),
                      {w}));
    CHECK(r.shape == Ints{2, 2, 2});
    checkClose(r.f, {4, 5, 10, 11, 0, 1, 4, 4});
  }
  {
    OneOp t({2, 1, 1, 2});
    Value *w = t.b.constF32({1, 3, 2, 1}, {5, 6, 7, 8, 9, 10}, "w");
    auto r = ok(t.run(OpKind::MatMul, floats({2, 1, 1, 2}, {1, 2, 3, 4}), {w}));
    CHECK(r.shape == Ints{2, 3, 1, 1});
    checkClose(r.f, {17, 23, 29, 39, 53, 67});
  }
  {
    OneOp t({3});
    Value *w = t.b.constF32({3, 2}, {1, 0, 0, 1, 1, 1}, "w");
    auto r = ok(t.run(OpKind::MatMul, floats({3}, {1, 2, 3}), {w}));
    CHECK(r.shape == Ints{2});
    checkClose(r.f, {4, 5});
  }
  {
    OneOp t({2, 3});
    Value *v = t.b.constF32({3}, {1, -1, 2}, "v");
    auto r = ok(t.run(OpKind::MatMul, floats({2, 3}, {1, 2, 3, 4, 5, 6}), {v}));
    CHECK(r.shape == Ints{2});
    checkClose(r.f, {5, 11});
  }
  {
    OneOp t({1, 2, 2});
    Value *w = t.b.constF32({2, 3}, {1, 2, 3, 4, 5, 6}, "w");
    Value *bias = t.b.constF32({3}, {0.5, 0, -1}, "b");
    auto r =
        ok(t.run(OpKind::Linear, floats({1, 2, 2}, {1, 0, 1, 1}), {w, bias}));
    CHECK(r.shape == Ints{1, 2, 3});
    checkClose(r.f, {1.5, 2, 2, 5.5, 7, 8});
  }
}

TEST_CASE("gather and embedding", "[ir][interp]") {
  HostTensor data = floats({3, 2}, {1, 2, 3, 4, 5, 6});
  {
    OneOp t({3, 2});
    Value *idx = t.b.constI64({1, 2}, {0, -1}, "idx");
    auto r = ok(t.run(OpKind::Gather, data, {idx}));
    CHECK(r.shape == Ints{1, 2, 2});
    checkClose(r.f, {1, 2, 5, 6});
  }
  {
    OneOp t({3, 2});
    Value *idx = t.b.constI64({}, {1}, "idx");
    auto r = ok(t.run(OpKind::Gather, data, {idx}, {{"axis", int64_t(1)}}));
    CHECK(r.shape == Ints{3});
    checkClose(r.f, {2, 4, 6});
  }
  {
    OneOp t({3, 2});
    Value *idx = t.b.constI64({1}, {3}, "idx");
    CHECK(errorOf(t.run(OpKind::Gather, data, {idx})) ==
          "%0 = gather: index 3 out of range [-3, 3)");
  }
  {
    // Integer data stays integer.
    OneOp t({4}, ElemType::I64);
    Value *idx = t.b.constI64({2}, {-2, 0}, "idx");
    auto r = ok(
        t.run(OpKind::Gather, HostTensor::ints({4}, {10, 11, 12, 13}), {idx}));
    CHECK(r.type == HostType::I64);
    CHECK(r.i == Ints{12, 10});
  }
  {
    Graph g;
    Builder b(g);
    Value *ids =
        g.addInput("ids", TensorType({1, 3}, ElemType::I64, Vis::Private, 1));
    Value *table = b.constF32({3, 2}, {1, 2, 3, 4, 5, 6}, "table");
    b.setLoc({"/emb/Gather", "Gather", 17, ""});
    g.setOutputs({ok(b.create(OpKind::Embedding, {table, ids}))->result()});
    auto r =
        ok(interpretGraph(g, {{"ids", HostTensor::ints({1, 3}, {2, 0, 2})}}));
    CHECK(r[0].shape == Ints{1, 3, 2});
    checkClose(r[0].f, {5, 6, 1, 2, 5, 6});
    CHECK(errorOf(interpretGraph(
              g, {{"ids", HostTensor::ints({1, 3}, {0, 7, 1})}})) ==
          "[onnx node '/emb/Gather' (Gather, opset 17)] %0 = embedding: id 7 "
          "out of range [0, 3)");
  }
}

TEST_CASE("slice, reshape, transpose, concat", "[ir][interp]") {
  HostTensor ten = floats({10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  {
    OneOp t({10});
    auto r = ok(t.run(OpKind::Slice, ten, {},
                      {{"starts", Ints{-1}},
                       {"ends", Ints{std::numeric_limits<int64_t>::min()}},
                       {"steps", Ints{-3}}}));
    checkClose(r.f, {9, 6, 3, 0});
  }
  {
    OneOp t({10});
    auto r = ok(
        t.run(OpKind::Slice, ten, {},
              {{"starts", Ints{7}}, {"ends", Ints{2}}, {"steps", Ints{-2}}}));
    checkClose(r.f, {7, 5, 3});
  }
  HostTensor m = floats({2, 3}, {1, 2, 3, 4, 5, 6});
  {
    OneOp t({2, 3});
    auto r = ok(t.run(OpKind::Slice, m, {},
                      {{"starts", Ints{1, -2}},
                       {"ends", Ints{100, 3}},
                       {"axes", Ints{-1, 0}}}));
    CHECK(r.shape == Ints{2, 2});
    checkClose(r.f, {2, 3, 5, 6});
  }
  {
    OneOp t({2, 3});
    auto r = ok(t.run(OpKind::Reshape, m, {}, {{"shape", Ints{0, -1, 1}}}));
    CHECK(r.shape == Ints{2, 3, 1});
    checkClose(r.f, m.f);
  }
  {
    OneOp t({2, 3});
    auto r = ok(t.run(OpKind::Reshape, m, {}, {{"shape", Ints{-1}}}));
    CHECK(r.shape == Ints{6});
  }
  {
    OneOp t({2, 3});
    auto r = ok(t.run(OpKind::Transpose, m, {}, {{"perm", Ints{1, 0}}}));
    CHECK(r.shape == Ints{3, 2});
    checkClose(r.f, {1, 4, 2, 5, 3, 6});
  }
  {
    OneOp t({2, 3});
    Value *c = t.b.constF32({2, 1}, {-1, -2}, "c");
    auto r = ok(t.run(OpKind::Concat, m, {c}, {{"axis", int64_t(1)}}));
    CHECK(r.shape == Ints{2, 4});
    checkClose(r.f, {1, 2, 3, -1, 4, 5, 6, -2});
  }
}

TEST_CASE("reductions", "[ir][interp]") {
  HostTensor m = floats({2, 3}, {1, 5, 3, 4, 2, 6});
  OneOp a({2, 3});
  checkClose(ok(a.run(OpKind::ReduceSum, m, {}, {{"axes", Ints{1}}})).f,
             {9, 12});
  OneOp b({2, 3});
  auto mean = ok(b.run(OpKind::ReduceMean, m, {}, {{"axes", Ints{0}}}));
  CHECK(mean.shape == Ints{1, 3});
  checkClose(mean.f, {2.5, 3.5, 4.5});
  OneOp c({2, 3});
  auto mx = ok(c.run(OpKind::ReduceMax, m, {}, {{"keepdims", int64_t(0)}}));
  CHECK(mx.shape.empty());
  checkClose(mx.f, {6});
}

TEST_CASE("element-wise, integer and boolean ops", "[ir][interp]") {
  HostTensor v = floats({3}, {-1.5, 0, 2});
  Doubles out;
  auto unary = [&](OpKind k) {
    OneOp t({3});
    return ok(t.run(k, v)).f;
  };
  checkClose(unary(OpKind::Neg), {1.5, 0, -2});
  checkClose(unary(OpKind::Relu), {0, 0, 2});
  checkClose(unary(OpKind::Exp), {std::exp(-1.5), 1, std::exp(2.0)});
  checkClose(unary(OpKind::Tanh), {std::tanh(-1.5), 0, std::tanh(2.0)});
  checkClose(unary(OpKind::Erf), {std::erf(-1.5), 0, std::erf(2.0)});
  {
    OneOp t({2});
    Value *two = t.b.constF32({}, {2}, "two");
    checkClose(ok(t.run(OpKind::Pow, floats({2}, {3, 4}), {two})).f, {9, 16});
  }
  {
    OneOp t({2, 1});
    Value *c = t.b.constF32({3}, {1, 2, 4}, "c");
    auto r = ok(t.run(OpKind::Div, floats({2, 1}, {1, 2}), {c}));
    CHECK(r.shape == Ints{2, 3});
    checkClose(r.f, {1, 0.5, 0.25, 2, 1, 0.5});
  }
  {
    OneOp t({3}, ElemType::I64);
    Value *c = t.b.constI64({}, {2}, "c");
    auto r = ok(t.run(OpKind::Div, HostTensor::ints({3}, {-7, 7, 1}), {c}));
    CHECK(r.type == HostType::I64);
    CHECK(r.i == Ints{-3, 3, 0});
    OneOp z({1}, ElemType::I64);
    Value *zero = z.b.constI64({}, {0}, "zero");
    CHECK(errorOf(z.run(OpKind::Div, HostTensor::ints({1}, {1}), {zero})) ==
          "%0 = div: integer division by zero");
  }
  {
    // mask -> (1 - mask) * value, then Equal / Cast / Where.
    OneOp t({1, 3}, ElemType::I64);
    auto r = ok(t.run(OpKind::MaskBias, HostTensor::ints({1, 3}, {1, 1, 0}), {},
                      {{"value", -10000.0}}));
    CHECK(r.type == HostType::F32);
    checkClose(r.f, {0, 0, -10000});
  }
  {
    Graph g;
    Builder b(g);
    Value *x = g.addInput("x", TensorType({3}, ElemType::F32));
    Value *one = b.constF32({}, {1.0}, "one");
    Value *eq = ok(b.create(OpKind::Equal, {x, one}))->result();
    Value *n = ok(b.create(OpKind::Cast, {eq}, {{"to", std::string("i64")}}))
                   ->result();
    Value *w = ok(b.create(OpKind::Where, {eq, x, one}))->result();
    Value *back =
        ok(b.create(OpKind::Cast, {x}, {{"to", std::string("i64")}}))->result();
    g.setOutputs({eq, n, w, back});
    auto r = ok(interpretGraph(g, {{"x", floats({3}, {1, -2.7, 2.9})}}));
    CHECK(r[0].type == HostType::Bool);
    CHECK(r[0].i == Ints{1, 0, 0});
    CHECK(r[1].type == HostType::I64);
    CHECK(r[1].i == Ints{1, 0, 0});
    checkClose(r[2].f, {1, 1, 1});
    CHECK(r[3].i == Ints{1, -2, 2}); // Truncation toward zero.
  }
  {
    // Integers keep all 64 bits through casts and integer arithmetic.
    const int64_t big = std::numeric_limits<int64_t>::max();
    OneOp t({2}, ElemType::I64);
    auto r = ok(t.run(OpKind::Cast, HostTensor::ints({2}, {big, -big}), {},
                      {{"to", std::string("i64")}}));
    CHECK(r.i == Ints{big, -big});
    OneOp s({1}, ElemType::I64);
    Value *one = s.b.constI64({1}, {1}, "one");
    CHECK(ok(s.run(OpKind::Sub, HostTensor::ints({1}, {big}), {one})).i ==
          Ints{big - 1});
    // An integer base with a float exponent.
    OneOp p({2}, ElemType::I64);
    Value *half = p.b.constF32({}, {0.5}, "half");
    CHECK(ok(p.run(OpKind::Pow, HostTensor::ints({2}, {16, 9}), {half})).i ==
          Ints{4, 3});
  }
}

TEST_CASE("interpreter checks its inputs", "[ir][interp]") {
  Graph g;
  Builder b(g);
  Value *ids = g.addInput("ids", TensorType({1, 4}, ElemType::I64));
  Value *x = g.addInput("x", TensorType({2}, ElemType::F32));
  g.setOutputs({ok(b.create(OpKind::Neg, {x}))->result(), ids});
  HostTensor goodIds = HostTensor::ints({1, 4}, {1, 2, 3, 4});
  HostTensor goodX = floats({2}, {1, 2});
  auto r = ok(interpretGraph(g, {{"ids", goodIds}, {"x", goodX}}));
  CHECK(r[1].i == goodIds.i);
  checkClose(r[0].f, {-1, -2});

  CHECK(errorOf(interpretGraph(g, {{"x", goodX}})) ==
        "missing input 'ids' (public<1x4, i64>)");
  CHECK(errorOf(interpretGraph(
            g, {{"ids", HostTensor::ints({1, 5}, {1, 2, 3, 4, 5})},
                {"x", goodX}})) ==
        "input 'ids': shape 1x5 does not match the graph's 1x4");
  CHECK(errorOf(interpretGraph(
            g, {{"ids", floats({1, 4}, {1, 2, 3, 4})}, {"x", goodX}})) ==
        "input 'ids': the graph expects i64 data, got float32");
  CHECK(errorOf(interpretGraph(
            g, {{"ids", goodIds}, {"x", goodX}, {"y", goodX}})) ==
        "unknown input 'y' (the graph's inputs are: ids, x)");

  // Elided constant data cannot be interpreted.
  Graph e;
  ConstData elided;
  elided.elided = true;
  Value *c = e.addConstant("w", TensorType({2}, ElemType::F32), elided);
  e.setOutputs({c});
  CHECK(errorOf(interpretGraph(e, {})) ==
        "constant 'w' has no data (elided in the text form)");
}

TEST_CASE("evaluateOp checks operands against the op", "[ir][interp]") {
  Graph g;
  Builder b(g);
  Value *x = g.addInput("x", TensorType({2}, ElemType::F32));
  b.setLoc({"n", "Relu", 0, ""});
  Op *op = ok(b.create(OpKind::Relu, {x}));
  HostTensor good = floats({2}, {-1, 1});
  auto r = ok(evaluateOp(*op, {&good}));
  checkClose(r[0].f, {0, 1});
  HostTensor wrongShape = floats({3}, {1, 2, 3});
  CHECK(errorOf(evaluateOp(*op, {&wrongShape})) ==
        "[onnx node 'n' (Relu)] relu: operand 0 is 3 but its type is "
        "public<2, f32>");
  HostTensor ints = HostTensor::ints({2}, {1, 2});
  CHECK(errorOf(evaluateOp(*op, {&ints})) ==
        "[onnx node 'n' (Relu)] relu: operand 0 holds int64 data but its type "
        "is public<2, f32>");
  CHECK(errorOf(evaluateOp(*op, {})) ==
        "[onnx node 'n' (Relu)] relu: given 0 operand tensors, the op has 1 "
        "operands");
  // A result type that disagrees with the operands is caught, not indexed.
  Op *bad =
      b.createWithTypes(OpKind::Neg, {x}, {TensorType({5}, ElemType::F32)});
  CHECK(errorOf(evaluateOp(*bad, {&good})) ==
        "[onnx node 'n' (Relu)] neg: result 0 has type public<5, f32> but its "
        "operands give public<2, f32>");
}
