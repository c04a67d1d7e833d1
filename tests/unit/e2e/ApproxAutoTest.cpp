//===- tests/unit/e2e/ApproxAutoTest.cpp - --approx auto ------------------===//
//
// --approx auto --max-error E on the committed BERT fixture, calibrated on
// its own input and checked in the real two-party run on held-out inputs
// (the fixture's tokens in other orders): each choice meets its budget
// there, never takes an entry that needs a trained model, is never dearer
// than the defaults, and the plan records it; a looser budget buys a
// strictly cheaper plan; a budget below the best reachable error is
// refused naming it. Calibration files holding several batches of the
// model's input shape are cut into them, and the search's error is the
// worst batch's.
//
//===----------------------------------------------------------------------===//

#include "driver/ApproxAuto.h"
#include "driver/Compile.h"
#include "frontend/OnnxImporter.h"
#include "ir/IR.h"
#include "passes/ApproxChoice.h"
#include "runtime/plan/InProcess.h"
#include "runtime/plan/PlanReader.h"
#include "support/Tensor.h"
#include "tests/unit/e2e/FixtureInputs.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace mpc;

namespace {

const std::string kDir =
    std::string(MPCC_FIXTURES_DIR) + "/bert_17_erf_mask_static";

std::map<std::string, HostTensor> fixtureInputs() {
  return mpc::testing::fixtureInputs(kDir);
}

/// Held-out inputs: the fixture's real tokens between [CLS] and [SEP] (its
/// unmasked positions but the first and last) reversed, or rotated by 3.
std::vector<std::map<std::string, HostTensor>> heldOutInputs() {
  auto in = fixtureInputs();
  const HostTensor &mask = in.at("attention_mask");
  int64_t len = 0;
  for (size_t i = 0; i < mask.i.size(); ++i)
    len += mask.i[i] != 0;
  REQUIRE(len > 4);
  std::vector<std::map<std::string, HostTensor>> out(2, in);
  auto &rev = out[0].at("input_ids").i;
  std::reverse(rev.begin() + 1, rev.begin() + len - 1);
  auto &rot = out[1].at("input_ids").i;
  std::rotate(rot.begin() + 1, rot.begin() + 4, rot.begin() + len - 1);
  REQUIRE(rev != in.at("input_ids").i);
  REQUIRE(rot != in.at("input_ids").i);
  return out;
}

std::unique_ptr<Graph>
importFixture(const std::map<std::string, HostTensor> &in) {
  ImportOptions iopts;
  for (auto &[name, t] : in)
    iopts.inputShapes[name] = t.shape;
  auto g = importOnnxFile(kDir + "/model.onnx", iopts);
  if (!g)
    FAIL(llvm::toString(g.takeError()));
  return std::move(*g);
}

/// chooseApproxAuto for \p g on \p samples at \p budget, priced on lan;
/// fails the test on an error.
AutoChoice chooseOnLan(const Graph &g, SampleBatches samples,
                       const CompileOptions &base, double budget) {
  auto net = parseNetworkModel("lan");
  REQUIRE(bool(net));
  auto choice = chooseApproxAuto(g, samples, base, budget, *net);
  if (!choice)
    FAIL(llvm::toString(choice.takeError()));
  return std::move(*choice);
}

/// Max |secure - float| of the logits with \p opts; \p planOptions gets
/// the plan's options.
double secureError(const std::map<std::string, HostTensor> &in,
                   const CompileOptions &opts,
                   std::map<std::string, std::string> *planOptions = nullptr) {
  std::unique_ptr<Graph> g = importFixture(in);
  auto floatOut = interpretGraph(*g, in);
  if (!floatOut)
    FAIL(llvm::toString(floatOut.takeError()));
  auto emitted = compileGraph(*g, opts, "fixture");
  if (!emitted)
    FAIL(llvm::toString(emitted.takeError()));
  if (planOptions)
    for (const auto &[k, v] : emitted->plan.options())
      (*planOptions)[k] = v;
  auto plan = rt::loadPlan(emitted->plan, "fixture");
  if (!plan)
    FAIL(llvm::toString(plan.takeError()));
  auto res = rt::runInProcess(*plan, emitted->weights, in, {});
  if (!res)
    FAIL(llvm::toString(res.takeError()));
  const HostTensor &got = res->outputs.begin()->second;
  const HostTensor &want = floatOut->front();
  return mpc::testing::maxAbsDiff(got, want);
}

/// Chooses for the fixture at \p budget on \p netSpec, calibrated on
/// \p in, checks the choice and its secure run on every \p heldOut;
/// returns it.
AutoChoice
chooseAndRun(const std::map<std::string, HostTensor> &in,
             const std::vector<std::map<std::string, HostTensor>> &heldOut,
             double budget, const char *netSpec) {
  INFO("--max-error " << budget << " --net " << netSpec);
  auto net = parseNetworkModel(netSpec);
  REQUIRE(bool(net));
  CompileOptions base;
  std::unique_ptr<Graph> g = importFixture(in);
  auto choice = chooseApproxAuto(*g, in, base, budget, *net);
  if (!choice)
    FAIL(llvm::toString(choice.takeError()));
  std::string table;
  llvm::raw_string_ostream os(table);
  printAutoChoice(*choice, budget, os);
  WARN(os.str());
  CHECK(choice->error <= budget);
  CHECK(choice->seconds <= choice->baseSeconds);
  for (const AutoOpChoice &o : choice->ops)
    CHECK_FALSE(rt::approxInfo(o.approx).needsTraining);
  CompileOptions opts = base;
  applyAutoChoice(*choice, budget, opts);
  std::map<std::string, std::string> planOptions;
  for (const auto &sample : heldOut) {
    double err = secureError(sample, opts, &planOptions);
    WARN("held-out sample, secure vs float: " << err);
    CHECK(err <= budget);
  }
  // The plan records the choice: the budget, and a rule per swapped op.
  CHECK_THAT(planOptions["approx"], Catch::Matchers::Contains("auto"));
  for (const AutoOpChoice &o : choice->ops)
    if (o.approx != o.base) {
      std::string key =
          "approx." + rt::approxKindName(o.kind).str() + "@" + o.node;
      CHECK(planOptions[key] == rt::approxInfo(o.approx).shortName);
    }
  return std::move(*choice);
}

size_t swapped(const AutoChoice &c) {
  return size_t(llvm::count_if(
      c.ops, [](const AutoOpChoice &o) { return o.approx != o.base; }));
}

} // namespace

TEST_CASE("the auto choice meets its budget in the two-party run",
          "[e2e][approx-auto]") {
  auto in = fixtureInputs();
  auto heldOut = heldOutInputs();
  // On a LAN rounds dominate: layernorm.puma and layernorm.spulow (SPU's
  // rsqrt guesses without a Newton step) and softmax.goldschmidt1 save a
  // round or two each. The reserves (ApproxAuto.h) keep layernorm.spulow,
  // which the registry allows 2-3x the error the sample shows, out of
  // the 5e-3 and 1e-2 choices (simulated on the calibration sample:
  // 1.2e-3 and 1.8e-3, up to 3.9e-3 and 8.8e-3 with the rounding noise,
  // 2e-4, and the reserves; held out, two-party: 2.2e-3 .. 3.0e-3 and
  // 1.4e-3 .. 2.8e-3); at 1e-1 the LayerNorms take it (simulated 1.2e-2,
  // up to 4.4e-2; held out 1.4e-3 and 1.07e-2). Without the reserves the
  // 5e-3 choice took one held-out sample to 6.1e-3.
  AutoChoice tighter = chooseAndRun(in, heldOut, 5e-3, "lan");
  AutoChoice tight = chooseAndRun(in, heldOut, 1e-2, "lan");
  CHECK(tighter.seconds < tighter.baseSeconds);
  CHECK(tight.seconds <= tighter.seconds);
  AutoChoice loose = chooseAndRun(in, heldOut, 1e-1, "lan");
  CHECK(tight.seconds < tight.baseSeconds);
  CHECK(loose.seconds < tight.seconds);
  CHECK(loose.error > tight.error);
  // On a slow link bytes dominate as well; the cheaper entries are taken
  // there too.
  AutoChoice slow = chooseAndRun(in, heldOut, 1e-1, "bw=0.01,rtt=0.1");
  CHECK(swapped(slow) > 0);
  CHECK(slow.seconds < slow.baseSeconds);
}

TEST_CASE("over budget at the defaults, auto lowers the error with the "
          "cheapest entries first",
          "[e2e][approx-auto]") {
  // At 2e-3 the defaults (2.0e-3 simulated, + 2e-4 of rounding noise) are
  // over budget. The LayerNorm and softmax entries that lower the error
  // also save rounds; gelu.sigmoid lowers it most but costs 1.1 ms more.
  // Taking the cheap ones first reaches the budget without it (it used
  // to take gelu.sigmoid first: 12.875 ms against the defaults' 12.413).
  auto in = fixtureInputs();
  std::unique_ptr<Graph> g = importFixture(in);
  AutoChoice choice = chooseOnLan(*g, in, CompileOptions(), 2e-3);
  CHECK(choice.baseError + choice.noise > 2e-3);
  CHECK(choice.bound() <= 2e-3);
  CHECK(choice.seconds < choice.baseSeconds);
  for (const AutoOpChoice &o : choice.ops)
    CHECK(o.approx != rt::Approximation::GeluSigmoid);
}

TEST_CASE("the auto choice refuses a budget it cannot meet, naming the best",
          "[e2e][approx-auto]") {
  auto in = fixtureInputs();
  auto net = parseNetworkModel("lan");
  REQUIRE(bool(net));
  std::unique_ptr<Graph> g = importFixture(in);
  auto impossible = chooseApproxAuto(*g, in, CompileOptions(), 1e-9, *net);
  REQUIRE(!impossible);
  std::string msg = llvm::toString(impossible.takeError());
  CHECK_THAT(msg, Catch::Matchers::Contains("best reachable error"));
  CHECK_THAT(msg, Catch::Matchers::Contains("1e-09"));
}

/// \p a and \p b stacked along the first axis.
static HostTensor stack(const HostTensor &a, const HostTensor &b) {
  HostTensor t = a;
  t.shape[0] += b.shape[0];
  t.f.insert(t.f.end(), b.f.begin(), b.f.end());
  t.i.insert(t.i.end(), b.i.begin(), b.i.end());
  return t;
}

TEST_CASE("calibration files with several batches are cut into them; the "
          "error is the worst batch's",
          "[e2e][approx-auto]") {
  auto in = fixtureInputs();
  auto heldOut = heldOutInputs();
  std::unique_ptr<Graph> g = importFixture(in);
  std::map<std::string, HostTensor> files;
  for (const auto &[name, t] : in)
    files[name] = stack(t, heldOut[0].at(name));
  auto batches = bindCalibration(*g, files);
  if (!batches)
    FAIL(llvm::toString(batches.takeError()));
  REQUIRE(batches->size() == 2);
  for (const auto &[name, t] : in) {
    CHECK((*batches)[0].at(name).i == t.i);
    CHECK((*batches)[1].at(name).i == heldOut[0].at(name).i);
    CHECK((*batches)[1].at(name).shape == t.shape);
  }

  auto errorOn = [&](llvm::ArrayRef<std::map<std::string, HostTensor>> b) {
    return chooseOnLan(*g, b, CompileOptions(), 1e-1).baseError;
  };
  double both = errorOn(*batches);
  double first = errorOn(llvm::ArrayRef(*batches).take_front());
  double second = errorOn(llvm::ArrayRef(*batches).take_back());
  CHECK(first != second);
  CHECK(both == std::max(first, second));

  // Every input must hold the same number of batches.
  files["attention_mask"] = in.at("attention_mask");
  auto uneven = bindCalibration(*g, files);
  REQUIRE(!uneven);
  std::string msg = llvm::toString(uneven.takeError());
  CHECK_THAT(msg, Catch::Matchers::Contains("give every input the same "
                                            "number of samples"));
  CHECK_THAT(msg, Catch::Matchers::Contains("attention_mask"));

  // Rows that are not whole batches, a shape that is not rows of the
  // input's, and a missing input are refused naming the input.
  auto refused = [&](std::map<std::string, HostTensor> f) {
    auto b = bindCalibration(*g, std::move(f));
    REQUIRE(!b);
    return llvm::toString(b.takeError());
  };
  std::map<std::string, HostTensor> wrong = in;
  HostTensor ids = in.at("input_ids");
  ids.shape = {ids.shape[1]}; // Rank 1.
  wrong["input_ids"] = ids;
  CHECK_THAT(refused(wrong),
             Catch::Matchers::Contains("'input_ids' has shape"));
  std::map<std::string, HostTensor> empty = in;
  HostTensor none = in.at("input_ids");
  none.shape[0] = 0;
  none.i.clear();
  empty["input_ids"] = none;
  CHECK_THAT(refused(empty),
             Catch::Matchers::Contains("'input_ids' has 0 rows, not a positive "
                                       "multiple of the model's batch of 1"));
  std::map<std::string, HostTensor> missing = in;
  missing.erase("attention_mask");
  CHECK_THAT(refused(missing),
             Catch::Matchers::Contains("no file for the model's input "
                                       "'attention_mask'"));
}

TEST_CASE("with --exact-truncation the auto choice is priced and simulated "
          "with exact truncations",
          "[e2e][approx-auto][exact]") {
  auto in = fixtureInputs();
  auto heldOut = heldOutInputs();
  std::unique_ptr<Graph> g = importFixture(in);
  AutoChoice fast = chooseOnLan(*g, in, CompileOptions(), 1e-1);
  CompileOptions exact;
  exact.exactTruncation = true;
  AutoChoice choice = chooseOnLan(*g, in, exact, 1e-1);
  // Exact truncations cost rounds; and they draw nothing, so the run has
  // no rounding noise.
  CHECK(choice.baseSeconds > fast.baseSeconds);
  CHECK(fast.noise > 0);
  CHECK(choice.noise == 0);
  CHECK(choice.bound() <= 1e-1);
  CompileOptions opts = exact;
  applyAutoChoice(choice, 1e-1, opts);
  for (const auto &sample : heldOut) {
    double err = secureError(sample, opts);
    WARN("exact, held-out sample, secure vs float: " << err);
    CHECK(err <= 1e-1);
    // Deterministic: a second run gives the same output.
    CHECK(secureError(sample, opts) == err);
  }
}

TEST_CASE("with local work priced, auto ranks entries by network and local "
          "time together",
          "[e2e][approx-auto]") {
  // Rates calibrated as a profile would (--work-profile): GeLU's and
  // softmax's local work weighs 5x what the reference rates say. Each op
  // is then priced by its rounds and bytes plus that local work, so every
  // figure is above the network-only one, and the choice is still never
  // dearer than the defaults under the same pricing.
  auto in = fixtureInputs();
  auto net = parseNetworkModel("lan");
  REQUIRE(bool(net));
  std::unique_ptr<Graph> g = importFixture(in);
  LocalRates rates = referenceRates();
  rates.kernelFactor = {{"gelu", 5.0}, {"softmax", 5.0}};
  rates.otherKernels = 2.0;
  rates.calibratedBy = "test-profile.json";
  auto priced = chooseApproxAuto(*g, in, CompileOptions(), 1e-1, *net, rates);
  REQUIRE(bool(priced));
  AutoChoice plain = chooseOnLan(*g, in, CompileOptions(), 1e-1);
  CHECK_THAT(priced->pricedOn,
             Catch::Matchers::Contains("local work calibrated by "
                                       "test-profile.json"));
  CHECK(plain.pricedOn == net->name);
  CHECK(priced->baseSeconds > plain.baseSeconds);
  CHECK(priced->seconds <= priced->baseSeconds);
  CHECK(priced->bound() <= 1e-1);
  // Every op's default is priced above its network-only time.
  for (size_t i = 0; i < priced->ops.size(); ++i) {
    const AutoOpChoice &o = priced->ops[i];
    INFO(o.node);
    REQUIRE(plain.ops[i].node == o.node);
    CHECK(o.baseSeconds > plain.ops[i].baseSeconds);
  }
}
