//===- tests/unit/protocols/NonlinearElementaryTest.cpp - poly and exp ----===//
//
// Two-party tests of the polynomial and limit-exp protocols: error against
// double precision on their stated domains, and measured traffic equal to
// the cost formulas; and how the clear simulation rounds a one-round
// truncation.
//
//===----------------------------------------------------------------------===//
#include "tests/unit/protocols/NonlinearTestUtil.h"

#include "runtime/protocols/FxProgram.h"

#include <algorithm>

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

double evalPoly(const std::vector<double> &c, double x) {
  double acc = 0;
  for (size_t k = c.size(); k-- > 0;)
    acc = acc * x + c[k];
  return acc;
}

NlRun runExp(const std::vector<double> &xs, llvm::ArrayRef<int64_t> shape,
             const ExpParams &ep, Link link = Link::Mem) {
  return runNl(
      xs, shape, ep.frac, [&](Corr &c) { return dealExp(c, shape, ep); },
      [&](Party &p, RingTensor x, const ExpMat &m) {
        return expApprox(p, std::move(x), ep, m);
      },
      link);
}

} // namespace

TEST_CASE("poly matches double precision and its cost formula",
          "[nonlinear][poly]") {
  struct Case {
    std::vector<double> coeffs;
    double bound;
    uint64_t rounds;
  };
  // PUMA's F1 (degree 6: open x, truncate x^3, then x^4 = x x^3 and
  // x^6 = x^3 x^3 are local: 3 rounds), a cubic (x^3 is truncated too, for
  // coefficient precision: 3 rounds), a degree-9 odd polynomial (two levels
  // of powers: 4 rounds).
  auto cs = GENERATE(Case{{0.008526321541038084, 0.5, 0.3603292692789629, 0,
                           -0.0376882, 0, 0.0018067462606141187},
                          4,
                          3},
                     Case{{-0.5054, -0.4223, -0.1181, -0.011034}, 4, 3},
                     Case{{0, 1, 0, -0.3, 0, 0.1, 0, -0.02, 0, 0.001}, 2, 4});
  auto link = GENERATE(Link::Mem, Link::Tcp);
  std::mt19937_64 rng(7);
  Shape shape{3, 257};
  std::vector<double> xs = uniform(rng, 3 * 257, -cs.bound, cs.bound);
  PolyParams pp{cs.coeffs, cs.bound, 16};
  NlRun r = runNl(
      xs, shape, 16, [&](Corr &c) { return dealPoly(c, shape, pp); },
      [&](Party &p, RingTensor x, const PolyMat &m) {
        return poly(p, std::move(x), pp, m);
      },
      link);
  ErrStats e =
      errors(r.in, r.out, [&](double x) { return evalPoly(cs.coeffs, x); });
  INFO("degree " << cs.coeffs.size() - 1 << " max abs err " << e.maxAbs
                 << " at " << e.atAbs);
  CHECK(e.maxAbs < 2e-4);
  Cost f = polyCost(shape, pp);
  requireTrafficMatches(r.measured, f);
  CHECK(f.rounds == cs.rounds);
}

TEST_CASE("exp.limit stays within its catalogue bound on [-14, 0]",
          "[nonlinear][exp]") {
  const ApproxInfo *info = approxInfo("exp.limit");
  REQUIRE(info);
  std::mt19937_64 rng(3);
  int64_t n = 4000;
  std::vector<double> xs = uniform(rng, n, info->lo, info->hi);
  xs[0] = info->lo, xs[1] = info->hi, xs[2] = -2;
  Shape shape{n};
  ExpParams ep;
  NlRun r = runExp(xs, shape, ep);
  ErrStats e = errors(r.in, r.out, [](double x) { return std::exp(x); });
  WARN("exp.limit max abs err " << e.maxAbs << " at " << e.atAbs);
  CHECK(e.maxAbs <= info->maxAbsErr);
  Cost f = expCost(shape, ep);
  requireTrafficMatches(r.measured, f);
  CHECK(f.rounds == 1 + uint64_t(ep.iters));
}

TEST_CASE("exp.limit2 (second-order base) in the same rounds",
          "[nonlinear][exp]") {
  const ApproxInfo *info = approxInfo("exp.limit2");
  REQUIRE(info);
  std::mt19937_64 rng(5);
  int64_t n = 4000;
  std::vector<double> xs = uniform(rng, n, info->lo, info->hi);
  Shape shape{n};
  ExpParams ep;
  ep.iters = 7;
  ep.order = 2;
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runExp(xs, shape, ep, link);
  ErrStats e = errors(r.in, r.out, [](double x) { return std::exp(x); });
  WARN("exp.limit2 max abs err " << e.maxAbs << " at " << e.atAbs);
  CHECK(e.maxAbs <= info->maxAbsErr);
  Cost f = expCost(shape, ep);
  requireTrafficMatches(r.measured, f);
  CHECK(f.rounds == expCost(shape, ExpParams()).rounds);
}

TEST_CASE("exp.cubes (softmax's exp) in 6 rounds", "[nonlinear][exp]") {
  const ApproxInfo *info = approxInfo("exp.cubes");
  REQUIRE(info);
  std::mt19937_64 rng(6);
  int64_t n = 4000;
  std::vector<double> xs = uniform(rng, n, info->lo, info->hi);
  xs[0] = info->lo, xs[1] = info->hi;
  Shape shape{n};
  ExpParams ep = SoftmaxParams().exp;
  REQUIRE(ep.cubes == 4);
  REQUIRE(ep.fitted);
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runExp(xs, shape, ep, link);
  ErrStats e = errors(r.in, r.out, [](double x) { return std::exp(x); });
  WARN("exp.cubes max abs err " << e.maxAbs << " at " << e.atAbs);
  CHECK(e.maxAbs <= info->maxAbsErr);
  // The relative error is nearly level on [-5.5, 0] (what a softmax sees;
  // the formula's spans [-1.6e-4, 1.6e-4], Taylor's (1 + u + u^2/2)^128
  // [0, 1.8e-3]): its mean over bins of 0.5 (the rounding noise averages
  // out) moves by less than 5e-4.
  double sum[11] = {}, cnt[11] = {};
  for (size_t i = 0; i < xs.size(); ++i)
    if (r.in[i] >= -5.5) {
      int bin = std::min(10, int(-r.in[i] / 0.5));
      sum[bin] += r.out[i] / std::exp(r.in[i]) - 1;
      cnt[bin] += 1;
    }
  double lo = 1, hi = -1;
  for (int k = 0; k < 11; ++k) {
    REQUIRE(cnt[k] > 50);
    lo = std::min(lo, sum[k] / cnt[k]), hi = std::max(hi, sum[k] / cnt[k]);
  }
  WARN("exp.cubes mean relative error per bin on [-5.5, 0]: [" << lo << ", "
                                                               << hi << "]");
  CHECK(hi - lo < 5e-4);
  Cost f = expCost(shape, ep);
  requireTrafficMatches(r.measured, f);
  // Opening, base, four cubes; one word each way per element each.
  CHECK(f.rounds == 6);
  CHECK(f.bytes01 == 6 * 8 * uint64_t(n));
}

TEST_CASE("exp with Taylor cubes and positive inputs", "[nonlinear][exp]") {
  std::mt19937_64 rng(7);
  Shape shape{500};
  std::vector<double> xs = uniform(rng, 500, -4, 2);
  ExpParams ep;
  ep.maxInput = 2;
  ep.iters = 6;
  ep.cubes = 3;
  ep.order = 2;
  NlRun r = runExp(xs, shape, ep);
  // N = 216: Taylor's |x|^3 / (6 N^2) <= 2.3e-4 relative, rounding at the
  // cube scale floor((60 - 2.9)/3) = 19 amplified by up to 216 (~4e-4),
  // and the output's own stochastic rounding, up to one unit of 2^-16
  // (8e-4 relative at e^-4: a bound on the relative error alone failed
  // one run in 30 there).
  double worst = 0;
  for (size_t i = 0; i < r.in.size(); ++i) {
    double want = std::exp(r.in[i]);
    double excess = std::fabs(r.out[i] - want) - 7e-4 * want;
    worst = std::max(worst, excess / std::ldexp(1.0, -16));
  }
  INFO("error beyond 7e-4 relative, in units of 2^-16: " << worst);
  CHECK(worst <= 1.5);
  requireTrafficMatches(r.measured, expCost(shape, ep));
  CHECK(expCost(shape, ep).rounds == 1 + 1 + 6);
}

TEST_CASE("exp with positive inputs uses a coarser working scale",
          "[nonlinear][exp]") {
  std::mt19937_64 rng(4);
  Shape shape{500};
  std::vector<double> xs = uniform(rng, 500, -4, 4);
  ExpParams ep;
  ep.maxInput = 4;
  ep.iters = 10;
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runExp(xs, shape, ep, link);
  ErrStats e = errors(r.in, r.out, [](double x) { return std::exp(x); });
  INFO("max rel err " << e.maxRel << " at " << e.atRel);
  // (1 + x/2^10)^(2^10) has relative error about x^2 / 2^11 + x^3/(3 2^20)
  // <= 0.82% on [-4, 4].
  CHECK(e.maxRel < 8.5e-3);
  requireTrafficMatches(r.measured, expCost(shape, ep));
}

TEST_CASE("exp far below its domain gives a finite value, not a crash",
          "[nonlinear][exp]") {
  // Softmax clips these; the protocol itself must still run to completion.
  Shape shape{4};
  std::vector<double> xs{-10000, -300, -257, -20};
  ExpParams ep;
  NlRun r = runExp(xs, shape, ep);
  CHECK(std::fabs(r.out[3] - std::exp(-20.0)) < 1e-3);
  requireTrafficMatches(r.measured, expCost(shape, ep));
}

TEST_CASE("a simulated one-round truncation rounds to nearest, or draws as "
          "the protocol does within a RandomTruncation scope",
          "[protocols][poly][simulation]") {
  // 0.25 x on the raw value 3 (at frac 16): the product 3 * 2^14 truncated
  // by 16 bits is 0.75 of an ulp. The protocol gives 0 or 1, 1 with
  // probability 0.75; its nearest integer is 1; the exact truncation 0.
  const int64_t n = 4096;
  RingTensor x(Shape{n});
  for (int64_t i = 0; i < n; ++i)
    x[i] = 3;
  PolyParams p;
  p.coeffs = {0, 0.25};
  RingTensor nearest = simulatePoly(x, p);
  for (int64_t i = 0; i < n; ++i)
    REQUIRE(nearest[i] == 1);

  auto drawn = [&](uint64_t seed, bool exact) {
    fx::RandomTruncation scope(seed);
    PolyParams q = p;
    q.exact = exact;
    return simulatePoly(x, q);
  };
  RingTensor a = drawn(7, false);
  int64_t ones = 0;
  for (int64_t i = 0; i < n; ++i) {
    REQUIRE((a[i] == 0 || a[i] == 1));
    ones += int64_t(a[i]);
  }
  // 0.75 n = 3072, standard deviation sqrt(n 0.75 0.25) = 27.7: 5 of them.
  CHECK(std::abs(ones - 3072) < 139);
  RingTensor again = drawn(7, false);
  CHECK(std::equal(a.data(), a.data() + n, again.data()));
  RingTensor other = drawn(8, false);
  CHECK_FALSE(std::equal(a.data(), a.data() + n, other.data()));
  // An exact truncation is the floor, in the scope too.
  RingTensor floor = drawn(7, true);
  for (int64_t i = 0; i < n; ++i)
    REQUIRE(floor[i] == 0);
}
