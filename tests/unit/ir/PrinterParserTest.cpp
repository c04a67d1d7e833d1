//===- tests/unit/ir/PrinterParserTest.cpp - The text form round trip -----===//
//
// A golden print of a small graph, print(parse(s)) == s over graphs that
// use every op kind and every attribute kind, structural equality after a
// round trip (constants, locations, names), and parse errors with
// line:column positions.
//
//===----------------------------------------------------------------------===//

#include "IRTestUtil.h"

#include "ir/Builder.h"
#include "ir/IR.h"
#include "ir/ValueNames.h"

#include <limits>

using namespace mpc;
using namespace mpc::test;

namespace {
using Ints = std::vector<int64_t>;

TensorType f32(std::vector<int64_t> s, Vis v = Vis::Public, int owner = -1) {
  return TensorType(s, ElemType::F32, v, owner);
}

Value *add(Builder &b, OpKind k, std::vector<Value *> ops,
           std::map<std::string, Attr> attrs = {}) {
  return ok(b.create(k, ops, std::move(attrs)))->result();
}

/// A BERT-like graph that uses every op kind in Ops.def.
std::unique_ptr<Graph> buildAllOps() {
  auto g = std::make_unique<Graph>();
  g->name = "bert.tiny";
  g->opset = 17;
  Builder b(*g);
  Value *ids = g->addInput("input_ids",
                           TensorType({1, 8}, ElemType::I64, Vis::Private, 1));
  Value *mask = g->addInput("attention/mask",
                            TensorType({1, 8}, ElemType::I64, Vis::Private, 1));
  ConstData embData;
  embData.f.assign(64 * 16, 0.25);
  Value *emb =
      g->addConstant("emb.weight", f32({64, 16}, Vis::Private, 0), embData);
  ConstData wData;
  wData.f.assign(16 * 16, -0.5);
  Value *w =
      g->addConstant("onnx::MatMul_99", f32({16, 16}, Vis::Private, 0), wData);
  ConstData gData;
  gData.f = {1.0, 0.5, 0.25, 0.125, 1e-7, -3.5, 2.0, 1.0,
             1.0, 1.0, 1.0,  1.0,   1.0,  1.0,  1.0, 1e30};
  Value *gamma = g->addConstant("ln.gamma", f32({16}, Vis::Private, 0), gData);
  Value *beta = b.constF32({16}, std::vector<double>(16, 0.0), "ln.beta");
  Value *two = b.constF32({}, {2.0}, "two");
  Value *idx = b.constI64({2}, {0, -1}, "idx");

  b.setLoc({"/embeddings/word_embeddings/Gather", "Gather", 17, ""});
  Value *x = add(b, OpKind::Embedding, {emb, ids});
  b.setLoc({"/ln/LayerNormalization", "LayerNormalization", 17, ""});
  x = add(b, OpKind::LayerNorm, {x, gamma, beta}, {{"eps", 1e-12}});
  b.setLoc({"/q/MatMul", "MatMul", 17, "fuse-linear"});
  Value *q = add(b, OpKind::Linear, {x, w, beta});
  b.setLoc({"/weird \"node\"\n", "Custom.Op", 13, ""});
  Value *k = add(b, OpKind::MatMul, {x, w});
  b.setLoc({});
  Value *qh = add(b, OpKind::Reshape, {q}, {{"shape", Ints{0, 0, 2, -1}}});
  qh = add(b, OpKind::Transpose, {qh}, {{"perm", Ints{0, 2, 1, 3}}});
  Value *kh = add(b, OpKind::Reshape, {k}, {{"shape", Ints{1, 8, 2, 8}}});
  kh = add(b, OpKind::Transpose, {kh}, {{"perm", Ints{0, 2, 3, 1}}});
  Value *s = add(b, OpKind::MatMul, {qh, kh});
  Value *m = add(b, OpKind::MaskBias, {mask}, {{"value", -10000.0}});
  m = add(b, OpKind::Reshape, {m}, {{"shape", Ints{1, 1, 1, 8}}});
  s = add(b, OpKind::Add, {s, m});
  s = add(b, OpKind::Softmax, {s},
          {{"axis", int64_t(-1)}, {"form", std::string("2quad")}, {"c", 5.0}});
  s = add(b, OpKind::Sub, {s, two});
  s = add(b, OpKind::Mul, {s, two});
  s = add(b, OpKind::Div, {s, two});
  s = add(b, OpKind::Pow, {s, two});
  s = add(b, OpKind::Neg, {s});
  s = add(b, OpKind::Relu, {s});
  s = add(b, OpKind::Exp, {s});
  s = add(b, OpKind::Sqrt, {s});
  s = add(b, OpKind::Erf, {s});
  s = add(b, OpKind::Tanh, {s});
  s = add(b, OpKind::Gelu, {s}, {{"form", std::string("erf")}});
  Value *r = add(b, OpKind::ReduceMean, {s}, {{"axes", Ints{1, -1}}});
  r = add(b, OpKind::ReduceSum, {r},
          {{"axes", Ints{}}, {"keepdims", int64_t(0)}});
  Value *mx = add(b, OpKind::ReduceMax, {s}, {{"axes", Ints{3}}});
  Value *sl = add(b, OpKind::Slice, {s},
                  {{"starts", Ints{-1}},
                   {"ends", Ints{std::numeric_limits<int64_t>::min()}},
                   {"axes", Ints{3}},
                   {"steps", Ints{-2}}});
  Value *cat = add(b, OpKind::Concat, {sl, sl, mx}, {{"axis", int64_t(3)}});
  Value *gat = add(b, OpKind::Gather, {cat, idx}, {{"axis", int64_t(2)}});
  Value *eq = add(b, OpKind::Equal, {ids, mask});
  Value *eqf = add(b, OpKind::Cast, {eq}, {{"to", std::string("f32")}});
  Value *cond = add(b, OpKind::Cast, {eqf}, {{"to", std::string("bool")}});
  Value *wh = add(b, OpKind::Where, {cond, eqf, two});
  wh->setName("mask_out");
  Value *pos = add(b, OpKind::CumSum, {ids},
                   {{"axis", int64_t(1)}, {"exclusive", int64_t(1)}});
  g->setOutputs({gat, r, pos, wh, ids});
  return g;
}

/// Checks that two graphs have the same structure, names, data and locs.
void checkSameGraph(const Graph &a, const Graph &b) {
  REQUIRE(a.inputs().size() == b.inputs().size());
  REQUIRE(a.constants().size() == b.constants().size());
  REQUIRE(a.ops().size() == b.ops().size());
  REQUIRE(a.outputs().size() == b.outputs().size());
  CHECK(a.opset == b.opset);
  for (size_t k = 0; k < a.constants().size(); ++k) {
    const Value *ca = a.constants()[k], *cb = b.constants()[k];
    CHECK(ca->type() == cb->type());
    CHECK(sanitizeValueName(ca->name()) == cb->name());
    if (cb->constData().elided)
      continue;
    CHECK(ca->constData().f == cb->constData().f);
    CHECK(ca->constData().i == cb->constData().i);
  }
  auto ia = a.ops().begin();
  auto ib = b.ops().begin();
  for (; ia != a.ops().end(); ++ia, ++ib) {
    const Op &oa = **ia, &ob = **ib;
    CHECK(oa.kind() == ob.kind());
    CHECK(oa.attrs() == ob.attrs());
    CHECK(oa.loc().onnxNode == ob.loc().onnxNode);
    CHECK(oa.loc().onnxOpType == ob.loc().onnxOpType);
    CHECK(oa.loc().derivedBy == ob.loc().derivedBy);
    CHECK(oa.loc().opset == ob.loc().opset);
    REQUIRE(oa.numResults() == ob.numResults());
    for (unsigned r = 0; r < oa.numResults(); ++r)
      CHECK(oa.result(r)->type() == ob.result(r)->type());
  }
}
} // namespace

TEST_CASE("printer golden output", "[ir][printer]") {
  Graph g;
  g.opset = 17;
  Builder b(g);
  Value *x = g.addInput("x:0", f32({2, 3}, Vis::Private, 1));
  ConstData w;
  w.f = {1.0, 0.1, -2.5, 1e-05, 3e20, 0.0};
  Value *wv = g.addConstant("fc.weight", f32({3, 2}, Vis::Private, 0), w);
  Value *c = b.constF32({2}, {1.0, 2.5}, "0bias");
  b.setLoc({"/fc/Gemm", "Gemm", 17, ""});
  Value *y = ok(b.create(OpKind::MatMul, {x, wv}))->result();
  b.setLoc({"/fc/Gemm", "Gemm", 17, "fuse \"linear\""});
  Value *z = ok(b.create(OpKind::Add, {y, c}))->result();
  b.setLoc({});
  Value *s = ok(b.create(OpKind::Softmax, {z},
                         {{"axis", int64_t(-1)}, {"form", std::string("exp")}}))
                 ->result();
  s->setName("probs");
  g.setOutputs({s});
  const char *expected =
      "func @main(%x_0: private1<2x3, f32>) opset=17 {\n"
      "  const @fc.weight : private0<3x2, f32> = dense<[1.0, 0.1, -2.5, "
      "1e-05, 3e+20, 0.0]>\n"
      "  const %v0bias : public<2, f32> = dense<[1.0, 2.5]>\n"
      "  %0 = matmul %x_0, @fc.weight : shared<2x2, f32> loc(\"/fc/Gemm\" "
      "Gemm)\n"
      "  %1 = add %0, %v0bias : shared<2x2, f32> loc(\"/fc/Gemm\" Gemm by "
      "\"fuse \\\"linear\\\"\")\n"
      "  %2 = softmax %1 {axis = -1, form = \"exp\"} : shared<2x2, f32>\n"
      "  return %2 as \"probs\"\n"
      "}\n";
  CHECK(printGraphToString(g) == expected);

  PrintOptions small;
  small.maxInlineElements = 4;
  small.printLocations = false;
  std::string elided = printGraphToString(g, small);
  CHECK_THAT(elided, Catch::Contains("@fc.weight : private0<3x2, f32> = "
                                     "dense<elided>\n"));
  CHECK_THAT(elided, Catch::Contains("dense<[1.0, 2.5]>"));
  CHECK_THAT(elided, !Catch::Contains("loc("));
}

TEST_CASE("print(parse(s)) == s for a graph with every op", "[ir][parser]") {
  std::unique_ptr<Graph> g = buildAllOps();
  REQUIRE(!verifyGraph(*g));
  for (int64_t inlineMax : {16, 0, 100000}) {
    PrintOptions opts;
    opts.maxInlineElements = inlineMax;
    std::string s = printGraphToString(*g, opts);
    std::unique_ptr<Graph> p = ok(parseGraph(s, "all.mir"));
    CHECK(printGraphToString(*p, opts) == s);
    checkSameGraph(*g, *p);
    // Parsed graphs are valid graphs.
    CHECK(!verifyGraph(*p));
    if (inlineMax == 100000) {
      // Everything inline: data survives exactly.
      for (size_t k = 0; k < g->constants().size(); ++k)
        CHECK(!p->constants()[k]->constData().elided);
    } else if (inlineMax == 0) {
      CHECK(p->findConstant("two")->constData().elided);
    }
  }
  std::string s = printGraphToString(*g);
  // Every mnemonic appears.
  for (unsigned k = 0; k <= static_cast<unsigned>(OpKind::MaskBias); ++k)
    CHECK_THAT(s, Catch::Contains(
                      " " + opKindName(static_cast<OpKind>(k)).str() + " "));
  CHECK_THAT(s, Catch::Contains("%attention_mask: private1<1x8, i64>"));
  CHECK_THAT(s, Catch::Contains("@onnx__MatMul_99"));
  CHECK_THAT(s, Catch::Contains("{eps = 1e-12}"));
  CHECK_THAT(s, Catch::Contains("{axes = [], keepdims = 0}"));
  CHECK_THAT(s, Catch::Contains("ends = [-9223372036854775808]"));
  CHECK_THAT(s, Catch::Contains("loc(\"/weird \\\"node\\\"\\n\" Custom.Op "
                                "opset 13)"));
  CHECK_THAT(s, Catch::Contains("by \"fuse-linear\""));
  CHECK_THAT(s, Catch::Contains("as \"mask_out\", %input_ids\n"));
}

TEST_CASE("parser reads hand-written text", "[ir][parser]") {
  const char *text = R"(// RUN: mpcc opt %s | FileCheck %s
func @f(%a: shared<4, fx16>, %b: public<i64>) {
  // comments and blank lines are fine

  const %c : public<2, f32> = dense<[inf, -inf]>
  %q = neg %a : shared<4, fx16>
  %r, %s = add %q, %q {list = [1, 2.5], name = "x\ty", "odd key" = -3} : shared<4, fx16>, public<f32>
  return %r, %b
}
)";
  std::unique_ptr<Graph> g = ok(parseGraph(text));
  CHECK(g->name == "f");
  CHECK(g->opset == 0);
  REQUIRE(g->ops().size() == 2);
  Op &op = *g->ops().back();
  CHECK(op.numResults() == 2);
  CHECK(op.getFloats("list") == std::vector<double>{1.0, 2.5});
  CHECK(op.getString("name") == "x\ty");
  CHECK(op.getInt("odd key") == -3);
  CHECK(op.result(1)->type().str() == "public<f32>");
  CHECK(g->findConstant("c")->constData().f[0] ==
        std::numeric_limits<double>::infinity());
  CHECK(g->outputs()[1] == g->findInput("b"));
  std::string printed = printGraphToString(*g);
  CHECK_THAT(printed,
             Catch::Contains("%1, %2 = add %0, %0 {list = [1.0, 2.5], name = "
                             "\"x\\ty\", \"odd key\" = -3} : shared<4, fx16>, "
                             "public<f32>\n"));
  CHECK_THAT(printed, Catch::Contains("dense<[inf, -inf]>"));
  CHECK(printGraphToString(*ok(parseGraph(printed))) == printed);
}

TEST_CASE("an output's name is its own, not its value's", "[ir][parser]") {
  // One value as two outputs, and a graph input as an output of another
  // name (ONNX y = Identity(t), z = Dropout(t), xi = Cast(x)).
  const char *text = "func @main(%x: public<2, f32>) {\n"
                     "  %0 = neg %x : public<2, f32>\n"
                     "  return %0 as \"y\", %0 as \"z\", %x as \"xi\", %x\n"
                     "}\n";
  auto g = ok(parseGraph(text));
  REQUIRE(g->outputs().size() == 4);
  CHECK(g->outputName(0) == "y");
  CHECK(g->outputName(1) == "z");
  CHECK(g->outputName(2) == "xi");
  CHECK(g->outputName(3) == "x");
  CHECK(g->outputs()[2] == g->findInput("x"));
  CHECK(printGraphToString(*g) == text);
  // Two outputs of one name are refused by the verifier.
  auto dup = ok(parseGraph("func @main(%x: public<2, f32>) {\n"
                           "  return %x as \"y\", %x as \"y\"\n}\n"));
  std::string e = llvm::toString(verifyGraph(*dup, OpStage::Semantic));
  CHECK_THAT(e, Catch::Contains("outputs 0 and 1 are both called 'y'"));
}

TEST_CASE("float attributes and data round trip exactly", "[ir][parser]") {
  Graph g;
  Builder b(g);
  std::vector<double> vals = {
      0.1,  1.0 / 3, -0.0, 1e-300, 5e-324, 1.7e308, 123456789012345678.0,
      -2.0, 100.0};
  Value *c = b.constF32({9}, vals, "c");
  Op *op = b.createWithTypes(OpKind::MaskBias, {c}, {c->type()},
                             {{"value", 1.0 / 7}});
  g.setOutputs({op->result()});
  std::string s = printGraphToString(g);
  auto p = ok(parseGraph(s));
  const std::vector<double> &back = p->findConstant("c")->constData().f;
  REQUIRE(back.size() == vals.size());
  for (size_t k = 0; k < vals.size(); ++k) {
    CHECK(back[k] == vals[k]);
    CHECK(std::signbit(back[k]) == std::signbit(vals[k]));
  }
  CHECK(p->ops().front()->getFloat("value") == 1.0 / 7);
  CHECK(std::holds_alternative<double>(p->ops().front()->attrs().at("value")));
}

TEST_CASE("parse errors say where and what", "[ir][parser]") {
  auto err = [](const char *text) {
    return errorOf(parseGraph(text, "t.mir"));
  };
  CHECK(err("fun @main() {\n  return\n}\n") == "t.mir:1:1: expected 'func'");
  CHECK(err("func @main(%x: public<2, f32>) {\n  %0 = frob %x : "
            "public<2, f32>\n  return %0\n}\n") ==
        "t.mir:2:8: unknown op 'frob'");
  CHECK(err("func @main(%x: public<2, f32>) {\n  %0 = neg %y : "
            "public<2, f32>\n  return %0\n}\n") ==
        "t.mir:2:12: use of undefined value %y");
  CHECK(err("func @main(%x: public<2, f32>) {\n  %x = neg %x : "
            "public<2, f32>\n  return %x\n}\n") ==
        "t.mir:2:3: redefinition of %x");
  CHECK(err("func @main(%x: public<2, f33>) {\n  return\n}\n") ==
        "t.mir:1:26: expected an element type (f32, i64, bool or fxN), got "
        "'f33'");
  CHECK(err("func @main(%x: secret<2, f32>) {\n  return\n}\n") ==
        "t.mir:1:16: expected a type (public, private0, private1 or shared), "
        "got 'secret'");
  CHECK(err("func @main(%x: public<2, f32>) {\n  %0 = neg %x {a = } : "
            "public<2, f32>\n  return %0\n}\n") ==
        "t.mir:2:20: expected an attribute value (number, string or list)");
  CHECK(err("func @main() {\n  const %c : public<3, f32> = dense<[1.0, "
            "2.0]>\n  return\n}\n") ==
        "t.mir:2:37: constant %c has type public<3, f32> (3 elements) but 2 "
        "values");
  CHECK(err("func @main() {\n  const %w : private0<1, f32> = "
            "dense<[1.0]>\n  return\n}\n") ==
        "t.mir:2:14: constants private to party 0 are weights and are named "
        "'@name'");
  CHECK(err("func @main(%x: public<2, f32>) {\n  %0 = neg %x : "
            "public<2, f32>, public<2, f32>\n  return %0\n}\n") ==
        "t.mir:2:33: expected 1 result type, got 2");
  CHECK(err("func @main(%x: public<2, f32>) {\n  %0 = neg %x : "
            "public<2, f32> loc(\"n\" Neg by)\n  return %0\n}\n") ==
        "t.mir:2:46: expected a string");
  CHECK(err("func @main(%x: public<2, f32>) {\n  %0 = neg %x : "
            "public<2, f32>\n") ==
        "t.mir:3:1: expected 'return' before the end of the input");
  CHECK(err("func @main() {\n  return\n}\n}") ==
        "t.mir:4:1: expected the end of the input after '}'");
  CHECK(err("func @main(%x: public<2x, f32>) {\n  return\n}\n") ==
        "t.mir:1:25: expected a dimension after 'x'");
  CHECK(err("func @main() {\n  const %c : public<1, f32> = dense<[1.0.0]>\n"
            "  return\n}\n") == "t.mir:2:38: expected a number, got '1.0.0'");
}
