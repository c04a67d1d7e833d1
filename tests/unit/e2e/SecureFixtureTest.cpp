//===- tests/unit/e2e/SecureFixtureTest.cpp - Secure run vs PyTorch -------===//
//
// Compiles every committed fixture (real PyTorch exports) with the default
// pipeline and runs the plan between party 0, party 1 and the dealer
// (threads over in-memory channels: the same messages as mpc-run's
// processes), then checks:
//  - the client's logits are within 1e-2 of PyTorch's, with the same argmax
//    (Argmax.h), for every input set (dynamic exports at two shapes);
//  - repeated runs (fresh randomness each time) have no outlier, and with
//    --exact-truncation give bit-identical logits;
//  - every op's measured rounds and bytes equal the plan's cost formula;
//  - the same with each nonlinear op's own scale (--frac-bits auto,
//    calibrated on the input it runs);
//  - the plan holds no weight: it is byte-identical for different weights
//    (every fixture with new values in every initializer; a small model
//    with a one-label head's scalar bias, an int8 weight, a weight in a
//    Constant node and learned scalars that multiply and divide
//    activations), and the weights file is what differs.
//
//===----------------------------------------------------------------------===//

#include "Argmax.h"
#include "backend/EmitPlan.h"
#include "driver/Compile.h"
#include "frontend/OnnxImporter.h"
#include "ir/IR.h"
#include "passes/ApproxChoice.h"
#include "passes/RangeCheck.h"
#include "runtime/plan/InProcess.h"
#include "runtime/plan/Kernel.h"
#include "runtime/plan/PlanReader.h"
#include "runtime/protocols/Nonlinear.h"
#include "support/Tensor.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

using namespace mpc;
namespace fs = std::filesystem;

namespace {

const char *kInputNames[] = {"input_ids", "token_type_ids", "attention_mask"};

struct Fixture {
  std::string dir;
  std::map<std::string, HostTensor> inputs;
  HostTensor logits;
};

/// The fixture's input sets: "" (set a) and ".b" (set b, dynamic exports).
std::vector<Fixture> inputSets(const std::string &dir) {
  std::vector<Fixture> sets;
  for (std::string suffix : {"", ".b"}) {
    if (!fs::exists(dir + "/logits" + suffix + ".npy"))
      continue;
    Fixture f{dir, {}, {}};
    for (const char *name : kInputNames) {
      std::string path = dir + "/" + name + suffix + ".npy";
      if (!fs::exists(path))
        continue;
      auto t = readNpy(path);
      REQUIRE(bool(t));
      f.inputs[name] = std::move(*t);
    }
    auto l = readNpy(dir + "/logits" + suffix + ".npy");
    REQUIRE(bool(l));
    f.logits = std::move(*l);
    sets.push_back(std::move(f));
  }
  return sets;
}

std::vector<std::string> fixtureDirs() {
  std::vector<std::string> dirs;
  for (auto &e : fs::directory_iterator(MPCC_FIXTURES_DIR))
    if (fs::exists(e.path() / "model.onnx"))
      dirs.push_back(e.path().string());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

/// Default pipeline + backend on an imported graph.
EmittedPlan compileGraph(llvm::Expected<std::unique_ptr<Graph>> g,
                         const CompileOptions &copts = {}) {
  if (!g)
    FAIL(llvm::toString(g.takeError()));
  auto emitted = mpc::compileGraph(**g, copts, "fixture");
  if (!emitted)
    FAIL(llvm::toString(emitted.takeError()));
  return std::move(*emitted);
}

/// The import options that bind a fixture's input shapes.
ImportOptions shapesOf(const Fixture &f) {
  ImportOptions opts;
  for (auto &[name, t] : f.inputs)
    opts.inputShapes[name] = t.shape;
  return opts;
}

/// Import + default pipeline + backend, all in memory.
EmittedPlan compileFixture(const Fixture &f, const CompileOptions &copts = {}) {
  return compileGraph(importOnnxFile(f.dir + "/model.onnx", shapesOf(f)),
                      copts);
}

rt::InProcessResult runSecure(const rt::LoadedPlan &plan,
                              const EmittedPlan &emitted,
                              const std::map<std::string, HostTensor> &in,
                              rt::RunOptions opts = {}) {
  auto res = rt::runInProcess(plan, emitted.weights, in, std::move(opts));
  if (!res)
    FAIL(llvm::toString(res.takeError()));
  REQUIRE(res->outputs.size() == 1);
  return std::move(*res);
}

/// The main fixture's input set, compiled and loaded.
struct MainFixture {
  Fixture set;
  EmittedPlan emitted;
  rt::LoadedPlan plan;
};
MainFixture mainFixture() {
  std::vector<Fixture> sets =
      inputSets(std::string(MPCC_FIXTURES_DIR) + "/bert_17_erf_mask_static");
  REQUIRE(sets.size() == 1);
  EmittedPlan emitted = compileFixture(sets[0]);
  auto plan = rt::loadPlan(emitted.plan, "fixture");
  if (!plan)
    FAIL(llvm::toString(plan.takeError()));
  return {std::move(sets[0]), std::move(emitted), std::move(*plan)};
}

double maxAbsError(const HostTensor &a, const HostTensor &b) {
  REQUIRE(a.shape == b.shape);
  double m = 0;
  for (size_t i = 0; i < a.f.size(); ++i)
    m = std::max(m, std::abs(a.f[i] - b.f[i]));
  return m;
}

/// Every op's measured traffic and the run's totals equal the plan's cost
/// formulas, exactly.
void checkMeasuredIsPredicted(const rt::LoadedPlan &plan,
                              const rt::InProcessResult &res) {
  REQUIRE(res.party0.ops.size() == plan.ops.size());
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    rt::Cost c = rt::opCost(plan, i);
    const rt::OpProfile &m = res.party0.ops[i];
    INFO("op " << plan.ops[i].describe());
    CHECK(m.rounds == c.rounds);
    CHECK(m.bytes01 == c.bytes01);
    CHECK(m.bytes10 == c.bytes10);
  }
  rt::Cost total = rt::planCost(plan);
  CHECK(res.profile.onlineRounds == total.rounds);
  CHECK(res.profile.onlineBytes01 == total.bytes01);
  CHECK(res.profile.onlineBytes10 == total.bytes10);
  CHECK(res.profile.dealerBytes1 == total.dealerBytes1);
}

/// One secure run of \p f: logits within 1e-2 of PyTorch's with the same
/// argmax, and every op's measured traffic its cost formula, exactly.
void checkSecureRun(const rt::LoadedPlan &plan, const EmittedPlan &emitted,
                    const Fixture &f) {
  rt::InProcessResult res = runSecure(plan, emitted, f.inputs);
  const HostTensor &out = res.outputs.begin()->second;
  double err = maxAbsError(out, f.logits);
  INFO("max abs error vs PyTorch " << err);
  CHECK(err <= 1e-2);
  CHECK(test::argmaxMismatches(out, f.logits) == std::vector<std::string>{});
  checkMeasuredIsPredicted(plan, res);
}

} // namespace

TEST_CASE("secure two-party logits match PyTorch on every fixture", "[e2e]") {
  for (const std::string &dir : fixtureDirs()) {
    for (const Fixture &f : inputSets(dir)) {
      INFO("fixture " << dir << " input shape "
                      << shapeStr(f.inputs.begin()->second.shape));
      EmittedPlan emitted = compileFixture(f);
      auto plan = rt::loadPlan(emitted.plan, "fixture");
      if (!plan)
        FAIL(llvm::toString(plan.takeError()));
      checkSecureRun(*plan, emitted, f);
    }
  }
}

TEST_CASE("every approximation preset runs a fixture end to end", "[e2e]") {
  // A preset of entries that hold for any model runs the main (erf) fixture;
  // one with an entry that needs training runs the fixture distilled with
  // Quad/2Quad, whose recognised forms are what it computes. Each runs
  // securely with the same argmax as PyTorch and traffic equal to its cost.
  // Where the fixture's values stay in the domains of the preset's entries
  // (the compiler's --calibrate check, on the fixture's own input), the
  // logits are within the preset's bound of PyTorch's (measured: accurate
  // 2.0e-3, puma 2.6e-2, mpcformer 8.6e-5, secformer 6.0e-3: its
  // softmax.secformer divides the 2Quad rows by Goldschmidt without a
  // guess, which leaves each probability (1 - y)^128 low). CrypTen's
  // erf-series GeLU holds for |x| <= 2.2 only and BERT's GeLU inputs leave it
  // (logit error 0.6, CrypTen issue #495): the check names it, and the preset
  // with GeLU reset to the default is within 1e-2 (measured 2.4e-3).
  const std::map<std::string, double> bound = {{"accurate", 1e-2},
                                               {"puma", 4e-2},
                                               {"crypten", 1e-2},
                                               {"mpcformer", 1e-2},
                                               {"secformer", 1e-2}};
  const std::map<std::string, std::set<std::string>> outside = {
      {"crypten", {"gelu.crypten"}}};
  for (const ApproxPreset &preset : approxPresets()) {
    INFO("preset " << preset.name);
    REQUIRE(bound.count(preset.name));
    bool training = llvm::any_of(preset.choices, [](const auto &c) {
      return rt::approxInfo(c.second).needsTraining;
    });
    std::string dir = std::string(MPCC_FIXTURES_DIR) +
                      (training ? "/bert_17_mpcformer_mask_static"
                                : "/bert_17_erf_mask_static");
    Fixture f = inputSets(dir).front();
    CompileOptions copts;
    if (llvm::Error e = applyApproxSpec(preset.name, copts))
      FAIL(llvm::toString(std::move(e)));
    auto run = [&](const CompileOptions &o) {
      EmittedPlan emitted = compileFixture(f, o);
      auto plan = rt::loadPlan(emitted.plan, "fixture");
      if (!plan)
        FAIL(llvm::toString(plan.takeError()));
      rt::InProcessResult res = runSecure(*plan, emitted, f.inputs);
      const HostTensor &out = res.outputs.begin()->second;
      CHECK(test::argmaxMismatches(out, f.logits) ==
            std::vector<std::string>{});
      rt::Cost total = rt::planCost(*plan);
      CHECK(res.profile.onlineRounds == total.rounds);
      CHECK(res.profile.onlineBytes01 == total.bytes01);
      CHECK(res.profile.onlineBytes10 == total.bytes10);
      return maxAbsError(out, f.logits);
    };
    double err = run(copts);
    WARN("preset " << preset.name << ": max abs logit error vs PyTorch "
                   << err);

    auto g = importOnnxFile(dir + "/model.onnx", shapesOf(f));
    REQUIRE(bool(g));
    auto report = checkRanges(**g, f.inputs, copts);
    REQUIRE(bool(report));
    std::set<std::string> left;
    for (const DomainObservation &o : report->outsideDomain) {
      left.insert(o.domain.entry->name);
      std::string kind = rt::approxKindName(o.domain.entry->kind).str();
      std::string fallback =
          rt::approxInfo(rt::defaultApprox(o.domain.entry->kind)).shortName;
      REQUIRE(!applyApproxSpec(kind + "=" + fallback, copts));
    }
    auto want = outside.find(preset.name);
    CHECK(left ==
          (want == outside.end() ? std::set<std::string>{} : want->second));
    if (!left.empty()) {
      err = run(copts);
      WARN("preset " << preset.name
                     << " with the entries outside their domain reset: max "
                        "abs logit error vs PyTorch "
                     << err);
    }
    CHECK(err <= bound.at(preset.name));
  }
}

TEST_CASE("per-op scales (frac-bits auto) keep every fixture's logits",
          "[e2e]") {
  // Calibrated on the input it runs (the driver's path: checkCalibration
  // records each op's largest input), every fixture gets at least one
  // GeLU, tanh or softmax at another scale or range than the global one,
  // and still matches PyTorch with traffic equal to its cost.
  for (const std::string &dir : fixtureDirs()) {
    for (const Fixture &f : inputSets(dir)) {
      INFO("fixture " << dir << " input shape "
                      << shapeStr(f.inputs.begin()->second.shape));
      auto g = importOnnxFile(f.dir + "/model.onnx", shapesOf(f));
      REQUIRE(bool(g));
      CompileOptions copts;
      copts.autoScales = true;
      auto batches = bindCalibration(**g, f.inputs);
      REQUIRE(bool(batches));
      REQUIRE(!checkCalibration(**g, *batches, copts, llvm::nulls(),
                                &copts.calibratedInputMax));
      REQUIRE(!copts.calibratedInputMax.empty());
      EmittedPlan emitted = compileGraph(std::move(g), copts);
      auto plan = rt::loadPlan(emitted.plan, "fixture");
      if (!plan)
        FAIL(llvm::toString(plan.takeError()));
      int rescaled = 0;
      for (const rt::OpDesc &op : plan->ops) {
        bool nonlinear = op.hasAttr("compare_bits") || op.hasAttr("input_bits");
        int compare = int(op.attrInt("compare_bits", 0));
        int input = int(op.attrInt("input_bits", 0));
        if (nonlinear &&
            (op.out[0]->frac != copts.fracBits ||
             (compare && compare < rt::compareBitsForRange(copts.fracBits,
                                                           copts.rangeBits)) ||
             (input &&
              input < rt::softmaxInputBits(copts.fracBits, copts.rangeBits))))
          ++rescaled;
      }
      CHECK(rescaled > 0);
      checkSecureRun(*plan, emitted, f);
    }
  }
}

TEST_CASE("offline/online material windows keep logits and traffic", "[e2e]") {
  MainFixture f = mainFixture();
  rt::RunOptions opts;
  opts.materialWindowMiB = 1;
  size_t windows = rt::materialWindows(f.plan, 1).size();
  INFO(windows << " windows of 1 MiB");
  // 1.7 MB of party 1's material since hoist-selections: two windows.
  REQUIRE(windows >= 2);
  rt::InProcessResult res = runSecure(f.plan, f.emitted, f.set.inputs, opts);
  const HostTensor &out = res.outputs.begin()->second;
  CHECK(maxAbsError(out, f.set.logits) <= 1e-2);
  CHECK(test::argmaxMismatches(out, f.set.logits) ==
        std::vector<std::string>{});
  rt::Cost total = rt::planCost(f.plan);
  CHECK(res.profile.onlineRounds == total.rounds);
  CHECK(res.profile.onlineBytes01 == total.bytes01);
  CHECK(res.profile.onlineBytes10 == total.bytes10);
  CHECK(res.profile.dealerBytes1 == total.dealerBytes1);
}

TEST_CASE("twenty secure runs of the main fixture have no outlier", "[e2e]") {
  MainFixture f = mainFixture();
  double worst = 0, best = 1e9;
  for (int run = 0; run < 20; ++run) {
    rt::InProcessResult res = runSecure(f.plan, f.emitted, f.set.inputs);
    double err = maxAbsError(res.outputs.begin()->second, f.set.logits);
    worst = std::max(worst, err);
    best = std::min(best, err);
    CHECK(test::argmaxMismatches(res.outputs.begin()->second, f.set.logits) ==
          std::vector<std::string>{});
  }
  INFO("errors over 20 runs: best " << best << ", worst " << worst);
  CHECK(worst <= 1e-2);
  // Fresh randomness only moves the last fixed-point bits: no run is an
  // outlier against the others.
  CHECK(worst - best <= 2e-3);
}

TEST_CASE("with --exact-truncation reruns give bit-identical logits",
          "[e2e][exact]") {
  std::vector<Fixture> sets =
      inputSets(std::string(MPCC_FIXTURES_DIR) + "/bert_17_erf_mask_static");
  REQUIRE(sets.size() == 1);
  CompileOptions copts;
  copts.exactTruncation = true;
  EmittedPlan emitted = compileFixture(sets[0], copts);
  auto plan = rt::loadPlan(emitted.plan, "fixture");
  if (!plan)
    FAIL(llvm::toString(plan.takeError()));
  // Every op whose protocol truncates is marked, and only those.
  int marked = 0;
  for (const rt::OpDesc &op : plan->ops) {
    INFO("op " << op.describe());
    CHECK(op.attrInt("exact", 0) == (op.kernel->truncates() ? 1 : 0));
    marked += op.kernel->truncates();
  }
  CHECK(marked > 0);
  std::vector<double> first;
  for (int run = 0; run < 2; ++run) {
    rt::InProcessResult res = runSecure(*plan, emitted, sets[0].inputs);
    const HostTensor &out = res.outputs.begin()->second;
    CHECK(maxAbsError(out, sets[0].logits) <= 1e-2);
    CHECK(test::argmaxMismatches(out, sets[0].logits) ==
          std::vector<std::string>{});
    if (run == 0)
      first = out.f;
    else
      CHECK(out.f == first); // the same fixed-point values, every one
    // The exact protocols' traffic is their cost formula, op by op.
    checkMeasuredIsPredicted(*plan, res);
  }
  // The default plan has no `exact` anywhere (it is the plan it was).
  EmittedPlan plain = compileFixture(sets[0]);
  auto p0 = rt::loadPlan(plain.plan, "fixture");
  REQUIRE(bool(p0));
  for (const rt::OpDesc &op : p0->ops)
    CHECK(!op.hasAttr("exact"));
  CHECK(rt::planCost(*p0).rounds < rt::planCost(*plan).rounds);
}

TEST_CASE("the plan holds no weight value", "[e2e]") {
  std::vector<Fixture> sets =
      inputSets(std::string(MPCC_FIXTURES_DIR) + "/bert_17_erf_mask_static");
  EmittedPlan a = compileFixture(sets[0]);
  std::string bytes = rt::serializePlan(a.plan);
  // No encoded weight word (of the non-trivial ones) appears in the plan.
  size_t checked = 0, found = 0;
  for (auto &[id, w] : a.weights)
    for (int64_t i = 0; i < w.size(); i += 7) {
      uint64_t word = w[i];
      if (word < (1u << 10) || word > ~uint64_t(0) - (1u << 10))
        continue; // small values could appear by chance
      ++checked;
      if (bytes.find(std::string(reinterpret_cast<const char *>(&word), 8)) !=
          std::string::npos)
        ++found;
    }
  CHECK(checked > 1000);
  CHECK(found == 0);
  // The weights file is what grows with the model; the plan is small.
  size_t weightBytes = 0;
  for (auto &[id, w] : a.weights)
    weightBytes += w.size() * 8;
  CHECK(bytes.size() * 4 < weightBytes);
}

namespace {

/// Bytes per element of an ONNX tensor data type this test rewrites.
size_t elementBytes(int type) {
  switch (type) {
  case ::onnx::TensorProto::DOUBLE:
  case ::onnx::TensorProto::INT64:
    return 8;
  case ::onnx::TensorProto::FLOAT:
  case ::onnx::TensorProto::INT32:
    return 4;
  case ::onnx::TensorProto::FLOAT16:
  case ::onnx::TensorProto::INT16:
    return 2;
  default:
    return 1;
  }
}

/// \p onnxBytes with other weights: every float initializer gets new
/// values (the old ones times a factor in [0.5, 1.5] plus a small offset),
/// every integer or boolean one a permutation of its values (index buffers
/// stay in range). The architecture is unchanged.
std::string withOtherWeights(const std::string &onnxBytes, unsigned seed) {
  ::onnx::ModelProto m;
  REQUIRE(m.ParseFromString(onnxBytes));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> factor(0.5, 1.5), offset(-0.05, 0.05);
  auto newFloat = [&](double x) { return x * factor(rng) + offset(rng); };
  for (::onnx::TensorProto &t : *m.mutable_graph()->mutable_initializer()) {
    int type = t.data_type();
    if (t.has_raw_data()) {
      std::string &raw = *t.mutable_raw_data();
      size_t w = elementBytes(type), n = raw.size() / w;
      if (type == ::onnx::TensorProto::FLOAT) {
        for (size_t i = 0; i < n; ++i) {
          float x;
          std::memcpy(&x, &raw[i * w], w);
          x = float(newFloat(x));
          std::memcpy(&raw[i * w], &x, w);
        }
      } else if (type == ::onnx::TensorProto::DOUBLE) {
        for (size_t i = 0; i < n; ++i) {
          double x;
          std::memcpy(&x, &raw[i * w], w);
          x = newFloat(x);
          std::memcpy(&raw[i * w], &x, w);
        }
      } else {
        std::vector<std::string> elems;
        for (size_t i = 0; i < n; ++i)
          elems.push_back(raw.substr(i * w, w));
        std::shuffle(elems.begin(), elems.end(), rng);
        raw.clear();
        for (const std::string &e : elems)
          raw += e;
      }
      continue;
    }
    for (float &x : *t.mutable_float_data())
      x = float(newFloat(x));
    for (double &x : *t.mutable_double_data())
      x = newFloat(x);
    std::shuffle(t.mutable_int32_data()->begin(), t.mutable_int32_data()->end(),
                 rng);
    std::shuffle(t.mutable_int64_data()->begin(), t.mutable_int64_data()->end(),
                 rng);
  }
  std::string out;
  REQUIRE(m.SerializeToString(&out));
  return out;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Whether two weight maps hold the same values.
bool sameWeights(const std::map<int32_t, rt::RingTensor> &a,
                 const std::map<int32_t, rt::RingTensor> &b) {
  if (a.size() != b.size())
    return false;
  for (auto &[id, t] : a) {
    auto it = b.find(id);
    if (it == b.end() || it->second.vec() != t.vec())
      return false;
  }
  return true;
}

/// A small model whose learned values come in every form the frontend
/// meets: an int8 weight dequantised by a float scale (a weight-only
/// sub-graph), a bias in a Constant node, a learned temperature that
/// multiplies activations and one that divides them, and a one-label head
/// (Gemm) with a scalar bias. \p v picks one of two weight sets.
std::string smallModel(int v) {
  const char *sets[2][7] = {
      {"3, -2, 1, 0, 2, -1, 1, 1, -3, 2, 0, 1, -1, 2, 2, -2, 1, 0, 0, 3, -1, "
       "1, -2, 2, 2, 0, 1, -1, 3, 1, -2, 1, 0, 2, -1, 1",
       "0.05, 0.04, 0.06, 0.05, 0.03, 0.05", "0.1, -0.2, 0.05, 0.3, -0.1, 0.2",
       "0.7", "1.3", "0.3, -0.2, 0.5, 0.1, -0.4, 0.25", "0.25"},
      {"-1, 2, 3, 1, -2, 0, 2, -1, 1, 3, -3, 2, 0, 1, -2, 1, 2, -1, 3, 0, 1, "
       "-1, 2, -2, 1, 3, 0, 2, -1, -3, 1, 0, 2, 1, -2, 2",
       "0.02, 0.07, 0.05, 0.04, 0.06, 0.03", "-0.3, 0.1, 0.2, -0.05, 0.15, 0.0",
       "1.9", "0.6", "-0.1, 0.35, 0.2, -0.3, 0.05, 0.4", "-1.5"}};
  const char *const *w = sets[v];
  return fmt::format(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 4, 6] x) => (float[1, 1] y)
<int8[6, 6] w8 = {{{}}}, float[6] s8 = {{{}}}, float t = {{{}}},
 float dv = {{{}}}, float[1, 6] wh = {{{}}}, float[1] bh = {{{}}}>
{{
  wf = Cast <to = 1> (w8)
  wq = Mul(wf, s8)
  h = MatMul(x, wq)
  kb = Constant <value = float[6] {{{}}}> ()
  h1 = Add(h, kb)
  h2 = Mul(h1, t)
  h3 = Div(h2, dv)
  p = ReduceMean <axes = [1], keepdims = 0> (h3)
  y = Gemm <transB = 1> (p, wh, bh)
}}
)",
                     w[0], w[1], w[3], w[4], w[5], w[6], w[2]);
}

} // namespace

TEST_CASE("plans of two weight sets of one architecture are byte-identical",
          "[e2e]") {
  for (const std::string &dir : fixtureDirs()) {
    INFO("fixture " << dir);
    Fixture f = inputSets(dir).front();
    std::string onnx = readFile(dir + "/model.onnx");
    std::string other = withOtherWeights(onnx, 7);
    REQUIRE(other != onnx);
    EmittedPlan a = compileGraph(importOnnxBytes(onnx, shapesOf(f), "a"));
    EmittedPlan b = compileGraph(importOnnxBytes(other, shapesOf(f), "b"));
    CHECK(rt::serializePlan(a.plan) == rt::serializePlan(b.plan));
    CHECK_FALSE(sameWeights(a.weights, b.weights));
  }
}

TEST_CASE("scalar and int8 and Constant-node parameters are private to party 0",
          "[e2e]") {
  EmittedPlan a = compileGraph(importOnnxText(smallModel(0), {}, "a"));
  EmittedPlan b = compileGraph(importOnnxText(smallModel(1), {}, "b"));
  // The plan holds the architecture only; the weights file the values.
  CHECK(rt::serializePlan(a.plan) == rt::serializePlan(b.plan));
  REQUIRE(a.weights.size() == b.weights.size());
  for (auto &[id, t] : a.weights) {
    INFO("weight " << id << " " << a.plan.values(id).name());
    CHECK(t.vec() != b.weights.at(id).vec());
  }
  // Learned scalars are private-weight products, and both weight sets
  // compute what the float model does.
  auto plan = rt::loadPlan(a.plan, "small");
  if (!plan)
    FAIL(llvm::toString(plan.takeError()));
  unsigned pwMul = 0;
  for (const rt::OpDesc &op : plan->ops)
    pwMul += op.kernelName() == "pw_mul";
  CHECK(pwMul == 2);
  for (int v = 0; v < 2; ++v) {
    INFO("weight set " << v);
    const EmittedPlan &e = v ? b : a;
    auto g = importOnnxText(smallModel(v), {}, "float");
    if (!g)
      FAIL(llvm::toString(g.takeError()));
    std::mt19937 rng(11 + v);
    std::uniform_real_distribution<double> u(-3, 3);
    std::vector<double> x(24);
    for (double &xi : x)
      xi = u(rng);
    std::map<std::string, HostTensor> in{
        {"x", HostTensor::floats({1, 4, 6}, x)}};
    auto want = interpretGraph(**g, in);
    if (!want)
      FAIL(llvm::toString(want.takeError()));
    rt::InProcessResult res = runSecure(*plan, e, in);
    double err = maxAbsError(res.outputs.begin()->second, want->front());
    INFO("secure " << res.outputs.begin()->second.f[0] << " float "
                   << want->front().f[0]);
    CHECK(err <= 1e-3);
  }
}

TEST_CASE("a compiled plan edited to reveal a narrow product is rejected",
          "[e2e]") {
  // The model owner adds a reveal of the classifier's product, opened in
  // 49 bits: its high bits are garbage that depends on W. The reader
  // refuses the plan at load, naming the reveal and the product.
  MainFixture f = mainFixture();
  plan::Plan p = f.emitted.plan;
  int product = -1, step = 0;
  std::string producer;
  for (const plan::PlanOp &op : p.ops()) {
    step = std::max(step, op.step());
    if (op.kernel() == "pw_linear" && op.attrs().count("ring_bits")) {
      product = op.outputs(0);
      producer = op.onnx_node();
    }
  }
  REQUIRE(product >= 0);
  plan::ValueInfo *v = p.add_values();
  *v = p.values(product);
  v->set_id(p.values_size() - 1);
  v->set_name("leak");
  v->set_vis(plan::VIS_PRIVATE1);
  plan::PlanOp *reveal = p.add_ops();
  reveal->set_kernel("reveal");
  reveal->add_inputs(product);
  reveal->add_outputs(v->id());
  (*reveal->mutable_attrs())["to"].set_i(1);
  reveal->set_step(step + 1);
  reveal->set_onnx_node("/leak");
  plan::PlanOutput *out = p.add_outputs();
  out->set_name("leak");
  out->set_value(v->id());
  out->set_reveal_to(1);
  auto loaded = rt::loadPlan(p, "edited.plan");
  REQUIRE_FALSE(bool(loaded));
  std::string e = llvm::toString(loaded.takeError());
  CHECK_THAT(e, Catch::Contains("'reveal' (onnx node '/leak')"));
  CHECK_THAT(e, Catch::Contains("'pw_linear' (onnx node '" + producer));
  // The plan as compiled loads.
  CHECK(bool(rt::loadPlan(f.emitted.plan, "compiled.plan")));
}
