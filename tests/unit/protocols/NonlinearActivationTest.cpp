//===- tests/unit/protocols/NonlinearActivationTest.cpp - GeLU and tanh ---===//
//
// Two-party tests of the piecewise activations: error against the exact
// functions over dense inputs (including far outside the polynomial
// pieces), rounds and traffic equal to the formulas.
//
//===----------------------------------------------------------------------===//
#include "tests/unit/protocols/NonlinearTestUtil.h"

#include <numbers>

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

NlRun runGelu(const std::vector<double> &xs, llvm::ArrayRef<int64_t> shape,
              const GeluParams &gp, Link link = Link::Mem) {
  return runNl(
      xs, shape, gp.frac, [&](Corr &c) { return dealGelu(c, shape, gp); },
      [&](Party &p, RingTensor x, const GeluMat &m) {
        return gelu(p, std::move(x), gp, m);
      },
      link, 1, gp.frac + gp.inputTruncBits,
      gp.inputTruncBits > 0
          ? geluInputRingBits(gp.compareBits, gp.inputTruncBits)
          : 64);
}

NlRun runTanh(const std::vector<double> &xs, llvm::ArrayRef<int64_t> shape,
              const TanhParams &tp, Link link = Link::Mem) {
  return runNl(
      xs, shape, tp.frac, [&](Corr &c) { return dealTanh(c, shape, tp); },
      [&](Party &p, RingTensor x, const TanhMat &m) {
        return tanhApprox(p, std::move(x), tp, m);
      },
      link);
}

/// Dense inputs on [-a, a] plus points far outside and at the breaks.
std::vector<double> activationInputs(int64_t n, double a, uint64_t seed,
                                     llvm::ArrayRef<double> special) {
  std::mt19937_64 rng(seed);
  std::vector<double> xs = uniform(rng, n, -a, a);
  size_t i = 0;
  for (double s : special)
    xs[i++] = s;
  for (double big : {1e4, -1e4, 300.0, -300.0, 25.0, -25.0})
    xs[i++] = big;
  return xs;
}

} // namespace

TEST_CASE("PUMA GeLU on a [1,16,64] activation", "[nonlinear][gelu]") {
  const ApproxInfo *info = approxInfo("gelu.puma");
  REQUIRE(info);
  Shape shape{1, 16, 64};
  std::vector<double> xs =
      activationInputs(1024, 6, 21, {-4, -1.95, 3, -4.0001, 2.9999, 0});
  GeluParams gp;
  gp.approx = Approximation::GeluPuma;
  NlRun r = runGelu(xs, shape, gp);
  ErrStats e = errors(r.in, r.out, geluRef);
  WARN("gelu.puma: max abs err vs exact GeLU " << e.maxAbs << " at "
                                               << e.atAbs);
  CHECK(boundRatio(r.in, r.out, geluRef, *info) <= 1);
  Cost f = geluCost(shape, gp);
  requireTrafficMatches(r.measured, f);
  CHECK(f.rounds == 4);
}

TEST_CASE("PUMA GeLU over TCP and with a narrower comparison",
          "[nonlinear][gelu][tcp]") {
  Shape shape{2, 100};
  std::vector<double> xs = activationInputs(200, 5, 22, {});
  GeluParams gp;
  gp.approx = Approximation::GeluPuma;
  gp.compareBits = 40; // |x| < 2^23 at frac 16
  NlRun r = runGelu(xs, shape, gp, Link::Tcp);
  CHECK(errors(r.in, r.out, geluRef).maxAbs <=
        approxInfo("gelu.puma")->maxAbsErr);
  requireTrafficMatches(r.measured, geluCost(shape, gp));
}

TEST_CASE("GeLU that truncates its input costs what GeLU alone costs",
          "[nonlinear][gelu]") {
  const ApproxInfo *info = approxInfo("gelu.accurate");
  REQUIRE(info);
  Shape shape{4, 256};
  std::vector<double> xs =
      activationInputs(1024, 6, 25, {-4, 4, -4.0001, 3.9999, 0});
  GeluParams plain;
  plain.approx = Approximation::GeluAccurate;
  plain.compareBits = 32;
  GeluParams fused = plain;
  fused.inputTruncBits = 16; // x arrives at frac 32, as a product does
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runGelu(xs, shape, fused, link);
  ErrStats e = errors(r.in, r.out, geluRef);
  INFO("fused gelu.accurate max abs err " << e.maxAbs << " at " << e.atAbs);
  CHECK(boundRatio(r.in, r.out, geluRef, *info) <= 1);
  Cost f = geluCost(shape, fused), g = geluCost(shape, plain);
  requireTrafficMatches(r.measured, f);
  // The truncation replaces GeLU's opening of x: same rounds (a separate
  // truncation costs a round and a word each way more), and it opens in
  // the comparisons' ring plus the truncated bits: 49 bits instead of 64.
  int64_t n = numElements(shape);
  uint64_t saved = wordBytes(n) - wordBytes(packedWords(n, 32 + 1 + 16));
  CHECK(f.rounds == g.rounds);
  CHECK(f.bytes01 == g.bytes01 - saved);
  CHECK(f.bytes10 == g.bytes10 - saved);
}

TEST_CASE("Quad GeLU is MPCFormer's formula in two rounds",
          "[nonlinear][gelu]") {
  const ApproxInfo *info = approxInfo("gelu.quad");
  REQUIRE(info);
  Shape shape{1, 16, 64};
  std::mt19937_64 rng(23);
  std::vector<double> xs = uniform(rng, 1024, info->lo, info->hi);
  GeluParams gp;
  gp.approx = Approximation::GeluQuad;
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runGelu(xs, shape, gp, link);
  auto quad = [](double x) { return 0.125 * x * x + 0.25 * x + 0.5; };
  ErrStats e = errors(r.in, r.out, quad);
  INFO("gelu.quad max abs err vs its formula " << e.maxAbs);
  CHECK(boundRatio(r.in, r.out, quad, *info) <= 1);
  Cost f = geluCost(shape, gp);
  requireTrafficMatches(r.measured, f);
  CHECK(f.rounds == 2);
}

TEST_CASE("gelu.relu is ReLU in one comparison", "[nonlinear][gelu]") {
  const ApproxInfo *info = approxInfo("gelu.relu");
  REQUIRE(info);
  CHECK(info->needsTraining);
  Shape shape{1, 16, 64};
  std::vector<double> xs =
      activationInputs(1024, 8, 29, {0, 1.0 / 65536, -1.0 / 65536, 7.5});
  GeluParams gp;
  gp.approx = Approximation::GeluRelu;
  NlRun r = runGelu(xs, shape, gp, Link::Mem);
  auto relu = [](double x) { return x > 0 ? x : 0.0; };
  ErrStats e = errors(r.in, r.out, relu);
  INFO("gelu.relu max abs err vs ReLU " << e.maxAbs);
  CHECK(boundRatio(r.in, r.out, relu, *info) <= 1);
  Cost f = geluCost(shape, gp);
  requireTrafficMatches(r.measured, f);
  // One breakpoint: fewer rounds and bytes than PUMA's three.
  GeluParams puma;
  puma.approx = Approximation::GeluPuma;
  Cost p = geluCost(shape, puma);
  CHECK(f.rounds <= p.rounds);
  CHECK(f.bytes01 < p.bytes01);
}

TEST_CASE("gelu.crypten is CrypTen's erf series on its domain",
          "[nonlinear][gelu]") {
  const ApproxInfo *info = approxInfo("gelu.crypten");
  REQUIRE(info);
  CHECK(!info->needsTraining);
  Shape shape{1, 16, 64};
  std::mt19937_64 rng(30);
  std::vector<double> xs = uniform(rng, 1024, info->lo, info->hi);
  xs[0] = info->lo, xs[1] = info->hi, xs[2] = 0;
  GeluParams gp;
  gp.approx = info->id;
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runGelu(xs, shape, gp, link);
  ErrStats e = errors(r.in, r.out, geluRef);
  WARN("gelu.crypten: max abs err vs exact GeLU " << e.maxAbs << " at "
                                                  << e.atAbs);
  CHECK(boundRatio(r.in, r.out, geluRef, *info) <= 1);
  auto series = [](double x) {
    double u = x / std::sqrt(2.0), sum = 0, fact = 1;
    for (int k = 0; k <= 8; ++k) {
      fact *= k ? k : 1;
      sum += (k % 2 ? -1 : 1) * std::pow(u, 2 * k + 1) / (fact * (2 * k + 1));
    }
    return x / 2 * (1 + 2 / std::sqrt(std::numbers::pi) * sum);
  };
  // It is CrypTen's formula, to fixed-point rounding.
  double vsSeries = errors(r.in, r.out, series).maxAbs;
  WARN("gelu.crypten: max abs err vs CrypTen's series " << vsSeries);
  CHECK(vsSeries < 1e-4);
  Cost f = geluCost(shape, gp);
  requireTrafficMatches(r.measured, f);
  // No comparison: the opening, two levels of powers, the sum.
  CHECK(!geluCompares(info->id));
  CHECK(f.rounds == 4);
}

TEST_CASE("gelu.sigmoid is MP-SPDZ's x sigma(t) from exp and a reciprocal",
          "[nonlinear][gelu]") {
  const ApproxInfo *info = approxInfo("gelu.sigmoid");
  REQUIRE(info);
  CHECK(!info->needsTraining);
  Shape shape{4, 512};
  // Dense around the breakpoints and the formula's worst point (-2.7),
  // plus inputs far outside.
  std::vector<double> xs = activationInputs(
      2048, 7, 31, {-4.5, 0, 4.5, -4.5001, 4.4999, -2.7, 1e-4, -1e-4});
  GeluParams gp;
  gp.approx = info->id;
  gp.compareBits = GENERATE(as<int>{}, kFullCompareBits, 40); // |x| < 2^23
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runGelu(xs, shape, gp, link);
  ErrStats e = errors(r.in, r.out, geluRef);
  WARN("gelu.sigmoid: max abs err vs exact GeLU " << e.maxAbs << " at "
                                                  << e.atAbs);
  CHECK(boundRatio(r.in, r.out, geluRef, *info) <= 1);
  auto formula = [](double x) {
    return x / (1 + std::exp(-(0.071355 * x * x * x + 1.595769 * x)));
  };
  // It is MP-SPDZ's formula, to exp's, the reciprocal's and fixed-point
  // error (and to 1.5e-5 beyond the breakpoints +-4.5, where it is ReLU).
  double vsFormula = errors(r.in, r.out, formula).maxAbs;
  WARN("gelu.sigmoid: max abs err vs x sigma(t) " << vsFormula);
  CHECK(vsFormula < 1e-4);
  Cost f = geluCost(shape, gp);
  requireTrafficMatches(r.measured, f);
  // It compares (so it may truncate its input) but costs far more than
  // the piecewise polynomials: exp and a reciprocal after the comparisons.
  CHECK(geluCompares(info->id));
  GeluParams acc = gp;
  acc.approx = Approximation::GeluAccurate;
  CHECK(f.rounds > geluCost(shape, acc).rounds);
}

TEST_CASE("gelu.sigmoid truncating its input is the same function",
          "[nonlinear][gelu]") {
  const ApproxInfo *info = approxInfo("gelu.sigmoid");
  REQUIRE(info);
  Shape shape{1, 1024};
  std::vector<double> xs = activationInputs(1024, 6, 32, {-4.5, 0, 4.5});
  GeluParams gp;
  gp.approx = info->id;
  gp.compareBits = 40; // |x| < 2^23: the 1e4 inputs too
  gp.inputTruncBits = 12;
  REQUIRE(geluCanTruncateInput(gp.inputTruncBits, gp.compareBits));
  NlRun r = runGelu(xs, shape, gp);
  CHECK(boundRatio(r.in, r.out, geluRef, *info) <= 1);
  requireTrafficMatches(r.measured, geluCost(shape, gp));
}

/// SecFormer's erf GeLU in doubles (papers.md A.6), with its breakpoints
/// z = +-2.5 (x = +-2.5 sqrt2) as the protocol compares them: encoded at
/// frac 16 (an input encoded to -B itself is on the series' side).
double secformerGelu(double x) {
  const double beta[] = {1.25772,  -0.0299154, 0.382155, -0.0519123,
                         0.196033, -0.0624557, 0.118029};
  double b = decodeFixed(encodeFixed(2.5 * std::numbers::sqrt2, 16), 16);
  double z = x / std::sqrt(2.0), erf = x < 0 ? -1 : 1;
  if (x >= -b && x < b) {
    erf = 0;
    for (int k = 1; k <= 7; ++k)
      erf += beta[k - 1] * std::sin(k * std::numbers::pi * z / 10);
  }
  return x / 2 * (1 + erf);
}

TEST_CASE("gelu.secformer is SecFormer's sine-series erf, securely",
          "[nonlinear][gelu]") {
  const ApproxInfo *info = approxInfo("gelu.secformer");
  REQUIRE(info);
  CHECK(!info->needsTraining);
  CHECK(geluCompares(info->id));
  Shape shape{4, 512};
  // Dense over the series' segment and beyond, the breakpoints +-2.5 sqrt2,
  // the formula's worst points (+-3.3) and inputs far outside.
  const double b = 2.5 * std::numbers::sqrt2;
  std::vector<double> xs = activationInputs(
      2048, 6, 33, {-b, b, -b - 1e-4, b - 1e-4, 3.305, -3.305, 0, 1e-4});
  GeluParams gp;
  gp.approx = info->id;
  gp.compareBits = GENERATE(as<int>{}, kFullCompareBits, 40); // |x| < 2^23
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runGelu(xs, shape, gp, link);
  ErrStats e = errors(r.in, r.out, geluRef);
  WARN("gelu.secformer: max abs err vs exact GeLU " << e.maxAbs << " at "
                                                    << e.atAbs);
  CHECK(boundRatio(r.in, r.out, geluRef, *info) <= 1);
  // It is SecFormer's formula, to fixed-point rounding (x amplifies the
  // series' 2^-20 rounding: a few ulps at 2^-16).
  ErrStats vs = errors(r.in, r.out, secformerGelu);
  WARN("gelu.secformer: max abs err vs SecFormer's formula "
       << vs.maxAbs << " at " << vs.atAbs);
  CHECK(vs.maxAbs < 1e-4);
  Cost f = geluCost(shape, gp);
  requireTrafficMatches(r.measured, f);
  // The phase opens with x, the series is truncated twice alongside the
  // comparisons: the rounds of gelu.accurate or fewer.
  GeluParams acc = gp;
  acc.approx = Approximation::GeluAccurate;
  CHECK(f.rounds <= geluCost(shape, acc).rounds);
}

TEST_CASE("gelu.secformer truncating its input is the same function",
          "[nonlinear][gelu]") {
  const ApproxInfo *info = approxInfo("gelu.secformer");
  REQUIRE(info);
  Shape shape{1, 1024};
  // Not at the breakpoints: x truncated to frac 16 (the floor or one
  // more) falls on either side of them.
  std::vector<double> xs = activationInputs(1024, 6, 34, {3.305, -3.305});
  GeluParams gp;
  gp.approx = info->id;
  // The input's shares hold x modulo 2^(compareBits + 1 + inputTruncBits)
  // only (runGelu). At compareBits 40 (|x| < 2^23) that leaves the phase
  // 25 bits above x's frac: it is read from the input, in x's opening
  // round (16, 20). At 33 (|x| < 2^16, the compiler's at --range-bits 16)
  // only 18: it is read from the opened x at frac 16, one stage later.
  auto [cmp, trunc] = GENERATE(std::pair{40, 16}, std::pair{40, 20},
                               std::pair{33, 16}, std::pair{33, 30});
  gp.compareBits = cmp;
  gp.inputTruncBits = trunc;
  REQUIRE(geluCanTruncateInput(gp.inputTruncBits, gp.compareBits));
  NlRun r = runGelu(xs, shape, gp);
  CHECK(boundRatio(r.in, r.out, geluRef, *info) <= 1);
  CHECK(errors(r.in, r.out, secformerGelu).maxAbs < 1e-4);
  Cost f = geluCost(shape, gp);
  requireTrafficMatches(r.measured, f);
  GeluParams plain = gp;
  plain.inputTruncBits = 0;
  Cost g = geluCost(shape, plain);
  if (gp.compareBits == 40)
    CHECK(f.rounds == g.rounds);
  else // one stage more, which the comparisons may hide
    CHECK(f.rounds <= g.rounds + 1);
}

TEST_CASE("tanh.poly over a wide range", "[nonlinear][tanh]") {
  const ApproxInfo *info = approxInfo("tanh.poly");
  REQUIRE(info);
  Shape shape{8, 128};
  std::vector<double> xs =
      activationInputs(1024, 8, 24, {-5, -1.5, 1.5, 5, 0, 4.9999, -1.4999});
  TanhParams tp;
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runTanh(xs, shape, tp, link);
  auto ref = [](double x) { return std::tanh(x); };
  ErrStats e = errors(r.in, r.out, ref);
  WARN("tanh.poly: max abs err " << e.maxAbs << " at " << e.atAbs);
  CHECK(boundRatio(r.in, r.out, ref, *info) <= 1);
  Cost f = tanhCost(shape, tp);
  requireTrafficMatches(r.measured, f);
  CHECK(f.rounds == 4);
}
