//===- tests/unit/protocols/NonlinearReciprocalTest.cpp - 1/x, 1/sqrt x ---===//
//
// Two-party tests of the reciprocal and inverse square root protocols
// (normalised and Newton): error within the catalogue bound over the whole
// stated domain (log-uniform inputs), and traffic equal to the formulas.
//
//===----------------------------------------------------------------------===//
#include "tests/unit/protocols/NonlinearTestUtil.h"

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

NlRun runRecip(const std::vector<double> &xs, const ReciprocalParams &rp,
               Link link = Link::Mem) {
  Shape shape{int64_t(xs.size())};
  return runNl(
      xs, shape, rp.frac, [&](Corr &c) { return dealReciprocal(c, shape, rp); },
      [&](Party &p, RingTensor x, const ReciprocalMat &m) {
        return reciprocal(p, std::move(x), rp, m);
      },
      link);
}

NlRun runRsqrt(const std::vector<double> &xs, const RsqrtParams &rp,
               Link link = Link::Mem) {
  Shape shape{int64_t(xs.size())};
  return runNl(
      xs, shape, rp.frac, [&](Corr &c) { return dealRsqrt(c, shape, rp); },
      [&](Party &p, RingTensor x, const RsqrtMat &m) {
        return rsqrt(p, std::move(x), rp, m);
      },
      link);
}

std::vector<double> domainInputs(const ApproxInfo &info, int64_t n,
                                 uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> xs = logUniform(rng, n, info.lo, info.hi);
  xs[0] = info.lo, xs[1] = info.hi;
  // Exact powers of two, where they are inside the domain.
  const double specials[] = {1, 0.5, 2};
  for (size_t i = 0; i < std::size(specials); ++i)
    if (specials[i] >= info.lo && specials[i] <= info.hi)
      xs[2 + i] = specials[i];
  return xs;
}

double recipRef(double x) { return 1 / x; }
double rsqrtRef(double x) { return 1 / std::sqrt(x); }

} // namespace

TEST_CASE("Goldschmidt reciprocal over its whole domain",
          "[nonlinear][recip]") {
  const ApproxInfo *info = approxInfo("reciprocal.goldschmidt");
  REQUIRE(info);
  std::vector<double> xs = domainInputs(*info, 4000, 11);
  ReciprocalParams rp;
  NlRun r = runRecip(xs, rp);
  double rel = maxRelAbove(r.in, r.out, recipRef, 1e-2);
  WARN("reciprocal.goldschmidt: max rel err (1/x >= 0.01) "
       << rel << ", bound ratio " << boundRatio(r.in, r.out, recipRef, *info));
  CHECK(boundRatio(r.in, r.out, recipRef, *info) <= 1);
  Cost f = reciprocalCost(Shape{int64_t(xs.size())}, rp);
  requireTrafficMatches(r.measured, f);
  // 3 comparison rounds (45-bit compare), bits, c, 2 iterations, result.
  CHECK(f.rounds == 3 + 3 + uint64_t(rp.iters));
}

TEST_CASE("Goldschmidt reciprocal over TCP, three iterations",
          "[nonlinear][recip][tcp]") {
  std::mt19937_64 rng(12);
  std::vector<double> xs = logUniform(rng, 300, 1, 128);
  ReciprocalParams rp;
  rp.iters = 3;
  rp.minExp = 0;
  rp.maxBits = 8;
  NlRun r = runRecip(xs, rp, Link::Tcp);
  double rel = maxRelAbove(r.in, r.out, recipRef, 0);
  INFO("max rel err " << rel);
  CHECK(rel < 2e-3); // 1/128 is 512 ulp: rounding dominates
  CHECK(errors(r.in, r.out, recipRef).maxAbs < 4 * std::ldexp(1.0, -16));
  requireTrafficMatches(r.measured,
                        reciprocalCost(Shape{int64_t(xs.size())}, rp));
}

TEST_CASE("Newton reciprocal (CrypTen) over its domain", "[nonlinear][recip]") {
  const ApproxInfo *info = approxInfo("reciprocal.newton");
  REQUIRE(info);
  std::vector<double> xs = domainInputs(*info, 3000, 13);
  ReciprocalParams rp;
  rp.approx = Approximation::ReciprocalNewton;
  rp.iters = 10;
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runRecip(xs, rp, link);
  WARN("reciprocal.newton: max rel err "
       << maxRelAbove(r.in, r.out, recipRef, 0) << ", bound ratio "
       << boundRatio(r.in, r.out, recipRef, *info));
  CHECK(boundRatio(r.in, r.out, recipRef, *info) <= 1);
  Cost f = reciprocalCost(Shape{int64_t(xs.size())}, rp);
  requireTrafficMatches(r.measured, f);
  CHECK(f.rounds == 1 + 8 + 10);
}

TEST_CASE("normalised rsqrt over its whole domain", "[nonlinear][rsqrt]") {
  const ApproxInfo *info = approxInfo("rsqrt.normalized");
  REQUIRE(info);
  std::vector<double> xs = domainInputs(*info, 4000, 14);
  RsqrtParams rp;
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runRsqrt(xs, rp, link);
  WARN("rsqrt.normalized: max rel err (ref >= 0.01) "
       << maxRelAbove(r.in, r.out, rsqrtRef, 1e-2) << ", bound ratio "
       << boundRatio(r.in, r.out, rsqrtRef, *info));
  CHECK(boundRatio(r.in, r.out, rsqrtRef, *info) <= 1);
  Cost f = rsqrtCost(Shape{int64_t(xs.size())}, rp);
  requireTrafficMatches(r.measured, f);
  CHECK(f.rounds == 3 + 3 + 2 * uint64_t(rp.iters));
}

TEST_CASE("Newton rsqrt (CrypTen) over its domain", "[nonlinear][rsqrt]") {
  const ApproxInfo *info = approxInfo("rsqrt.newton");
  REQUIRE(info);
  std::vector<double> xs = domainInputs(*info, 3000, 15);
  RsqrtParams rp;
  rp.approx = Approximation::RsqrtNewton;
  rp.iters = 3;
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runRsqrt(xs, rp, link);
  WARN("rsqrt.newton: max rel err "
       << maxRelAbove(r.in, r.out, rsqrtRef, 0) << ", bound ratio "
       << boundRatio(r.in, r.out, rsqrtRef, *info));
  CHECK(boundRatio(r.in, r.out, rsqrtRef, *info) <= 1);
  Cost f = rsqrtCost(Shape{int64_t(xs.size())}, rp);
  requireTrafficMatches(r.measured, f);
  CHECK(f.rounds == 1 + 8 + 1 + 2 * 3);
}

TEST_CASE("a one-bucket domain needs no comparison", "[nonlinear][recip]") {
  std::mt19937_64 rng(16);
  std::vector<double> xs = uniform(rng, 200, 0.5, 0.999);
  ReciprocalParams rp;
  rp.minExp = -1;
  rp.maxBits = 0;
  NlRun r = runRecip(xs, rp);
  CHECK(maxRelAbove(r.in, r.out, recipRef, 0) < 2e-4);
  Cost f = reciprocalCost(Shape{200}, rp);
  requireTrafficMatches(r.measured, f);
  CHECK(f.rounds == 1 + 1 + 2 + 1);
}

TEST_CASE("every reciprocal and rsqrt entry meets its catalogue bound",
          "[nonlinear][recip][rsqrt][catalog]") {
  // Driven by Approximations.def: a new entry is measured here over its
  // whole stated domain with its default iterations, without a test of its
  // own, and its traffic must equal its cost formula.
  uint64_t seed = 40;
  for (const ApproxInfo *info : approxesOf(ApproxKind::Reciprocal)) {
    INFO(info->name);
    std::vector<double> xs = domainInputs(*info, 2000, ++seed);
    ReciprocalParams rp;
    rp.approx = info->id;
    rp.iters = reciprocalIters(info->id);
    if (llvm::Error e = validateReciprocal(rp))
      FAIL(llvm::toString(std::move(e)));
    NlRun r = runRecip(xs, rp);
    CHECK(boundRatio(r.in, r.out, recipRef, *info) <= 1);
    requireTrafficMatches(r.measured,
                          reciprocalCost(Shape{int64_t(xs.size())}, rp));
  }
  for (const ApproxInfo *info : approxesOf(ApproxKind::Rsqrt)) {
    INFO(info->name);
    std::vector<double> xs = domainInputs(*info, 2000, ++seed);
    RsqrtParams rp;
    rp.approx = info->id;
    rp.iters = rsqrtIters(info->id);
    if (llvm::Error e = validateRsqrt(rp))
      FAIL(llvm::toString(std::move(e)));
    NlRun r = runRsqrt(xs, rp);
    CHECK(boundRatio(r.in, r.out, rsqrtRef, *info) <= 1);
    requireTrafficMatches(r.measured, rsqrtCost(Shape{int64_t(xs.size())}, rp));
  }
}
