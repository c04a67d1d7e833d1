//===- tests/unit/plan/MemoryTests.cpp - A role's memory need -------------===//
//
// memoryNeed against sums worked out by hand from a small plan's value
// lifetimes and dealer bytes, material windows lowering it, and the budget
// check refusing a plan (a huge declared value included) with a message
// that names the role, the op and the parts.
//
//===----------------------------------------------------------------------===//
#include "PlanTestUtil.h"

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Matchers::Contains;

namespace {

/// x [n,n] (party 1) -> pw_linear W [n,n] -> trunc -> relu -> reveal to 1,
/// one op per step.
PlanBuilder squarePlan(int64_t n) {
  PlanBuilder b;
  auto S = plan::VIS_SHARED;
  int x = b.value("x", {n, n}, 12, plan::VIS_PRIVATE1);
  int w = b.value("W", {n, n}, 12, plan::VIS_PRIVATE0);
  int y = b.value("y", {n, n}, 24, S);
  int t = b.value("t", {n, n}, 12, S);
  int r = b.value("r", {n, n}, 12, S);
  int out = b.value("out", {n, n}, 12, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  b.op("pw_linear", {x, w}, {y}, 0, "/fc/MatMul");
  setInt(b.op("trunc", {y}, {t}, 1, "/fc/MatMul"), "bits", 12);
  b.op("relu", {t}, {r}, 2, "/act/Relu");
  setInt(b.op("reveal", {r}, {out}, 3, "/out"), "to", 1);
  b.output("logits", out);
  return b;
}

} // namespace

TEST_CASE("memoryNeed follows the executor's value lifetimes and material",
          "[plan][memory]") {
  const int64_t n = 512;
  const uint64_t v = uint64_t(n * n) * 8; // one value's bytes
  LoadedPlan plan = mustLoad(squarePlan(n));
  uint64_t d[4];
  for (size_t i = 0; i < 4; ++i)
    d[i] = opCost(plan, i).dealerBytes1;
  REQUIRE(d[0] > 0);
  REQUIRE(d[1] > 0);
  uint64_t all = d[0] + d[1] + d[2] + d[3];

  // Party 0 at op 0: W and y live, all the material still ahead.
  MemoryNeed p0 = memoryNeed(plan, 0, 0);
  CHECK(p0.values == 2 * v);
  CHECK(p0.material == all);
  CHECK(p0.total == 2 * v + all);
  CHECK(p0.op == 0);
  // Party 1 at op 0: x, W - B and y; twice the material (corrections and
  // its own PRG shares).
  MemoryNeed p1 = memoryNeed(plan, 1, 0);
  CHECK(p1.values == 3 * v);
  CHECK(p1.material == 2 * all);
  CHECK(p1.total == 3 * v + 2 * all);
  // The dealer: the op with the most corrections, twice.
  MemoryNeed dealer = memoryNeed(plan, kDealerRole, 0);
  CHECK(dealer.values == 0);
  CHECK(dealer.material == 2 * std::max({d[0], d[1], d[2], d[3]}));

  // Windows of one step each: only the current step's material is held.
  std::vector<StepRange> w = materialWindows(plan, 1);
  REQUIRE(w.size() >= 3);
  MemoryNeed p1w = memoryNeed(plan, 1, 1);
  CHECK(p1w.total < p1.total);
  CHECK(p1w.total >= 3 * v + 2 * d[0]);
}

TEST_CASE("a plan needing more than the budget is refused at load",
          "[plan][memory]") {
  LoadedPlan plan = mustLoad(squarePlan(64));
  uint64_t need = memoryNeed(plan, 1, 0).total;
  CHECK(errorOf(checkMemoryBudget(plan, 1, 0, need)) == "");
  std::string e = errorOf(checkMemoryBudget(plan, 1, 0, need - 1));
  CHECK_THAT(e, Contains("party 1: plan 'test.plan' needs about"));
  CHECK_THAT(e, Contains("at op 0 'pw_linear' (onnx node '/fc/MatMul')"));
  CHECK_THAT(e, Contains("of values"));
  CHECK_THAT(e, Contains("--max-memory allows"));
  CHECK_THAT(e, Contains("--material-window"));
  CHECK_THAT(errorOf(checkMemoryBudget(plan, kDealerRole, 0, 1)),
             Contains("dealer: plan 'test.plan' needs about"));

  // Values of 2^40 elements: a sum that saturates, refused by any machine.
  LoadedPlan huge = mustLoad(squarePlan(int64_t(1) << 20));
  for (int role : {0, 1})
    CHECK_THAT(
        errorOf(checkMemoryBudget(huge, role, 512, defaultMemoryBudget())),
        Contains("needs about"));
  CHECK(defaultMemoryBudget() > (uint64_t(1) << 20));
}
