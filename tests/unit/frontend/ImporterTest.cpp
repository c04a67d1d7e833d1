//===- tests/unit/frontend/ImporterTest.cpp - ONNX operator import --------===//
//
// Operator handlers on small ONNX text models: results are checked against
// values computed by hand, opset differences (attributes that became
// inputs) are covered on both sides, constant sub-graphs must fold away,
// and user errors must come back as errors that name the node.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtil.h"

#include <fmt/format.h>

using namespace mpc;
using namespace mpc::test;

static std::string model(int opset, llvm::StringRef sig, llvm::StringRef body,
                         llvm::StringRef inits = "") {
  return fmt::format("<ir_version: 8, opset_import: [\"\" : {}]>\n"
                     "g {} {}\n{{\n{}\n}}\n",
                     opset, sig.str(), inits.str(), body.str());
}

/// Runs a graph with one float input named x = 0, 1, 2, ... and returns
/// the first output.
static HostTensor runIota(const Graph &g) {
  std::map<std::string, HostTensor> in;
  for (const Value *v : g.inputs()) {
    std::vector<int64_t> shape(v->type().shape.begin(), v->type().shape.end());
    std::vector<double> f(v->type().numElements());
    for (size_t k = 0; k < f.size(); ++k)
      f[k] = static_cast<double>(k);
    in[v->name()] = HostTensor::floats(shape, f);
  }
  return runOk(g, in)[0];
}

TEST_CASE("dynamic shape sub-graph folds into a static reshape",
          "[frontend][import]") {
  // Reshape x [B, S, 4] to [B, S, 2, 2] through Shape/Gather/Unsqueeze/Concat.
  std::string text = model(13, "(float[B, S, 4] x) => (float[B, S, 2, 2] y)",
                           R"(
  sh = Shape(x)
  i0 = Constant <value = int64 {0}> ()
  i1 = Constant <value = int64 {1}> ()
  b = Gather(sh, i0)
  s = Gather(sh, i1)
  ax = Constant <value = int64[1] {0}> ()
  bu = Unsqueeze(b, ax)
  su = Unsqueeze(s, ax)
  two = Constant <value = int64[2] {2, 2}> ()
  shape = Concat <axis = 0> (bu, su, two)
  y = Reshape(x, shape)
)");
  CHECK_THAT(importError(text),
             Catch::Contains("graph input 'x' has dynamic dimension 0 "
                             "('B'); bind it with --input-shape x=DIMS"));
  ImportOptions opts;
  opts.inputShapes["x"] = {3, 5, 4};
  auto g = importOk(text, opts);
  REQUIRE(g->ops().size() == 1);
  const Op &r = *g->ops().front();
  CHECK(r.kind() == OpKind::Reshape);
  CHECK(r.getInts("shape") == std::vector<int64_t>{3, 5, 2, 2});
  CHECK(g->constants().empty());
  CHECK(runIota(*g).f[59] == 59);
}

TEST_CASE("a named dimension binds every input that has it",
          "[frontend][import]") {
  std::string text = model(
      13, "(float[B, S] x, float[B, S] m) => (float[B, S] y)", "y = Add(x, m)");
  ImportOptions opts;
  opts.inputShapes["x"] = {3, 5};
  auto g = importOk(text, opts);
  REQUIRE(g->inputs().size() == 2);
  for (const Value *in : g->inputs())
    CHECK(std::vector<int64_t>(in->type().shape.begin(),
                               in->type().shape.end()) ==
          std::vector<int64_t>{3, 5});

  // Its own binding wins where given; two that disagree name both.
  opts.inputShapes["m"] = {3, 5};
  importOk(text, opts);
  opts.inputShapes["m"] = {3, 6};
  CHECK_THAT(importError(text, opts),
             Catch::Contains("--input-shape m=3x6 binds dimension 'S' to 6, "
                             "but --input-shape x=3x5 binds it to 5"));

  // An input whose dimension has another name still needs its own.
  std::string other =
      model(13, "(float[B, S] x, float[B, T] m) => (float[B, S] y)", R"(
  s = ReduceSum <keepdims = 1> (m)
  y = Add(x, s)
)");
  opts.inputShapes.erase("m");
  CHECK_THAT(importError(other, opts),
             Catch::Contains("graph input 'm' has dynamic dimension 1 ('T')"));
}

TEST_CASE("position ids: Slice of a buffer by a folded length",
          "[frontend][import]") {
  std::string text = model(13, "(int64[1, S] ids) => (int64[1, S] y)", R"(
  sh = Shape(ids)
  i1 = Constant <value = int64 {1}> ()
  s = Gather(sh, i1)
  ax = Constant <value = int64[1] {0}> ()
  su = Unsqueeze(s, ax)
  st = Constant <value = int64[1] {0}> ()
  a1 = Constant <value = int64[1] {1}> ()
  p = Slice(pos, st, su, a1, a1)
  y = Add(ids, p)
)",
                           "<int64[1, 8] pos = {0, 1, 2, 3, 4, 5, 6, 7}>");
  ImportOptions opts;
  opts.inputShapes["ids"] = {1, 5};
  auto g = importOk(text, opts);
  REQUIRE(g->ops().size() == 1);
  const Value *p = g->ops().front()->operand(1);
  REQUIRE(p->isConstant());
  // A slice of a model buffer is the owner's, like the buffer.
  CHECK(p->isWeight());
  CHECK(p->constData().i == std::vector<int64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("Unsqueeze/Squeeze/ReduceSum axes: attribute vs input",
          "[frontend][import]") {
  std::string old = model(11, "(float[2, 3] x) => (float[2, 1] y)", R"(
  u = Unsqueeze <axes = [0]> (x)
  q = Squeeze <axes = [0]> (u)
  y = ReduceSum <axes = [1], keepdims = 1> (q)
)");
  std::string now = model(13, "(float[2, 3] x) => (float[2, 1] y)", R"(
  a0 = Constant <value = int64[1] {0}> ()
  a1 = Constant <value = int64[1] {-1}> ()
  u = Unsqueeze(x, a0)
  q = Squeeze(u, a0)
  y = ReduceSum <keepdims = 1> (q, a1)
)");
  for (const std::string &text : {old, now}) {
    auto g = importOk(text);
    HostTensor y = runIota(*g);
    CHECK(y.shape == std::vector<int64_t>{2, 1});
    CHECK(y.f == std::vector<double>{3, 12});
    for (const auto &op : g->ops())
      if (op->kind() == OpKind::ReduceSum)
        CHECK(op->getInts("axes") == std::vector<int64_t>{1});
  }
}

TEST_CASE("Split by attribute (opset 11) and by input (opset 13)",
          "[frontend][import]") {
  std::string old =
      model(11, "(float[2, 6] x) => (float[2, 2] a, float[2, 4] b)",
            "a, b = Split <axis = 1, split = [2, 4]> (x)");
  std::string now =
      model(13, "(float[2, 6] x) => (float[2, 2] a, float[2, 4] b)",
            R"(
  sp = Constant <value = int64[2] {2, 4}> ()
  a, b = Split <axis = -1> (x, sp)
)");
  std::string equal =
      model(13, "(float[2, 6] x) => (float[2, 3] a, float[2, 3] b)",
            "a, b = Split <axis = 1> (x)");
  for (const std::string &text : {old, now}) {
    auto g = importOk(text);
    auto out =
        runOk(*g, {{"x", HostTensor::floats(
                             {2, 6}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})}});
    CHECK(out[0].f == std::vector<double>{0, 1, 6, 7});
    CHECK(out[1].f == std::vector<double>{2, 3, 4, 5, 8, 9, 10, 11});
  }
  CHECK(countOps(*importOk(equal), OpKind::Slice) == 2);
}

TEST_CASE("Slice normalises negative and out-of-range indices",
          "[frontend][import]") {
  std::string text = model(13, "(float[4, 6] x) => (float[2, 2] y)", R"(
  st = Constant <value = int64[2] {-3, 1}> ()
  en = Constant <value = int64[2] {9223372036854775807, 100}> ()
  ax = Constant <value = int64[2] {0, -1}> ()
  sp = Constant <value = int64[2] {2, 3}> ()
  y = Slice(x, st, en, ax, sp)
)");
  auto g = importOk(text);
  const Op &s = *g->ops().front();
  CHECK(s.getInts("starts") == std::vector<int64_t>{1, 1});
  CHECK(s.getInts("ends") == std::vector<int64_t>{4, 6});
  CHECK(s.getInts("axes") == std::vector<int64_t>{0, 1});
  CHECK(runIota(*g).f == std::vector<double>{7, 10, 19, 22});
  // Opset 9: attributes.
  auto g9 = importOk(model(9, "(float[4, 6] x) => (float[1, 6] y)",
                           "y = Slice <starts = [-1], ends = [1000], axes = "
                           "[0]> (x)"));
  CHECK(runIota(*g9).f == std::vector<double>{18, 19, 20, 21, 22, 23});
}

TEST_CASE("Gemm: transposes, alpha/beta, bias shapes", "[frontend][import]") {
  // A [2,3] = iota; B given as [2,3] with transB; C [2] and C [2,2].
  const char *inits = "<float[2, 3] w = {1, 0, 1, 0, 1, 0}, float[2] c = {1, "
                      "2}, float[2, 2] cm = {1, 2, 3, 4}>";
  auto g = importOk(model(13, "(float[2, 3] x) => (float[2, 2] y)",
                          "y = Gemm <transB = 1, alpha = 2.0, beta = 0.5> "
                          "(x, w, c)",
                          inits));
  REQUIRE(countOps(*g, OpKind::Linear) == 1);
  // x.w^T = [[2, 1], [8, 4]]; 2*that + 0.5*c.
  CHECK(runIota(*g).f == std::vector<double>{4.5, 3, 16.5, 9});
  auto gm = importOk(model(13, "(float[2, 3] x) => (float[2, 2] y)",
                           "y = Gemm <transB = 1> (x, w, cm)", inits));
  CHECK(runIota(*gm).f == std::vector<double>{3, 3, 11, 8});
  // transA with a non-constant B.
  auto ga = importOk(model(13,
                           "(float[3, 2] x, float[3, 2] z) => "
                           "(float[2, 2] y)",
                           "y = Gemm <transA = 1> (x, z)"));
  CHECK(countOps(*ga, OpKind::MatMul) == 1);
  CHECK(countOps(*ga, OpKind::Transpose) == 1);
  // Weights stay private to party 0 after the transpose.
  for (const Value *c : g->constants())
    if (c->type().rank() == 2)
      CHECK(c->isWeight());
}

TEST_CASE("constant-only operators fold", "[frontend][import]") {
  std::string text = model(13, "(float[2, 3] x) => (float[2, 3] y)", R"(
  sh = Constant <value = int64[2] {2, 3}> ()
  z = ConstantOfShape <value = float[1] {1.25}> (sh)
  r0 = Constant <value = float {0.0}> ()
  r1 = Constant <value = float {3.0}> ()
  r2 = Constant <value = float {1.0}> ()
  rg = Range(r0, r1, r2)
  eq = Equal(rg, r2)
  w = Where(eq, r1, rg)
  e = Expand(w, sh)
  zi = Identity(z)
  s = Add(e, zi)
  c = Cast <to = 7> (s)
  f = Cast <to = 1> (c)
  y = Add(x, f)
)");
  auto g = importOk(text);
  REQUIRE(g->ops().size() == 1);
  const Value *f = g->ops().front()->operand(1);
  REQUIRE(f->isConstant());
  // range [0,1,2] -> where(=1: 3) = [0,3,2] + 1.25 -> cast i64 [1,4,3].
  CHECK(f->constData().f == std::vector<double>{1, 4, 3, 1, 4, 3});
}

TEST_CASE("Expand of an activation, Flatten, Transpose, Dropout",
          "[frontend][import]") {
  auto g = importOk(model(13, "(float[1, 3] x) => (float[6, 2] y)", R"(
  sh = Constant <value = int64[3] {2, 2, 3}> ()
  e = Expand(x, sh)
  d = Dropout(e)
  t = Transpose(d)
  y = Flatten <axis = 2> (t)
)"));
  HostTensor y = runIota(*g);
  CHECK(y.shape == std::vector<int64_t>{6, 2});
  CHECK(y.f == std::vector<double>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
}

TEST_CASE("Softmax before opset 13 flattens from axis", "[frontend][import]") {
  auto ok = importOk(model(11, "(float[2, 3, 1] x) => (float[2, 3, 1] y)",
                           "y = Softmax <axis = 1> (x)"));
  CHECK(countOps(*ok, OpKind::Softmax) == 1);
  CHECK(ok->ops().front()->getInt("axis") == 1);
  std::string err = importError(model(11,
                                      "(float[2, 3, 4] x) => "
                                      "(float[2, 3, 4] y)",
                                      "y = Softmax <axis = 1> (x)"));
  CHECK_THAT(err, Catch::Contains("[onnx node 'y' (Softmax, opset 11)] "
                                  "unsupported attribute axis=1"));
}

TEST_CASE("visibility of imported values", "[frontend][import]") {
  auto g = importOk(model(13, "(float[2, 2] x, int64[2] i) => (float[2, 2] y)",
                          R"(
  k = Constant <value = float {2.0}> ()
  a = Mul(x, k)
  b = Add(a, w)
  y = Gather(b, i)
)",
                          "<float[2, 2] w = {1, 2, 3, 4}>"));
  CHECK(g->findInput("x")->type().isPrivateTo(1));
  CHECK(g->findInput("i")->type().isPrivateTo(1));
  // Every constant of the model file is the owner's, the scalar k too.
  REQUIRE(g->constants().size() == 2);
  for (const Value *c : g->constants())
    CHECK(c->isWeight());
}

TEST_CASE("model values of every type and size are private to party 0",
          "[frontend][import]") {
  // A one-label head's scalar bias, an int8 weight cast to float, a scalar
  // multiplier, a ConstantOfShape fill and a bool tensor used as data: all
  // the owner's, and so is what is folded from them. Shapes, indices and
  // exponents read from model constants are structure, and public.
  auto g = importOk(model(13,
                          "(float[1, 3] x) => (float[1, 1] y, float[1, 3] "
                          "z, float[1, 3] p, float[1, 2] q)",
                          R"(
  wf = Cast <to = 1> (w8)
  l = Gemm <transB = 1> (x, wf, b)
  y = Mul(l, t)
  sh = Constant <value = int64[2] {1, 3}> ()
  r = Reshape(x, sh)
  e = Constant <value = float {2.0}> ()
  p = Pow(r, e)
  n = Constant <value = int64[1] {3}> ()
  f = ConstantOfShape <value = float[1] {0.5}> (n)
  fm = Reshape(f, sh)
  z = Mul(x, fm)
  ix = Constant <value = int64[1] {2}> ()
  row = Gather <axis = 1> (fm, ix)
  q0 = Cast <to = 1> (bits)
  q = Add(q0, row)
)",
                          "<int8[1, 3] w8 = {1, -2, 3}, float[1] b = {0.25}, "
                          "float t = {1.5}, bool[2] bits = {1, 0}>"));
  const Value *exponent = nullptr;
  for (const auto &op : g->ops())
    if (op->kind() == OpKind::Pow)
      exponent = op->operand(1);
  REQUIRE(exponent);
  CHECK(exponent->type().vis == Vis::Public);
  // b, t, the cast int8 weight, the fill and the folded q.
  unsigned weights = 0;
  for (const Value *c : g->constants()) {
    INFO("constant " << c->name() << " " << c->type().str());
    CHECK((c == exponent || c->isWeight()));
    weights += c->isWeight();
  }
  CHECK(weights == 5);
}

TEST_CASE("user errors name the node", "[frontend][import][errors]") {
  SECTION("unsupported operator") {
    std::string err =
        importError(model(13, "(float[2] x) => (float[2] y)", "y = Acos(x)"));
    CHECK(err == "[onnx node 'y' (Acos, opset 13)] unsupported operator "
                 "'Acos'");
  }
  SECTION("non-constant shape input") {
    std::string err =
        importError(model(13, "(float[4] x, int64[2] s) => (float[2, 2] y)",
                          "y = Reshape(x, s)"));
    CHECK_THAT(err, Catch::Contains("[onnx node 'y' (Reshape, opset 13)] "
                                    "the shape input of Reshape must be a "
                                    "constant"));
  }
  SECTION("bad reshape") {
    std::string err = importError(model(13, "(float[4] x) => (float[3] y)", R"(
  s = Constant <value = int64[1] {3}> ()
  y = Reshape(x, s)
)"));
    CHECK_THAT(err, Catch::Contains("cannot reshape"));
  }
  SECTION("duplicate output names") {
    CHECK_THAT(importError(model(13, "(float[2] x) => (float[2] y, float[2] y)",
                                 "y = Relu(x)")),
               Catch::Contains("graph output 'y' is listed twice"));
  }
  SECTION("shape binding errors") {
    std::string text =
        model(13, "(float[N, 4] x) => (float[N, 4] y)", "y = Relu(x)");
    ImportOptions rank;
    rank.inputShapes["x"] = {2};
    CHECK_THAT(importError(text, rank),
               Catch::Contains("has rank 1, but the model's input has rank 2"));
    ImportOptions clash;
    clash.inputShapes["x"] = {2, 5};
    CHECK_THAT(
        importError(text, clash),
        Catch::Contains("disagrees with the model's static dimension 1"));
    // A sample file's shape (a hint) fills only the dynamic dimensions.
    ImportOptions hinted;
    hinted.shapeHints["x"] = {6, 5};
    auto g = importOk(text, hinted);
    const auto &shape = g->inputs()[0]->type().shape;
    CHECK(std::vector<int64_t>(shape.begin(), shape.end()) ==
          std::vector<int64_t>{6, 4});
    ImportOptions unknown;
    unknown.inputShapes["x"] = {2, 4};
    unknown.inputShapes["z"] = {1};
    CHECK_THAT(importError(text, unknown),
               Catch::Contains("names 'z', which is not an input"));
  }
  SECTION("checker failure") {
    // Add with one input is not a valid node.
    std::string err =
        importError(model(13, "(float[2] x) => (float[2] y)", "y = Add(x)"));
    CHECK_THAT(err,
               Catch::StartsWith("test.onnxtext: not a valid ONNX model: "));
  }
  SECTION("text that does not parse") {
    CHECK_THAT(importError("<ir_version: 8> g (float x => {"),
               Catch::StartsWith("test.onnxtext: not a valid ONNX text model"));
  }
  SECTION("bytes that are not a model") {
    auto g = importOnnxBytes(std::string("\x0a\xff\xff\xff\xff garbage", 14),
                             {}, "junk.onnx");
    REQUIRE(!g);
    CHECK_THAT(llvm::toString(g.takeError()),
               Catch::StartsWith("junk.onnx: not a valid ONNX model: "));
  }
  SECTION("missing file") {
    auto g = importOnnxFile("/nonexistent/model.onnx", {});
    REQUIRE(!g);
    CHECK_THAT(llvm::toString(g.takeError()),
               Catch::StartsWith("cannot read '/nonexistent/model.onnx'"));
  }
}

TEST_CASE("comment lines in .onnxtext are ignored", "[frontend][import]") {
  std::string text = "// RUN: mpcc compile %s\n# a comment\n" +
                     model(13, "(float[2] x) => (float[2] y)",
                           "// CHECK: relu\n  y = Relu(x)");
  CHECK(countOps(*importOk(text), OpKind::Relu) == 1);
}

TEST_CASE("input shape arguments are parsed (--input-shape)",
          "[frontend][import]") {
  std::map<std::string, std::vector<int64_t>> shapes;
  REQUIRE(!parseInputShapeArg("input_ids=1x128", shapes));
  REQUIRE(!parseInputShapeArg("mask=2,7", shapes));
  CHECK(shapes["input_ids"] == std::vector<int64_t>{1, 128});
  CHECK(shapes["mask"] == std::vector<int64_t>{2, 7});
  llvm::Error twice = parseInputShapeArg("mask=1x1", shapes);
  CHECK_THAT(llvm::toString(std::move(twice)), Catch::Contains("bound twice"));
  llvm::Error bad = parseInputShapeArg("x=1xq", shapes);
  CHECK_THAT(llvm::toString(std::move(bad)),
             Catch::Contains("is not a shape like 1x128"));
}
