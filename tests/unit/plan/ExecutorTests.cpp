//===- tests/unit/plan/ExecutorTests.cpp - Whole runs, in-process ---------===//
//
// Runs hand-built plans with the dealer and both parties in three threads
// over in-memory channels, through runDealer / runParty: results against a
// double-precision computation, the measured per-op profile against the
// kernels' cost formulas (exactly), rounds shared within a step, input
// checking, and failures (a disconnecting peer, a different plan) that end
// every role with an error instead of a hang.
//
//===----------------------------------------------------------------------===//
#include "PlanTestUtil.h"

#include "runtime/Dpf.h"
#include "runtime/protocols/Nonlinear.h"

#include <chrono>
#include <future>
#include <thread>

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Matchers::Contains;

namespace {

constexpr int kFrac = 16;

/// x (shared input, [2,4]) -> pw_linear W [4,3] -> trunc -> add bias b [3]
/// -> gelu (puma) -> reveal to party 1. The add and the gelu share a step
/// (a local op feeding an interactive one).
PlanBuilder chainPlan() {
  PlanBuilder b;
  auto S = plan::VIS_SHARED, V0 = plan::VIS_PRIVATE0;
  int x = b.value("x", {2, 4}, kFrac, S);
  int w = b.value("W", {4, 3}, kFrac, V0);
  int bias = b.value("b", {3}, kFrac, V0);
  int y = b.value("xW", {2, 3}, 2 * kFrac, S);
  int t = b.value("xW.t", {2, 3}, kFrac, S);
  int z = b.value("z", {2, 3}, kFrac, S);
  int g = b.value("g", {2, 3}, kFrac, S);
  int out = b.value("out", {2, 3}, kFrac, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  b.op("pw_linear", {x, w}, {y}, 0, "/dense/MatMul");
  setInt(b.op("trunc", {y}, {t}, 1, "/dense/MatMul"), "bits", kFrac);
  b.op("add", {t, bias}, {z}, 2, "/dense/Add");
  setStr(b.op("gelu", {z}, {g}, 2, "/act/Gelu"), "approx", "puma");
  setInt(b.op("reveal", {g}, {out}, 3, "/out"), "to", 1);
  b.output("y", out);
  return b;
}

const std::vector<double> kX = {0.5, -1.25, 2.0, 0.75, -0.3, 1.1, -2.2, 0.05};
const std::vector<double> kW = {0.2,  -0.5, 0.8, 1.0, 0.3,  -0.7,
                                -0.4, 0.6,  0.1, 0.9, -1.1, 0.25};
const std::vector<double> kB = {0.1, -0.2, 0.3};

std::vector<double> chainReference(const std::vector<double> &x = kX) {
  std::vector<double> r;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      double z = kB[j];
      for (int k = 0; k < 4; ++k)
        z += x[i * 4 + k] * kW[k * 3 + j];
      r.push_back(0.5 * z * (1 + std::erf(z / std::sqrt(2.0))));
    }
  return r;
}

WeightMap chainWeights(const LoadedPlan &p) {
  WeightMap w;
  w[1] = fixed(kW, {4, 3}, kFrac);
  w[2] = fixed(kB, {3}, kFrac);
  return w;
}

} // namespace

TEST_CASE("linear -> trunc -> bias -> gelu -> reveal matches doubles",
          "[plan][executor]") {
  LoadedPlan plan = mustLoad(chainPlan());
  REQUIRE(plan.setupWeights.size() == 1); // W; the bias is added locally
  Run3 r = runInProcess(plan, chainWeights(plan),
                        encode1(plan, {{"x", HostTensor::floats({2, 4}, kX)}}));
  requireOk(r);
  const PartyResult &p1 = **r.p1;
  REQUIRE(p1.outputs.count("y"));
  const HostTensor &y = p1.outputs.at("y");
  CHECK(y.shape == std::vector<int64_t>{2, 3});
  CHECK((**r.p0).outputs.empty()); // party 0 learns nothing
  const ApproxInfo *info = approxInfo("gelu.puma");
  REQUIRE(info);
  double tol = info->maxAbsErr + 1e-3; // approximation + fixed point
  std::vector<double> want = chainReference();
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i << ": got " << y.f[i] << ", want " << want[i]);
    CHECK(std::fabs(y.f[i] - want[i]) <= tol);
  }

  SECTION("measured bytes and rounds equal the cost formulas exactly") {
    requireProfileMatchesCost(plan, (**r.p0).profile);
    requireProfileMatchesCost(plan, (**r.p1).profile);
    CHECK((**r.dealer).dealerBytes1 == planCost(plan).dealerBytes1);
    CHECK(planCost(plan).setupBytes01 == 4 * 3 * 8);
    const RunProfile &prof = (**r.p1).profile;
    CHECK(prof.ops[0].node == "/dense/MatMul");
    CHECK(prof.ops[3].kernel == "gelu");
    CHECK(prof.onlineSeconds > 0);
  }
}

TEST_CASE("two truncations in one step take one round", "[plan][executor]") {
  PlanBuilder b;
  auto S = plan::VIS_SHARED, V1 = plan::VIS_PRIVATE1;
  int x = b.value("x", {5}, 32, S);
  int t1 = b.value("t1", {5}, 16, S), t2 = b.value("t2", {5}, 24, S);
  int y1 = b.value("y1", {5}, 16, V1), y2 = b.value("y2", {5}, 24, V1);
  b.input("x", x, "float32");
  setInt(b.op("trunc", {x}, {t1}, 0), "bits", 16);
  setInt(b.op("trunc", {x}, {t2}, 0), "bits", 8);
  setInt(b.op("reveal", {t1}, {y1}, 1), "to", 1);
  setInt(b.op("reveal", {t2}, {y2}, 1), "to", 1);
  b.output("y1", y1);
  b.output("y2", y2);
  std::vector<double> xs = {1.5, -2.25, 1000.0, -0.001, 3.0e4};
  auto run = [&](const PlanBuilder &pb) {
    LoadedPlan plan = mustLoad(pb);
    Run3 r = runInProcess(plan, {},
                          encode1(plan, {{"x", HostTensor::floats({5}, xs)}}));
    requireOk(r);
    requireProfileMatchesCost(plan, (**r.p1).profile);
    for (const char *n : {"y1", "y2"})
      for (size_t i = 0; i < xs.size(); ++i)
        CHECK(std::fabs((**r.p1).outputs.at(n).f[i] - xs[i]) < 1e-4);
    return (**r.p1).profile;
  };
  RunProfile together = run(b);
  CHECK(together.onlineRounds == 2); // one for both truncs, one for reveals
  CHECK(together.ops[0].rounds == 1);
  CHECK(together.ops[1].rounds == 1);

  for (int i = 0; i < 4; ++i)
    b.p.mutable_ops(i)->set_step(i);
  CHECK(run(b).onlineRounds == 4);
}

TEST_CASE("embedding lookups return the table's rows, in one round",
          "[plan][executor]") {
  // Two tables read by two id inputs in different steps: word [10, 3] and
  // type [2, 3] embeddings, added, revealed to party 1.
  PlanBuilder b;
  auto S = plan::VIS_SHARED, V0 = plan::VIS_PRIVATE0, V1 = plan::VIS_PRIVATE1;
  int ids = b.value("input_ids", {1, 4}, 0, V1, true);
  int types = b.value("token_type_ids", {1, 4}, 0, V1, true);
  int words = b.value("word_emb", {10, 3}, kFrac, V0);
  int kinds = b.value("type_emb", {2, 3}, kFrac, V0);
  int e1 = b.value("e1", {1, 4, 3}, kFrac, S);
  int e2 = b.value("e2", {1, 4, 3}, kFrac, S);
  int sum = b.value("sum", {1, 4, 3}, kFrac, S);
  int out = b.value("out", {1, 4, 3}, kFrac, V1);
  b.input("input_ids", ids, "int64");
  b.input("token_type_ids", types, "int64");
  b.op("embed_lookup", {ids, words}, {e1}, 0, "/emb/word");
  b.op("embed_lookup", {types, kinds}, {e2}, 1, "/emb/type");
  b.op("add", {e1, e2}, {sum}, 2, "/emb/add");
  setInt(b.op("reveal", {sum}, {out}, 2, "/out"), "to", 1);
  b.output("y", out);
  LoadedPlan plan = mustLoad(b);
  REQUIRE(plan.setupWeights.size() == 2);

  std::vector<double> w(30), k(6);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = 0.25 * double(i) - 3.0;
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = 10.0 + double(i);
  WeightMap weights;
  weights[words] = fixed(w, {10, 3}, kFrac);
  weights[kinds] = fixed(k, {2, 3}, kFrac);
  std::vector<int64_t> id = {0, 9, 4, 4}, ty = {1, 0, 0, 1};
  Run3 r = runInProcess(
      plan, std::move(weights),
      encode1(plan, {{"input_ids", HostTensor::ints({1, 4}, id)},
                     {"token_type_ids", HostTensor::ints({1, 4}, ty)}}));
  requireOk(r);
  const HostTensor &y = (**r.p1).outputs.at("y");
  for (int t = 0; t < 4; ++t)
    for (int j = 0; j < 3; ++j)
      CHECK(y.f[t * 3 + j] == w[id[t] * 3 + j] + k[ty[t] * 3 + j]);

  requireProfileMatchesCost(plan, (**r.p0).profile);
  requireProfileMatchesCost(plan, (**r.p1).profile);
  Cost total = planCost(plan);
  // One round for both lookups, one for the reveal.
  CHECK(total.rounds == 2);
  CHECK(total.bytesD0 == 2 * 4 * 3 * 8);
  CHECK(total.bytes1D == 4 * (dpfKeyBytes(10) + dpfKeyBytes(2)));
  CHECK((**r.dealer).onlineBytesD0 == total.bytesD0);
  CHECK((**r.dealer).onlineBytes1D == total.bytes1D);
  CHECK(total.dealerBytes1 == 0); // party 1 makes the DPF keys itself

  SECTION("ids outside the table are refused before the run") {
    CHECK_THAT(
        errorOf(encodeInputs(
            plan, 1,
            {{"input_ids", HostTensor::ints({1, 4}, {0, 1, 2, 3})},
             {"token_type_ids", HostTensor::ints({1, 4}, {0, 2, 0, 0})}})),
        Contains("id 2 at index 1 is out of range [0, 2) of"));
  }
}

TEST_CASE("inputs are checked before the run", "[plan][executor]") {
  PlanBuilder b;
  auto V1 = plan::VIS_PRIVATE1;
  int ids = b.value("input_ids", {1, 4}, 0, V1, true);
  int oh = b.value("onehot", {1, 4, 10}, 8, V1);
  b.input("input_ids", ids, "int64");
  setInt(b.op("onehot", {ids}, {oh}, 0), "depth", 10);
  b.output("onehot", oh);
  LoadedPlan plan = mustLoad(b);
  auto enc = [&](std::map<std::string, HostTensor> m) {
    return errorOf(encodeInputs(plan, 1, m));
  };
  CHECK(enc({{"input_ids", HostTensor::ints({1, 4}, {1, 2, 3, 9})}}) == "");
  CHECK_THAT(enc({{"input_ids", HostTensor::ints({1, 3}, {1, 2, 3})}}),
             Contains("input 'input_ids': expected int64[1,4], got "
                      "int64[1,3]"));
  CHECK_THAT(enc({{"input_ids", HostTensor::floats({1, 4}, {1, 2, 3, 4})}}),
             Contains("expected int64[1,4], got float32[1,4]"));
  CHECK_THAT(enc({{"input_ids", HostTensor::ints({1, 4}, {1, 2, 10, 4})}}),
             Contains("id 10 at index 2 is out of range [0, 10)"));
  CHECK_THAT(enc({}), Contains("missing input 'input_ids'"));
  CHECK_THAT(enc({{"input_ids", HostTensor::ints({1, 4}, {1, 2, 3, 4})},
                  {"ids", HostTensor::ints({1}, {0})}}),
             Contains("the plan has no input 'ids'"));
  // Party 0 owns no input here.
  CHECK_THAT(errorOf(encodeInputs(
                 plan, 0, {{"input_ids", HostTensor::ints({1, 4}, {})}})),
             Contains("no input 'input_ids' for party 0"));
}

TEST_CASE("a peer that disconnects mid-run ends both parties with an error",
          "[plan][executor]") {
  PlanBuilder b;
  auto S = plan::VIS_SHARED;
  int x = b.value("x", {8}, 48, S);
  int t1 = b.value("t1", {8}, 32, S), t2 = b.value("t2", {8}, 16, S);
  int y = b.value("y", {8}, 16, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  setInt(b.op("trunc", {x}, {t1}, 0, "/first"), "bits", 16);
  setInt(b.op("trunc", {t1}, {t2}, 1, "/second"), "bits", 16);
  setInt(b.op("reveal", {t2}, {y}, 2, "/out"), "to", 1);
  b.output("y", y);
  LoadedPlan plan = mustLoad(b);
  RunHooks hooks;
  hooks.timeout = std::chrono::seconds(10);
  hooks.onP1Progress = [](MemChannel &peer, const Progress &p) {
    if (p.phase == "online" && p.done >= 1)
      peer.close();
  };
  auto t0 = std::chrono::steady_clock::now();
  Run3 r = runInProcess(
      plan, {},
      encode1(plan, {{"x", HostTensor::floats({8}, {1, 2, 3, 4, 5, 6, 7, 8})}}),
      hooks);
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  CHECK(secs < 5); // failed fast, no timeout
  REQUIRE(!*r.p0);
  std::string e0 = llvm::toString(r.p0->takeError());
  CHECK_THAT(e0, Contains("closed"));
  CHECK_THAT(e0, Contains("party 0: online step 1 (op 1 'trunc' (onnx node "
                          "'/second'))"));
  REQUIRE(!*r.p1);
  CHECK_THAT(llvm::toString(r.p1->takeError()), Contains("closed"));
}

TEST_CASE("parties running different plans fail the handshake",
          "[plan][executor]") {
  LoadedPlan a = mustLoad(chainPlan());
  PlanBuilder other = chainPlan();
  other.p.set_model_name("another model");
  LoadedPlan bplan = mustLoad(other);
  auto [a0, a1] = MemChannel::pair();
  auto [b0, bd] = MemChannel::pair();
  auto [c1, cd] = MemChannel::pair();
  for (MemChannel *ch :
       {a0.get(), a1.get(), b0.get(), bd.get(), c1.get(), cd.get()})
    ch->setTimeout(std::chrono::seconds(10));
  auto fd = std::async(std::launch::async, [&] {
    auto r = runDealer(a, *bd, *cd);
    bd->close();
    cd->close();
    return r;
  });
  auto f1 = std::async(std::launch::async, [&] {
    PartyData d;
    d.inputs = encode1(bplan, {{"x", HostTensor::floats({2, 4}, kX)}});
    auto r = runParty(1, bplan, std::move(d), *a1, *c1);
    a1->close();
    c1->close();
    return r;
  });
  PartyData d0;
  d0.weights = chainWeights(a);
  auto r0 = runParty(0, a, std::move(d0), *a0, *b0);
  a0->close();
  b0->close();
  auto r1 = f1.get();
  auto rd = fd.get();
  CHECK_THAT(errorOf(std::move(r1)), Contains("runs a different plan"));
  CHECK_THAT(errorOf(std::move(rd)), Contains("runs a different plan"));
  CHECK(errorOf(std::move(r0)).size() > 0);
}

TEST_CASE("revealing to both parties hands party 0 the outputs",
          "[plan][executor]") {
  LoadedPlan plan = mustLoad(chainPlan());
  RunHooks hooks;
  hooks.opts0.revealToBoth = hooks.opts1.revealToBoth = true;
  Run3 r = runInProcess(plan, chainWeights(plan),
                        encode1(plan, {{"x", HostTensor::floats({2, 4}, kX)}}),
                        hooks);
  requireOk(r);
  REQUIRE((**r.p0).outputs.count("y"));
  CHECK((**r.p0).outputs.at("y").f == (**r.p1).outputs.at("y").f);
  CHECK((**r.p0).profile.outputRounds == 1);
  CHECK((**r.p1).profile.outputBytes10 == 6 * 8);

  // Disagreeing on the option fails the handshake on both sides.
  hooks.opts0.revealToBoth = false;
  Run3 bad = runInProcess(
      plan, chainWeights(plan),
      encode1(plan, {{"x", HostTensor::floats({2, 4}, kX)}}), hooks);
  CHECK_THAT(errorOf(std::move(*bad.p0)), Contains("--reveal-to-both"));
  CHECK_THAT(errorOf(std::move(*bad.p1)), Contains("--reveal-to-both"));
}

TEST_CASE("material windows cut the steps by dealer bytes",
          "[plan][executor]") {
  // Five truncations of 80 Ki elements in five steps: each deals 1.25 MiB
  // to party 1, so a 1 MiB window holds one step and a 3 MiB window two.
  PlanBuilder b;
  auto S = plan::VIS_SHARED;
  const int64_t n = 80 * 1024;
  int x = b.value("x", {n}, 32, S);
  b.input("x", x, "float32");
  int prev = x;
  for (int i = 0; i < 5; ++i) {
    int t = b.value("t" + std::to_string(i), {n}, 32 - 2 * (i + 1), S);
    setInt(b.op("trunc", {prev}, {t}, i), "bits", 2);
    prev = t;
  }
  int y = b.value("y", {n}, 22, plan::VIS_PRIVATE1);
  setInt(b.op("reveal", {prev}, {y}, 5), "to", 1);
  b.output("y", y);
  LoadedPlan plan = mustLoad(b);
  REQUIRE(opCost(plan, 0).dealerBytes1 > (uint64_t(1) << 20));
  REQUIRE(opCost(plan, 0).dealerBytes1 < (uint64_t(3) << 19));
  CHECK(materialWindows(plan, 0) == std::vector<StepRange>{{0, 6}});
  CHECK(materialWindows(plan, 1) ==
        std::vector<StepRange>{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 6}});
  CHECK(materialWindows(plan, 3) ==
        std::vector<StepRange>{{0, 2}, {2, 4}, {4, 6}});

  std::vector<double> xs(n);
  for (int64_t i = 0; i < n; ++i)
    xs[i] = double(i % 1000) / 8 - 60;
  auto inputs = encode1(plan, {{"x", HostTensor::floats({n}, xs)}});
  RunHooks whole, windowed;
  windowed.opts0.materialWindowMiB = windowed.opts1.materialWindowMiB = 1;
  Run3 a = runInProcess(plan, {}, inputs, whole);
  Run3 w = runInProcess(plan, {}, inputs, windowed);
  requireOk(a);
  requireOk(w);
  const RunProfile &pa = (**a.p1).profile, &pw = (**w.p1).profile;
  CHECK(pw.onlineRounds == pa.onlineRounds);
  CHECK(pw.onlineBytes01 == pa.onlineBytes01);
  CHECK(pw.onlineBytes10 == pa.onlineBytes10);
  CHECK(pw.dealerBytes1 == pa.dealerBytes1);
  // Five truncations from 32 to 22 fractional bits, each off by at most
  // one unit of its output: within 2^-21 of x.
  const std::vector<double> &out = (**w.p1).outputs.at("y").f;
  double worst = 0;
  for (int64_t i = 0; i < n; ++i)
    worst = std::max(worst, std::abs(out[i] - xs[i]));
  CHECK(worst <= 1.0 / (1 << 21));

  // The parties must cut the same windows.
  windowed.opts0.materialWindowMiB = 2;
  Run3 bad = runInProcess(plan, {}, inputs, windowed);
  CHECK_THAT(errorOf(std::move(*bad.p0)), Contains("material window"));
  CHECK_THAT(errorOf(std::move(*bad.p1)), Contains("material window"));
}

TEST_CASE("a long offline phase does not time out the waiting party",
          "[plan][executor]") {
  // Party 1 takes 0.1 s per op in the offline phase (6 ops), longer in
  // total than the 0.4 s channel timeout: party 0, done first, is kept
  // waiting by the per-op heartbeats, not failed.
  PlanBuilder b;
  auto S = plan::VIS_SHARED;
  int x = b.value("x", {4}, 32, S);
  b.input("x", x, "float32");
  int prev = x;
  for (int i = 0; i < 5; ++i) {
    int t = b.value("t" + std::to_string(i), {4}, 32 - 2 * (i + 1), S);
    setInt(b.op("trunc", {prev}, {t}, i), "bits", 2);
    prev = t;
  }
  int y = b.value("y", {4}, 22, plan::VIS_PRIVATE1);
  setInt(b.op("reveal", {prev}, {y}, 5), "to", 1);
  b.output("y", y);
  LoadedPlan plan = mustLoad(b);
  RunHooks hooks;
  hooks.timeout = std::chrono::milliseconds(400);
  hooks.onP1Progress = [](MemChannel &, const Progress &p) {
    if (p.phase == "offline")
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  };
  Run3 r = runInProcess(
      plan, {}, encode1(plan, {{"x", HostTensor::floats({4}, {1, 2, 3, 4})}}),
      hooks);
  requireOk(r);
  const std::vector<double> &got = (**r.p1).outputs.at("y").f;
  for (int i = 0; i < 4; ++i)
    CHECK(got[i] == Approx(i + 1).margin(1e-5));
}

TEST_CASE("an output truncated by the receiver is exact and the same every run",
          "[plan][executor]") {
  // x W + b opened in a 49-bit ring, floored by party 1 in the clear
  // (reveal trunc_bits): what reveal-before-trunc makes of a classifier.
  PlanBuilder b;
  auto S = plan::VIS_SHARED, V0 = plan::VIS_PRIVATE0;
  int x = b.value("x", {2, 4}, kFrac, S);
  int w = b.value("W", {4, 3}, kFrac, V0);
  int bias = b.value("b", {3}, 2 * kFrac, V0);
  int y = b.value("xW", {2, 3}, 2 * kFrac, S);
  int z = b.value("z", {2, 3}, 2 * kFrac, S);
  int out = b.value("out", {2, 3}, kFrac, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  setInt(b.op("pw_linear", {x, w}, {y}, 0, "/classifier/MatMul"), "ring_bits",
         49);
  b.op("add", {y, bias}, {z}, 1, "/classifier/Add");
  plan::PlanOp &rv = b.op("reveal", {z}, {out}, 1, "/out");
  setInt(rv, "to", 1);
  setInt(rv, "ring_bits", 49);
  setInt(rv, "trunc_bits", kFrac);
  b.output("logits", out);
  LoadedPlan plan = mustLoad(b);

  RingTensor wt = fixed(kW, {4, 3}, kFrac), bt = fixed(kB, {3}, 2 * kFrac);
  RingTensor xt = fixed(kX, {2, 4}, kFrac);
  std::vector<float> first;
  for (int run = 0; run < 3; ++run) {
    WeightMap weights;
    weights[1] = wt;
    weights[2] = bt;
    Run3 r =
        runInProcess(plan, std::move(weights),
                     encode1(plan, {{"x", HostTensor::floats({2, 4}, kX)}}));
    requireOk(r);
    const HostTensor &got = (**r.p1).outputs.at("logits");
    REQUIRE(got.f.size() == 6);
    std::vector<float> now(got.f.begin(), got.f.end());
    if (run == 0) {
      // The exact floor of the fixed-point sum, element by element.
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j) {
          int64_t acc = int64_t(bt[j]);
          for (int k = 0; k < 4; ++k)
            acc += int64_t(xt[i * 4 + k]) * int64_t(wt[k * 3 + j]);
          int64_t floor = acc >> kFrac; // arithmetic: rounds down
          CHECK(now[i * 3 + j] == float(double(floor) / (1 << kFrac)));
        }
      first = now;
    } else {
      CHECK(now == first); // bit-identical
    }
    requireProfileMatchesCost(plan, (**r.p1).profile);
    CHECK((**r.dealer).dealerBytes1 == planCost(plan).dealerBytes1);
  }
  // One direction, 49 bits a value, no truncation material.
  Cost c = opCost(plan, 2);
  CHECK(c.bytes01 == wordBytes((6 * 49 + 63) / 64));
  CHECK(c.bytes10 == 0);
  CHECK(c.dealerBytes1 == 0);
}

namespace {

/// Outputs and profiles of one session of several requests, per role.
struct SessionRun {
  llvm::Error p0 = llvm::Error::success(), p1 = llvm::Error::success(),
              dealer = llvm::Error::success();
  std::vector<PartyResult> r0, r1;
  std::vector<RunProfile> d;
};

/// Runs party 1's \p xs as the requests of one session; party 0 refuses
/// requests from \p refuseFrom on.
void runSession(const LoadedPlan &plan,
                const std::vector<std::vector<double>> &xs, SessionRun &out,
                size_t refuseFrom = SIZE_MAX, bool lastFromParty0 = false) {
  auto [a0, a1] = MemChannel::pair();
  auto [b0, bd] = MemChannel::pair();
  auto [c1, cd] = MemChannel::pair();
  b0->setPeerName("the dealer");
  c1->setPeerName("the dealer");
  bd->setPeerName("party 0");
  cd->setPeerName("party 1");
  auto fd = std::async(std::launch::async, [&] {
    llvm::Error e =
        runDealerSession(plan, *bd, *cd, {}, [&](size_t, RunProfile p) {
          out.d.push_back(std::move(p));
          return llvm::Error::success();
        });
    bd->close();
    cd->close();
    return e;
  });
  auto f1 = std::async(std::launch::async, [&] {
    SessionHooks h;
    h.next = [&](size_t k) -> llvm::Expected<std::optional<Request>> {
      Request r;
      r.inputs = encode1(plan, {{"x", HostTensor::floats({2, 4}, xs[k])}});
      r.last = k + 1 == xs.size();
      return std::optional<Request>(std::move(r));
    };
    h.done = [&](size_t, PartyResult r) {
      out.r1.push_back(std::move(r));
      return llvm::Error::success();
    };
    llvm::Error e = runPartySession(1, plan, {}, *a1, *c1, {}, h);
    a1->close();
    c1->close();
    return e;
  });
  SessionHooks h;
  h.next = [&](size_t k) -> llvm::Expected<std::optional<Request>> {
    if (k >= refuseFrom)
      return std::nullopt;
    Request r;
    r.last = lastFromParty0 && k + 1 == refuseFrom;
    return std::optional<Request>(std::move(r));
  };
  h.done = [&](size_t, PartyResult r) {
    out.r0.push_back(std::move(r));
    return llvm::Error::success();
  };
  out.p0 = runPartySession(0, plan, chainWeights(plan), *a0, *b0, {}, h);
  a0->close();
  b0->close();
  out.p1 = f1.get();
  out.dealer = fd.get();
}

} // namespace

TEST_CASE("several requests share one session and its set-up",
          "[plan][executor][session]") {
  LoadedPlan plan = mustLoad(chainPlan());
  std::vector<std::vector<double>> xs = {
      kX, {1.5, 0.25, -0.5, -1.0, 0.9, -0.6, 0.3, 1.7}, kX};
  SessionRun s;
  runSession(plan, xs, s);
  REQUIRE(errorOf(std::move(s.p0)) == "");
  REQUIRE(errorOf(std::move(s.p1)) == "");
  REQUIRE(errorOf(std::move(s.dealer)) == "");
  REQUIRE(s.r1.size() == 3);
  REQUIRE(s.r0.size() == 3);
  REQUIRE(s.d.size() == 3);
  double tol = approxInfo("gelu.puma")->maxAbsErr + 1e-3;
  for (size_t k = 0; k < xs.size(); ++k) {
    INFO("request " << k + 1);
    // Each request against doubles and against a run of its own.
    std::vector<double> want = chainReference(xs[k]);
    Run3 alone =
        runInProcess(plan, chainWeights(plan),
                     encode1(plan, {{"x", HostTensor::floats({2, 4}, xs[k])}}));
    requireOk(alone);
    const HostTensor &y = s.r1[k].outputs.at("y");
    const HostTensor &y1 = (**alone.p1).outputs.at("y");
    for (size_t i = 0; i < want.size(); ++i) {
      CHECK(std::fabs(y.f[i] - want[i]) <= tol);
      CHECK(std::fabs(y.f[i] - y1.f[i]) <= 2e-3);
    }
    // The online phase of every request costs what the formulas say; the
    // set-up (W - B) is paid by the first request only.
    Cost setup = setupCost(plan);
    REQUIRE(setup.setupBytes01 == 4 * 3 * 8);
    for (RunProfile *p : {&s.r0[k].profile, &s.r1[k].profile}) {
      CHECK(p->onlineRounds == planCost(plan).rounds);
      CHECK(p->onlineBytes01 == planCost(plan).bytes01);
      CHECK(p->setupBytes01 == (k == 0 ? setup.setupBytes01 : 0));
      CHECK(p->setupRounds == (k == 0 ? setup.rounds : 0));
    }
    CHECK(s.r1[k].profile.dealerBytes1 == planCost(plan).dealerBytes1);
    CHECK(s.d[k].dealerBytes1 == planCost(plan).dealerBytes1);
    CHECK(s.r0[k].outputs.empty());
  }
}

TEST_CASE("party 0 ends a session: refused or last requests",
          "[plan][executor][session]") {
  LoadedPlan plan = mustLoad(chainPlan());
  std::vector<std::vector<double>> xs = {kX, kX, kX};
  SECTION("refused before request 2") {
    SessionRun s;
    runSession(plan, xs, s, 1);
    CHECK(errorOf(std::move(s.p0)) == "");
    CHECK(errorOf(std::move(s.dealer)) == "");
    CHECK_THAT(errorOf(std::move(s.p1)),
               Contains("party 0 refused request 2 (it is stopping); 1 done"));
    CHECK(s.r1.size() == 1);
    CHECK(s.d.size() == 1);
  }
  SECTION("request 2 marked last by party 0") {
    SessionRun s;
    runSession(plan, xs, s, 2, true);
    CHECK(errorOf(std::move(s.p0)) == "");
    CHECK(errorOf(std::move(s.dealer)) == "");
    CHECK_THAT(errorOf(std::move(s.p1)),
               Contains("party 0 ended the session after request 2"));
    CHECK(s.r1.size() == 2);
    CHECK(s.d.size() == 2);
  }
}
