//===- tests/unit/protocols/NonlinearCompositeTest.cpp - Composites -------===//
//
// Two-party tests of the composites on realistic shapes: softmax over
// [1,4,16,16] attention scores with masked (-10000) keys, MPCFormer's 2Quad
// with a 0/1 mask, LayerNorm over [1,16,32] with rows whose variance spans
// 2.5e-3..4e4, with private, public and no gamma/beta. Errors against double
// precision and traffic against the cost formulas.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/ApproxCost.h"
#include "runtime/protocols/NonlinearBuild.h"
#include "tests/unit/protocols/NonlinearTestUtil.h"

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

/// Softmax over rows of length len, in double.
std::vector<double> softmaxRef(const std::vector<double> &x, int64_t len) {
  std::vector<double> out(x.size());
  for (size_t r = 0; r < x.size() / len; ++r) {
    double m = -1e300, s = 0;
    for (int64_t j = 0; j < len; ++j)
      m = std::max(m, x[r * len + j]);
    for (int64_t j = 0; j < len; ++j)
      s += out[r * len + j] = std::exp(x[r * len + j] - m);
    for (int64_t j = 0; j < len; ++j)
      out[r * len + j] /= s;
  }
  return out;
}

double maxDiff(const std::vector<double> &a, const std::vector<double> &b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

/// Attention scores with the last few keys masked by a -10000 bias.
std::vector<double> maskedScores(Shape shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  int64_t len = shape.back();
  std::vector<double> xs = uniform(rng, numElements(shape), -8, 8);
  for (size_t i = 0; i < xs.size(); ++i) {
    int64_t row = int64_t(i) / len, col = int64_t(i) % len;
    if (col >= len - 1 - row % 4) // every row keeps most keys
      xs[i] -= 10000;
  }
  return xs;
}

/// Runs the two-party softmax with \p sp on \p xs (frac 16), with the 0/1
/// \p mask when given.
NlRun runSoftmax(const std::vector<double> &xs, const Shape &shape,
                 const SoftmaxParams &sp, const RingTensor *mask = nullptr,
                 Link link = Link::Mem) {
  return runNl(
      xs, shape, 16, [&](Corr &c) { return dealSoftmax(c, shape, sp); },
      [&](Party &p, RingTensor x, const SoftmaxMat &m) {
        return softmax(p, std::move(x), sp, m, mask);
      },
      link);
}

} // namespace

TEST_CASE("softmax on [1,4,16,16] with masked keys", "[nonlinear][softmax]") {
  auto form = GENERATE(as<std::string>(), "exact", "puma");
  const ApproxInfo *info = approxInfo("softmax." + form);
  REQUIRE(info);
  Shape shape{1, 4, 16, 16};
  std::vector<double> xs = maskedScores(shape, 31);
  SoftmaxParams sp;
  sp.approx = info->id;
  NlRun r = runSoftmax(xs, shape, sp);
  std::vector<double> want = softmaxRef(r.in, 16);
  double err = maxDiff(r.out, want);
  WARN("softmax." << form << ": max abs err per probability " << err);
  CHECK(err <= info->maxAbsErr);
  for (size_t i = 0; i < xs.size(); ++i)
    if (xs[i] < -5000)
      CHECK(std::fabs(r.out[i]) < 1e-4);
  Cost f = softmaxCost(shape, sp);
  requireTrafficMatches(r.measured, f);
  INFO("rounds " << f.rounds);
  // max, then exp (1 + 8 for puma, 2 + 4 for exact) with the clip test
  // alongside, the reciprocal of the row sums (2-round comparison at 22
  // bits, bits, c, 2 iterations, result), the product.
  CHECK(f.rounds ==
        maxCost(shape, sp.inputBits).rounds + (form == "puma" ? 9 : 6) + 7 + 1);
}

TEST_CASE("softmax.crypten on masked rows of 16 and Gaussian rows of 128",
          "[nonlinear][softmax]") {
  // CrypTen's Newton reciprocal of the row sum in place of Goldschmidt:
  // sums up to the row length, so its bound must hold on rows of 128 too.
  const ApproxInfo *info = approxInfo("softmax.crypten");
  REQUIRE(info);
  int64_t len = GENERATE(int64_t(16), int64_t(128));
  Shape shape{1, 2, 8, len};
  std::vector<double> xs = maskedScores(shape, 35);
  if (len == 128) {
    std::mt19937_64 rng(36);
    for (double &x : xs)
      x = std::normal_distribution<double>(0, 2)(rng);
    for (int64_t j = 0; j < len; ++j) // the largest row sum: all equal
      xs[j] = 0;
  }
  SoftmaxParams sp;
  sp.approx = info->id;
  NlRun r = runSoftmax(xs, shape, sp);
  double err = maxDiff(r.out, softmaxRef(r.in, len));
  WARN("softmax.crypten on rows of " << len << ": max abs err " << err);
  CHECK(err <= info->maxAbsErr);
  Cost f = softmaxCost(shape, sp);
  requireTrafficMatches(r.measured, f);
  // max, exp (1 + 8) with the clip test alongside, Newton's reciprocal
  // (opening, exp 1 + 8, 10 iterations), the product.
  CHECK(f.rounds == maxCost(shape, sp.inputBits).rounds + 9 + 19 + 1);
  // Rows longer than Newton's domain are refused.
  CHECK(llvm::errorToBool(validateSoftmax(Shape{2, 256}, sp)));
}

TEST_CASE("softmax.scaling is x/n (times the mask) in one round",
          "[nonlinear][softmax]") {
  const ApproxInfo *info = approxInfo("softmax.scaling");
  REQUIRE(info);
  CHECK(info->needsTraining);
  bool masked = GENERATE(false, true);
  Shape shape{1, 2, 8, 12};
  std::mt19937_64 rng(37);
  std::vector<double> xs = uniform(rng, numElements(shape), -30, 30);
  RingTensor mask(Shape{1, 1, 1, 12});
  for (int64_t j = 0; j < 12; ++j)
    mask[j] = j < 9 ? 1 : 0;
  SoftmaxParams sp;
  sp.approx = info->id;
  NlRun r = runSoftmax(xs, shape, sp, masked ? &mask : nullptr);
  double err = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    double keep = masked && i % 12 >= 9 ? 0 : 1;
    err = std::max(err, std::fabs(r.out[i] - keep * r.in[i] / 12));
  }
  WARN("softmax.scaling: max abs err vs x/n " << err);
  CHECK(err <= info->maxAbsErr);
  Cost f = softmaxCost(shape, sp);
  requireTrafficMatches(r.measured, f);
  CHECK(f.rounds == 1);
}

TEST_CASE("softmax.exact on rows of 128 Gaussian scores",
          "[nonlinear][softmax]") {
  // Long rows put much of their mass 3..5 below the max, where an exp's
  // relative error must match the one at the max: the catalogue bound
  // must hold here too, not only on short rows.
  Shape shape{1, 4, 4, 128};
  std::mt19937_64 rng(34);
  std::vector<double> xs(numElements(shape));
  for (size_t i = 0; i < xs.size(); ++i) {
    double sd = 1 + double(i / 128 % 4); // rows with sd 1, 2, 3, 4
    xs[i] = std::normal_distribution<double>(0, sd)(rng);
  }
  // A row with one score 4.8 above 127 equal ones (mass split evenly).
  for (int64_t j = 0; j < 128; ++j)
    xs[j] = j == 0 ? 4.8 : 0;
  // The default, and the earlier one ((1 + u + u^2/2)^128, 7 squarings:
  // 3 rounds more, and up to ~4e-4 here), which is only reported.
  bool classic = GENERATE(false, true);
  SoftmaxParams sp;
  if (classic)
    sp.exp = {7, 16, 0, 2};
  NlRun r = runSoftmax(xs, shape, sp);
  double err = maxDiff(r.out, softmaxRef(r.in, 128));
  WARN("softmax.exact" << (classic ? " (7 squarings)" : "")
                       << " on rows of 128: max abs err per probability "
                       << err);
  if (!classic)
    CHECK(err <= approxInfo("softmax.exact")->maxAbsErr);
  requireTrafficMatches(r.measured, softmaxCost(shape, sp));
}

TEST_CASE("softmax.exact over TCP with a narrower input bound",
          "[nonlinear][softmax][tcp]") {
  Shape shape{3, 5};
  std::vector<double> xs = maskedScores(shape, 32);
  SoftmaxParams sp;
  sp.inputBits = 32;
  NlRun r = runSoftmax(xs, shape, sp, nullptr, Link::Tcp);
  CHECK(maxDiff(r.out, softmaxRef(r.in, 5)) <=
        approxInfo("softmax.exact")->maxAbsErr);
  requireTrafficMatches(r.measured, softmaxCost(shape, sp));
}

TEST_CASE("softmax.exact at the compiler's input bound takes the coarse max",
          "[nonlinear][softmax]") {
  // frac 16, --range-bits 15: inputs below 2^31, as bert-base's scores.
  Shape shape{2, 3, 128};
  std::mt19937_64 rng(37);
  std::vector<double> xs(numElements(shape));
  for (double &x : xs)
    x = std::normal_distribution<double>(0, 3)(rng);
  // Near-ties at the top of each row, where the coarse tests blur, and a
  // masked tail.
  for (int64_t r = 0; r < 6; ++r) {
    for (int64_t j = 0; j < 8; ++j)
      xs[r * 128 + j] = 9 + 0.001 * double(j);
    for (int64_t j = 120; j < 128; ++j)
      xs[r * 128 + j] -= 10000;
  }
  SoftmaxParams sp;
  sp.inputBits = softmaxInputBits(16, 15);
  REQUIRE(maxSkip(shape, sp.inputBits, 16) > 0);
  NlRun r = runSoftmax(xs, shape, sp);
  double err = maxDiff(r.out, softmaxRef(r.in, 128));
  WARN("softmax.exact with the coarse max: max abs err " << err);
  CHECK(err <= approxInfo("softmax.exact")->maxAbsErr);
  Cost f = softmaxCost(shape, sp);
  requireTrafficMatches(r.measured, f);
  // 7 levels of 3 rounds, then exp (6), the row sums' reciprocal (5: on
  // rows of 128 its 8 lanes, one per bucket, run alongside the comparison,
  // coarse at 25 bits, skip 1) and the product.
  CHECK(nl::normCompareSkip(16, 0, 8, false) == 1);
  CHECK(nl::rowsPerBucket(128, 0, 8));
  CHECK(f.rounds == 7 * 3 + 6 + 5 + 1);
}

TEST_CASE("softmax.2quad with a 0/1 key mask", "[nonlinear][softmax]") {
  const ApproxInfo *info = approxInfo("softmax.2quad");
  REQUIRE(info);
  Shape shape{1, 2, 8, 8};
  std::mt19937_64 rng(33);
  std::vector<double> xs = uniform(rng, 128, info->lo, info->hi);
  RingTensor mask(Shape{1, 1, 1, 8});
  for (int j = 0; j < 8; ++j)
    mask[j] = j < 6 ? 1 : 0;
  SoftmaxParams sp;
  sp.approx = Approximation::SoftmaxTwoQuad;
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runSoftmax(xs, shape, sp, &mask, link);
  std::vector<double> want(xs.size());
  for (int r0 = 0; r0 < 16; ++r0) {
    double s = 0;
    for (int j = 0; j < 8; ++j)
      s += want[r0 * 8 + j] =
          mask[j] * std::pow(r.in[r0 * 8 + j] + sp.quadC, 2);
    for (int j = 0; j < 8; ++j)
      want[r0 * 8 + j] /= s;
  }
  double err = maxDiff(r.out, want);
  WARN("softmax.2quad: max abs err vs its formula " << err);
  CHECK(err <= info->maxAbsErr);
  requireTrafficMatches(r.measured, softmaxCost(shape, sp));
}

/// 2Quad, (x + c)^2 mask / sum, in double.
static std::vector<double> twoQuadRef(const std::vector<double> &x, int64_t len,
                                      const std::vector<int> &mask, double c) {
  std::vector<double> out(x.size());
  for (size_t r = 0; r < x.size() / len; ++r) {
    double s = 0;
    for (int64_t j = 0; j < len; ++j)
      s += out[r * len + j] =
          mask[j] * (x[r * len + j] + c) * (x[r * len + j] + c);
    for (int64_t j = 0; j < len; ++j)
      out[r * len + j] /= s;
  }
  return out;
}

TEST_CASE("softmax.secformer is 2Quad with SecFormer's deflated division",
          "[nonlinear][softmax]") {
  const ApproxInfo *info = approxInfo("softmax.secformer");
  REQUIRE(info);
  CHECK(info->needsTraining);
  // Rows of 16, the last 2 keys masked; the row sums are deflated by 2^13
  // (>= 16 * 625 / 1.9; the largest sum on the domain [-5, 20] is 14 *
  // 625).
  const int64_t len = 16, nrows = 48;
  Shape shape{1, 3, 16, len};
  RingTensor mask(Shape{1, 1, 1, len});
  std::vector<int> m01(len);
  for (int j = 0; j < len; ++j)
    mask[j] = m01[j] = j < len - 2 ? 1 : 0;
  // Each row uniform on its own part of the domain, so that the deflated
  // sums y = s / 2^13 span 2e-7 .. 0.6 ([1.8, 2.4]: y ~ 0.086, just above
  // where the iteration's error falls below 1e-4); the last rows have one
  // key just above -5 and the rest at -5 (a tiny sum, one probability ~1).
  std::mt19937_64 rng(35);
  const std::vector<std::pair<double, double>> parts = {
      {-5, 20}, {-5, 5}, {0, 20}, {10, 20},  {-5, -3},
      {-3, 0},  {-5, 0}, {5, 10}, {1.8, 2.4}};
  std::vector<double> xs;
  for (int64_t r = 0; r < nrows; ++r) {
    std::vector<double> row;
    if (r >= nrows - 4) {
      row.assign(len, -5.0);
      row[r % 4] = -5 + 0.05 * double(1 + r % 4);
    } else {
      auto [lo, hi] = parts[r % parts.size()];
      row = uniform(rng, len, lo, hi);
    }
    xs.insert(xs.end(), row.begin(), row.end());
  }
  SoftmaxParams sp;
  sp.approx = Approximation::SoftmaxSecformer;
  NlRun r = runSoftmax(xs, shape, sp, &mask);
  std::vector<double> want = twoQuadRef(r.in, len, m01, sp.quadC);
  // Per row: the iteration leaves p (1 - y)^128 (Goldschmidt from below);
  // the rest is rounding.
  double maxErr = 0, maxRound = 0, accurate = 0;
  for (int64_t row = 0; row < nrows; ++row) {
    double s = 0;
    for (int64_t j = 0; j < len; ++j)
      s += m01[j] * std::pow(r.in[row * len + j] + sp.quadC, 2);
    double y = s / 8192, left = std::pow(1 - y, 128);
    for (int64_t j = 0; j < len; ++j) {
      size_t i = size_t(row * len + j);
      double err = std::fabs(r.out[i] - want[i]);
      maxErr = std::max(maxErr, err);
      maxRound = std::max(maxRound, std::fabs(r.out[i] - want[i] * (1 - left)));
      if (y > 0.08)
        accurate = std::max(accurate, err);
    }
  }
  WARN("softmax.secformer: max abs err vs 2Quad "
       << maxErr << "; vs p (1 - (1 - y)^128) " << maxRound
       << "; on rows with y > 0.08 " << accurate);
  CHECK(maxErr <= info->maxAbsErr);
  // The bound of 1 is reached: a row whose sum is tiny against 2^13 comes
  // out near 0.
  CHECK(maxErr > 0.9);
  CHECK(maxRound <= 1e-4);
  CHECK(accurate <= 1e-4);
  Cost f = softmaxCost(shape, sp);
  requireTrafficMatches(r.measured, f);
  // x's opening, the squares' truncation, the deflation's, 7 iterations,
  // the final product.
  CHECK(f.rounds == 2 + 1 + 7 + 1);
}

TEST_CASE("softmax.secformer refuses rows whose deflation does not fit",
          "[nonlinear][softmax]") {
  SoftmaxParams sp;
  sp.approx = Approximation::SoftmaxSecformer;
  // 3188 * 625 / 1.9 > 2^20.
  llvm::Error e = validateSoftmax({1, 3188}, sp);
  REQUIRE(bool(e));
  CHECK_THAT(llvm::toString(std::move(e)),
             Catch::Matchers::Contains("deflates the row sums by 2^21"));
  CHECK(!llvm::errorToBool(validateSoftmax({1, 3187}, sp)));
  // A model's c as large as a double goes: refused, not overflowed.
  sp.quadC = 1e300;
  llvm::Error huge = validateSoftmax({1, 8}, sp);
  REQUIRE(bool(huge));
  CHECK_THAT(llvm::toString(std::move(huge)),
             Catch::Matchers::Contains("deflates the row sums by 2^63"));
}

namespace {

struct LnCase {
  std::vector<double> x, gamma, beta;
};

/// Rows with means in [-20, 20] and standard deviations 0.05..200 (the
/// variance spans 2.5e-3..4e4).
LnCase lnInputs(int64_t rows, int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  LnCase c;
  std::normal_distribution<double> z(0, 1);
  for (int64_t r = 0; r < rows; ++r) {
    double mean = uniform(rng, 1, -20, 20)[0];
    double sd = logUniform(rng, 1, 0.05, 200)[0];
    for (int64_t j = 0; j < d; ++j)
      c.x.push_back(mean + sd * z(rng));
  }
  c.gamma = uniform(rng, d, 0.5, 1.5);
  c.beta = uniform(rng, d, -1, 1);
  return c;
}

std::vector<double> lnRef(const std::vector<double> &x, int64_t d, double eps,
                          const std::vector<double> *g,
                          const std::vector<double> *b) {
  std::vector<double> out(x.size());
  for (size_t r = 0; r < x.size() / d; ++r) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < d; ++j)
      mean += x[r * d + j] / d;
    for (int64_t j = 0; j < d; ++j)
      var += std::pow(x[r * d + j] - mean, 2) / d;
    for (int64_t j = 0; j < d; ++j) {
      double v = (x[r * d + j] - mean) / std::sqrt(var + eps);
      out[r * d + j] = g ? v * (*g)[j] + (*b)[j] : v;
    }
  }
  return out;
}

} // namespace

TEST_CASE("LayerNorm on [1,16,32] with a private gamma and beta",
          "[nonlinear][layernorm]") {
  const ApproxInfo *info = approxInfo("layernorm");
  REQUIRE(info);
  Shape shape{1, 16, 32};
  LnCase lc = lnInputs(16, 32, 41);
  RingTensor gamma = encodeTensor(lc.gamma, {32}, 16);
  RingTensor beta = encodeTensor(lc.beta, {32}, 16);
  LayerNormParams lp;
  lp.gammaWeightId = 7;
  Seed seed = randomSeed();
  WeightMasks masks[3] = {WeightMasks::withSeed(int(Role::P0), seed),
                          WeightMasks::forParty1(),
                          WeightMasks::withSeed(int(Role::Dealer), seed)};
  masks[1].setMasked(7, sub(gamma, masks[0].mask(7, {32})));
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runNl(
      lc.x, shape, 16,
      [&](Corr &c) {
        return dealLayerNorm(c, shape, lp, &masks[int(c.role())]);
      },
      [&](Party &p, RingTensor x, const LayerNormMat &m) {
        bool p0 = p.id() == 0;
        return layerNorm(p, std::move(x), lp, m, p0 ? &gamma : nullptr,
                         p0 ? &beta : nullptr);
      },
      link);
  std::vector<double> g = decodeTensor(gamma, 16), b = decodeTensor(beta, 16);
  double err = maxDiff(r.out, lnRef(r.in, 32, lp.eps, &g, &b));
  WARN("layernorm (private gamma/beta): max abs err " << err);
  CHECK(err <= info->maxAbsErr);
  Cost f = layerNormCost(shape, lp);
  requireTrafficMatches(r.measured, f);
  // Centre, Q, the variance tests (one wide level), their bits, rsqrt,
  // the output.
  CHECK(f.rounds == 9);
}

TEST_CASE("LayerNorm with public and with no gamma/beta",
          "[nonlinear][layernorm]") {
  Shape shape{1, 16, 32};
  LnCase lc = lnInputs(16, 32, 42);
  RingTensor gamma = encodeTensor(lc.gamma, {32}, 16);
  RingTensor beta = encodeTensor(lc.beta, {32}, 16);
  auto affine = GENERATE(LayerNormParams::Public, LayerNormParams::None);
  LayerNormParams lp;
  lp.affine = affine;
  lp.eps = 1e-5;
  NlRun r = runNl(
      lc.x, shape, 16, [&](Corr &c) { return dealLayerNorm(c, shape, lp); },
      [&](Party &p, RingTensor x, const LayerNormMat &m) {
        return layerNorm(p, std::move(x), lp, m, &gamma, &beta);
      });
  std::vector<double> g = decodeTensor(gamma, 16), b = decodeTensor(beta, 16);
  bool pub = affine == LayerNormParams::Public;
  double err = maxDiff(
      r.out, lnRef(r.in, 32, lp.eps, pub ? &g : nullptr, pub ? &b : nullptr));
  INFO("max abs err " << err);
  CHECK(err <= approxInfo("layernorm")->maxAbsErr);
  Cost f = layerNormCost(shape, lp);
  requireTrafficMatches(r.measured, f);
  // Centre, Q, the variance tests (one wide level), their bits, rsqrt,
  // the output.
  CHECK(f.rounds == 9);
}

TEST_CASE("LayerNorm on long rows runs its rsqrt per bucket, two rounds "
          "fewer",
          "[nonlinear][layernorm]") {
  // Rows of 256: the rsqrt's 28 lanes (buckets 2^-12 .. 2^16) are at most
  // an eighth of a row, so they run from the variance's opening alongside
  // its tests (NonlinearBuild.h, Buckets); every entry that normalises.
  auto form = GENERATE(as<std::string>(), "layernorm", "layernorm.puma",
                       "layernorm.spulow");
  const ApproxInfo *info = approxInfo(form);
  REQUIRE(info);
  Shape shape{1, 6, 256};
  LnCase lc = lnInputs(6, 256, 44);
  RingTensor gamma = encodeTensor(lc.gamma, {256}, 16);
  RingTensor beta = encodeTensor(lc.beta, {256}, 16);
  LayerNormParams lp =
      std::get<LayerNormParams>(approxParams(info->id, 16, 15));
  lp.affine = LayerNormParams::Public;
  lp.eps = 1e-5;
  REQUIRE(nl::rowsPerBucket(256, lp.rsqrt.minExp, lp.rsqrt.maxBits));
  NlRun r = runNl(
      lc.x, shape, 16, [&](Corr &c) { return dealLayerNorm(c, shape, lp); },
      [&](Party &p, RingTensor x, const LayerNormMat &m) {
        return layerNorm(p, std::move(x), lp, m, &gamma, &beta);
      });
  std::vector<double> g = decodeTensor(gamma, 16), b = decodeTensor(beta, 16);
  double err = maxDiff(r.out, lnRef(r.in, 256, lp.eps, &g, &b));
  WARN(form << " per bucket: max abs err " << err);
  CHECK(err <= info->maxAbsErr);
  Cost f = layerNormCost(shape, lp);
  requireTrafficMatches(r.measured, f);
  // Centre, Q, the rsqrt's stages (its tests and their bits alongside),
  // the output: two fewer than on rows of 32 (9, 8 and 8).
  CHECK(f.rounds == (form == "layernorm" ? 7u : 6u));
}

TEST_CASE("LayerNorm with an rsqrt that iterates on a fixed domain",
          "[nonlinear][layernorm]") {
  // CrypTen's Newton rsqrt and SecFormer's Goldschmidt rsqrt: no
  // normalisation, so rows must have var + eps in the rsqrt's domain; the
  // rows here span it, its ends included (each row's draws scaled to the
  // variance exactly).
  auto entry =
      GENERATE(as<std::string>(), "layernorm.crypten", "layernorm.secformer");
  const ApproxInfo *info = approxInfo(entry);
  REQUIRE(info);
  const ApproxInfo &rsqrtInfo = approxInfo(layerNormRsqrt(info->id));
  Shape shape{1, 16, 32};
  std::mt19937_64 rng(43);
  std::normal_distribution<double> z(0, 1);
  std::vector<double> xs;
  for (int r0 = 0; r0 < 16; ++r0) {
    double var = r0 == 0   ? rsqrtInfo.lo
                 : r0 == 1 ? rsqrtInfo.hi
                           : logUniform(rng, 1, rsqrtInfo.lo, rsqrtInfo.hi)[0];
    double mean = uniform(rng, 1, -5, 5)[0];
    std::vector<double> row(32);
    double m = 0, v = 0;
    for (double &x : row)
      m += x = z(rng);
    m /= 32;
    for (double &x : row)
      v += (x - m) * (x - m);
    v /= 32;
    for (double &x : row)
      xs.push_back(mean + (x - m) * std::sqrt(var / v));
  }
  LayerNormParams lp;
  lp.affine = LayerNormParams::None;
  lp.rsqrt.approx = rsqrtInfo.id;
  lp.rsqrt.iters = rsqrtIters(rsqrtInfo.id);
  auto link = GENERATE(Link::Mem, Link::Tcp);
  NlRun r = runNl(
      xs, shape, 16, [&](Corr &c) { return dealLayerNorm(c, shape, lp); },
      [&](Party &p, RingTensor x, const LayerNormMat &m) {
        return layerNorm(p, std::move(x), lp, m);
      },
      link);
  double err = maxDiff(r.out, lnRef(r.in, 32, lp.eps, nullptr, nullptr));
  WARN(entry << ": max abs err " << err);
  CHECK(err <= info->maxAbsErr);
  Cost f = layerNormCost(shape, lp);
  requireTrafficMatches(r.measured, f);
  // centre, Q, var + eps, the rsqrt, output. The Newton rsqrt: exp (8: its
  // input is already premasked), y0, 3 steps of 2 rounds; SecFormer's: 7
  // iterations of one round.
  CHECK(f.rounds ==
        1 + 1 + 1 + (entry == "layernorm.crypten" ? 8 + 1 + 6 : 7) + 1);
}
