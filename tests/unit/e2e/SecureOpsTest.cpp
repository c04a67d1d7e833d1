//===- tests/unit/e2e/SecureOpsTest.cpp - Imported ops under 2PC ----------===//
//
// Small ONNX graphs of the operators and lowerings of issue 11 part B
// (convolutions, activations, normalisations), each imported, compiled
// with the default pipeline and run between the two parties and the dealer
// in memory; the client's output is compared with the float interpreter's
// (`mpcc float`) on the same graph, within a bound per case.
//
//===----------------------------------------------------------------------===//

#include "Argmax.h"
#include "backend/EmitPlan.h"
#include "driver/Compile.h"
#include "frontend/OnnxImporter.h"
#include "ir/IR.h"
#include "runtime/plan/InProcess.h"
#include "runtime/plan/PlanReader.h"
#include "support/Tensor.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <random>

using namespace mpc;
namespace fs = std::filesystem;

namespace {

/// A float tensor of \p shape with values uniform in [lo, hi).
HostTensor uniform(std::vector<int64_t> shape, double lo, double hi,
                   unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  std::vector<double> v(n);
  for (double &x : v)
    x = static_cast<float>(u(rng));
  return HostTensor::floats(std::move(shape), std::move(v));
}

/// `{a, b, ...}` of \p n values uniform in [lo, hi): ONNX text data.
std::string values(int64_t n, double lo, double hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::string s;
  for (int64_t i = 0; i < n; ++i)
    s += fmt::format("{}{:.4f}", i ? ", " : "", u(rng));
  return s;
}

/// Compiles the imported graph \p g with the default pipeline and runs it
/// between the parties and the dealer; the client's outputs by name.
std::map<std::string, HostTensor>
runSecureAll(llvm::Expected<std::unique_ptr<Graph>> g,
             const std::map<std::string, HostTensor> &inputs) {
  if (!g)
    FAIL(llvm::toString(g.takeError()));
  auto emitted = compileGraph(**g, CompileOptions{}, "case");
  if (!emitted)
    FAIL(llvm::toString(emitted.takeError()));
  auto plan = rt::loadPlan(emitted->plan, "case");
  if (!plan)
    FAIL(llvm::toString(plan.takeError()));
  auto res = rt::runInProcess(*plan, emitted->weights, inputs);
  if (!res)
    FAIL(llvm::toString(res.takeError()));
  return res->outputs;
}

/// As runSecureAll, for a graph with a single output.
HostTensor runSecure(llvm::Expected<std::unique_ptr<Graph>> g,
                     const std::map<std::string, HostTensor> &inputs) {
  std::map<std::string, HostTensor> outs = runSecureAll(std::move(g), inputs);
  REQUIRE(outs.size() == 1);
  return outs.begin()->second;
}

/// Imports \p text, runs it in float and securely on \p inputs, and returns
/// the largest |secure - float| over the (single) output.
double secureVsFloat(const std::string &text,
                     const std::map<std::string, HostTensor> &inputs) {
  auto ref = importOnnxText(text, {}, "case.onnxtext");
  if (!ref)
    FAIL(llvm::toString(ref.takeError()));
  auto want = interpretGraph(**ref, inputs);
  if (!want)
    FAIL(llvm::toString(want.takeError()));
  REQUIRE(want->size() == 1);
  HostTensor got = runSecure(importOnnxText(text, {}, "case.onnxtext"), inputs);
  const HostTensor &exp = want->front();
  REQUIRE(got.shape == exp.shape);
  double err = 0;
  for (size_t i = 0; i < got.f.size(); ++i)
    err = std::max(err, std::abs(got.f[i] - exp.f[i]));
  return err;
}

/// A one-Conv model: input x [1, c, h, w] (or [1, c, w] for 1-D), weight
/// [o, c/group, k...] and bias [o] as initializers, attributes \p attrs.
std::string convModel(std::vector<int64_t> xShape, std::vector<int64_t> wShape,
                      std::vector<int64_t> yShape, const std::string &attrs,
                      unsigned seed) {
  int64_t wn = 1;
  for (int64_t d : wShape)
    wn *= d;
  auto dims = [](const std::vector<int64_t> &s) {
    std::string r;
    for (size_t i = 0; i < s.size(); ++i)
      r += fmt::format("{}{}", i ? ", " : "", s[i]);
    return r;
  };
  return fmt::format(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[{}] x) => (float[{}] y)
<float[{}] w = {{{}}}, float[{}] b = {{{}}}>
{{
  y = Conv <{}> (x, w, b)
}}
)",
                     dims(xShape), dims(yShape), dims(wShape),
                     values(wn, -0.5, 0.5, seed), wShape[0],
                     values(wShape[0], -0.2, 0.2, seed + 1), attrs);
}

} // namespace

TEST_CASE("convolutions run securely as private-weight products",
          "[e2e][ops]") {
  struct Case {
    const char *name;
    std::vector<int64_t> x, w, y;
    std::string attrs;
  };
  std::vector<Case> cases = {
      {"patch embedding (kernel = stride)",
       {1, 3, 8, 8},
       {6, 3, 4, 4},
       {1, 6, 2, 2},
       "kernel_shape = [4, 4], strides = [4, 4]"},
      {"patches with a remainder",
       {1, 2, 9, 7},
       {4, 2, 3, 3},
       {1, 4, 3, 2},
       "kernel_shape = [3, 3], strides = [3, 3]"},
      {"1x1", {1, 4, 3, 5}, {3, 4, 1, 1}, {1, 3, 3, 5}, "group = 1"},
      {"3x3, stride 2, padding",
       {1, 3, 7, 6},
       {5, 3, 3, 3},
       {1, 5, 4, 3},
       "pads = [1, 1, 1, 1], strides = [2, 2]"},
      {"asymmetric padding, dilation",
       {1, 2, 6, 6},
       {3, 2, 2, 3},
       {1, 3, 6, 3},
       "pads = [1, 0, 1, 1], dilations = [2, 1], strides = [1, 2]"},
      {"depthwise 3x3 (group = channels)",
       {1, 4, 6, 6},
       {4, 1, 3, 3},
       {1, 4, 6, 6},
       "group = 4, pads = [1, 1, 1, 1]"},
      {"depthwise, channel multiplier 2",
       {1, 3, 5, 5},
       {6, 1, 3, 3},
       {1, 6, 3, 3},
       "group = 3"},
      {"two groups",
       {1, 4, 5, 5},
       {6, 2, 3, 3},
       {1, 6, 5, 5},
       "group = 2, auto_pad = \"SAME_UPPER\""},
      {"1-D, padding", {1, 3, 10}, {4, 3, 3}, {1, 4, 10}, "pads = [1, 1]"},
  };
  unsigned seed = 1;
  for (const Case &c : cases) {
    INFO(c.name);
    std::string text = convModel(c.x, c.w, c.y, c.attrs, seed++);
    double err = secureVsFloat(text, {{"x", uniform(c.x, -2, 2, seed++)}});
    INFO("max |secure - float| " << err);
    // Sums of up to 27 products at 16 fractional bits.
    CHECK(err <= 2e-3);
  }
}

namespace {

/// One input set of an export fixture (tests/fixtures/exports/NAME): every
/// `X.npy` (set a) or `X.b.npy` (set b) but the logits.
struct ExportSet {
  std::map<std::string, HostTensor> inputs;
  HostTensor logits;
};

std::vector<ExportSet> exportSets(const std::string &dir) {
  std::vector<ExportSet> sets;
  for (std::string suffix : {"", ".b"}) {
    if (!fs::exists(dir + "/logits" + suffix + ".npy"))
      continue;
    ExportSet s;
    for (auto &e : fs::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      std::string tail = suffix + ".npy";
      if (name.size() <= tail.size() ||
          name.compare(name.size() - tail.size(), tail.size(), tail) != 0)
        continue;
      std::string stem = name.substr(0, name.size() - tail.size());
      if (stem.find('.') != std::string::npos)
        continue; // another set's file
      auto t = readNpy(e.path().string());
      REQUIRE(bool(t));
      if (stem == "logits")
        s.logits = std::move(*t);
      else
        s.inputs[stem] = std::move(*t);
    }
    sets.push_back(std::move(s));
  }
  return sets;
}

} // namespace

TEST_CASE("ViT and LLaMA exports run securely as PyTorch computes them",
          "[e2e][exports]") {
  // LLaMA: RMSNorm, SwiGLU, rotary tables folded, the causal mask a
  // finfo.min constant (llama_17) or folded from Less of positions
  // (llama_14, static and dynamic shapes).
  const char *fixtures[] = {"vit_17_conv_static", "vit_13_conv_dynamic",
                            "vit_14_mha_normalize_static", "llama_17_static",
                            "llama_14_dynamic"};
  for (const char *name : fixtures) {
    std::string dir = std::string(MPCC_FIXTURES_DIR) + "/exports/" + name;
    std::vector<ExportSet> sets = exportSets(dir);
    REQUIRE_FALSE(sets.empty());
    for (const ExportSet &s : sets) {
      INFO(name << " at " << shapeStr(s.inputs.begin()->second.shape));
      ImportOptions opts;
      for (auto &[in, t] : s.inputs)
        opts.inputShapes[in] = t.shape;
      HostTensor got =
          runSecure(importOnnxFile(dir + "/model.onnx", opts), s.inputs);
      REQUIRE(got.shape == s.logits.shape);
      double err = 0, largest = 0;
      for (size_t i = 0; i < got.f.size(); ++i) {
        err = std::max(err, std::abs(got.f[i] - s.logits.f[i]));
        largest = std::max(largest, std::abs(s.logits.f[i]));
      }
      INFO("max |secure - PyTorch| " << err << ", largest logit " << largest);
      CHECK((err <= 1e-2 || err <= 1e-3 * largest));
      CHECK(test::argmaxMismatches(got, s.logits) ==
            std::vector<std::string>{});
    }
  }
}

TEST_CASE("activations and normalisations run securely", "[e2e][ops]") {
  struct Case {
    const char *name;
    std::string body, inits;
    double bound;
  };
  std::string gain = "float[16] g = {" + values(16, 0.5, 1.5, 3) + "}";
  std::vector<Case> cases = {
      {"Sigmoid", "y = Sigmoid(h)", "", 1e-3},
      {"Relu", "y = Relu(h)", "", 1e-4},
      {"LeakyRelu", "y = LeakyRelu <alpha = 0.1> (h)", "", 1e-4},
      {"PRelu (a model slope per channel)", "y = PRelu(h, g)", gain, 1e-3},
      {"Clip(-1, 2)",
       R"(lo = Constant <value = float {-1.0}> ()
  hi = Constant <value = float {2.0}> ()
  y = Clip(h, lo, hi))",
       "", 1e-4},
      {"Clip, max only", R"(hi = Constant <value = float {0.5}> ()
  y = Clip(h, , hi))",
       "", 1e-4},
      {"Clip by per-channel model bounds", "y = Clip(h, lo, hi)",
       "float[16] lo = {" + values(16, -1.5, -0.5, 7) + "}, float[16] hi = {" +
           values(16, 0.5, 1.5, 8) + "}",
       1e-4},
      {"HardSigmoid", "y = HardSigmoid <alpha = 0.3, beta = 0.4> (h)", "",
       1e-4},
      {"HardSwish (x * clip(x/6 + 1/2, 0, 1))", "y = HardSwish(h)", "", 1e-3},
      {"SiLU (x * sigmoid(x))", "s = Sigmoid(h)\n y = Mul(h, s)", "", 2e-3},
      {"Pow(x, 2) outside a pattern (a Beaver square)",
       R"(two = Constant <value = float {2.0}> ()
  y = Pow(h, two))",
       "", 2e-4},
      {"Pow(x, 3) (a square, then a product)",
       R"(three = Constant <value = int64 {3}> ()
  y = Pow(h, three))",
       "", 2e-3},
      {"Pow(x, 1)", R"(one = Constant <value = float {1.0}> ()
  y = Pow(h, one))",
       "", 1e-4},
      {"Abs (2 relu(x) - x)", "y = Abs(h)", "", 1e-4},
      {"Max of a shared value and a model tensor", "y = Max(h, g)", gain, 1e-4},
      {"Min of three, one a public constant",
       R"(c = Constant <value = float {0.25}> ()
  y = Min(h, g, c))",
       gain, 1e-4},
      {"Mean of two", "y = Mean(h, g)", gain, 1e-4},
      {"ReduceMax over the last axis (the max kernel)",
       "m = ReduceMax <axes = [-1]> (h)\n y = Sub(h, m)", "", 1e-4},
      {"ReduceMax, keepdims = 0", R"(ax = Constant <value = int64[1] {-1}> ()
  m = ReduceMax <axes = [-1], keepdims = 0> (h)
  u = Unsqueeze(m, ax)
  y = Sub(h, u))",
       "", 1e-4},
      {"Reciprocal of a model tensor (folded: a weight)",
       "r = Reciprocal(g)\n y = Mul(h, r)", gain, 1e-3},
      {"RMSNorm, HF LLaMA (x * (1 / sqrt(mean(x^2) + eps)) * g)",
       R"(two = Constant <value = float {2.0}> ()
  p = Pow(h, two)
  m = ReduceMean <axes = [-1]> (p)
  eps = Constant <value = float {0.000001}> ()
  a = Add(m, eps)
  s = Sqrt(a)
  one = Constant <value = float {1.0}> ()
  r = Div(one, s)
  n = Mul(h, r)
  y = Mul(g, n))",
       gain, 2e-3},
      {"RMSNorm, x / sqrt(mean(x * x) + eps), no gain",
       R"(p = Mul(h, h)
  m = ReduceMean <axes = [-1]> (p)
  eps = Constant <value = float {0.00001}> ()
  a = Add(eps, m)
  s = Sqrt(a)
  y = Div(h, s))",
       "", 2e-3},
  };
  // The input plus a model bias: shared data, as inside a model.
  for (const Case &c : cases) {
    INFO(c.name);
    std::string text = fmt::format(
        R"(<ir_version: 8, opset_import: ["" : 14]>
g (float[2, 3, 16] x) => (float[2, 3, 16] y)
<float[16] b = {{{}}}{}{}>
{{
  h = Add(x, b)
  {}
}}
)",
        values(16, -0.5, 0.5, 5), c.inits.empty() ? "" : ", ", c.inits, c.body);
    double err = secureVsFloat(text, {{"x", uniform({2, 3, 16}, -3, 3, 11)}});
    INFO("max |secure - float| " << err);
    CHECK(err <= c.bound);
  }
}

namespace {

/// Imports \p text, runs it securely on x = [1, -2, 0.5, 3] and returns
/// every output by the name the client reads it by.
std::map<std::string, HostTensor> namedOutputs(const std::string &text) {
  return runSecureAll(importOnnxText(text, {}, "case.onnxtext"),
                      {{"x", HostTensor::floats({1, 4}, {1, -2, 0.5, 3})}});
}

/// \p got (by name) holds \p name with the values \p want.
void checkOutput(const std::map<std::string, HostTensor> &got,
                 const std::string &name, std::vector<double> want) {
  INFO("output " << name);
  auto it = got.find(name);
  REQUIRE(it != got.end());
  REQUIRE(it->second.f.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i)
    CHECK(std::abs(it->second.f[i] - want[i]) < 1e-3);
}

} // namespace

// x [1, 4] times w = [[1, 2], [3, 4], [5, 6], [7, 8]]: t = [18.5, 21].
TEST_CASE("graph outputs keep their ONNX names whatever computes them",
          "[e2e]") {
  SECTION("outputs of Identity, Dropout and Cast") {
    auto out = namedOutputs(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 4] x) => (float[1, 2] y, float[1, 2] z, float[1, 4] xi,
                      float[1, 2] t)
<float[4, 2] w = {1, 2, 3, 4, 5, 6, 7, 8}>
{
  t = MatMul(x, w)
  y = Identity(t)
  z = Dropout(t)
  xi = Cast<to = 1>(x)
}
)");
    CHECK(out.size() == 4);
    checkOutput(out, "t", {18.5, 21});
    checkOutput(out, "y", {18.5, 21});
    checkOutput(out, "z", {18.5, 21});
    checkOutput(out, "xi", {1, -2, 0.5, 3});
  }
  SECTION("a Constant as a graph output") {
    auto out = namedOutputs(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 4] x) => (float[1, 2] y, float[2] c, float[1, 4] x2)
<float[4, 2] w = {1, 2, 3, 4, 5, 6, 7, 8}>
{
  y = MatMul(x, w)
  c = Constant<value = float[2] {3, 4}>()
  x2 = Identity(x)
}
)");
    CHECK(out.size() == 3);
    checkOutput(out, "y", {18.5, 21});
    checkOutput(out, "c", {3, 4});
    checkOutput(out, "x2", {1, -2, 0.5, 3});
  }
  SECTION("Split to several graph outputs") {
    auto out = namedOutputs(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 4] x) => (float[1, 2] a, float[1, 2] b, float[1, 1] c,
                      float[1, 1] d)
<float[4, 2] w = {1, 2, 3, 4, 5, 6, 7, 8}>
{
  a, b = Split<axis = 1>(x)
  t = MatMul(x, w)
  c, d = Split<axis = 1>(t)
}
)");
    CHECK(out.size() == 4);
    checkOutput(out, "a", {1, -2});
    checkOutput(out, "b", {0.5, 3});
    checkOutput(out, "c", {18.5});
    checkOutput(out, "d", {21});
  }
}
