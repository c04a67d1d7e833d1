//===- tests/unit/protocols/ArithBeaverTest.cpp - Beaver products ---------===//
//
// mul, square and matmulShared between two real parties: exact ring results
// on uniform ring elements against plaintext loops, fixed-point products
// followed by truncation against double arithmetic (within 1 ulp), and
// measured traffic equal to the cost formulas.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Arith.h"
#include "runtime/protocols/Trunc.h"

#include "../TwoParty.h"
#include "ArithTestUtil.h"

#include <cmath>

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

struct MulTrunc {
  MulTriple mul;
  TruncPair trunc;
};

struct MatTrunc {
  MatTriple mul;
  TruncPair trunc;
};

Proto<RingTensor> mulThenTrunc(Party &p, RingTensor x, RingTensor y, int f,
                               const MulTrunc &m) {
  RingTensor z = co_await mul(p, std::move(x), std::move(y), m.mul);
  co_return co_await truncate(p, std::move(z), f, m.trunc);
}

Proto<RingTensor> matmulThenTrunc(Party &p, RingTensor x, RingTensor y, int f,
                                  const MatTrunc &m, int ring) {
  RingTensor z =
      co_await matmulShared(p, std::move(x), std::move(y), m.mul, ring);
  co_return co_await truncate(p, std::move(z), f, m.trunc, ring);
}

/// Fixed-point encodings of uniform reals in [-range, range).
std::vector<double> uniformReals(std::mt19937_64 &rng, int64_t n,
                                 double range) {
  std::uniform_real_distribution<double> dist(-range, range);
  std::vector<double> v(n);
  for (double &d : v)
    d = dist(rng);
  return v;
}

} // namespace

TEST_CASE("mul is the exact ring product", "[arith][beaver]") {
  // Over TLS too: the counters see application bytes, so the measured
  // traffic is still the cost formula's.
  Link link = GENERATE(Link::Mem, Link::Tcp, Link::Tls);
  std::mt19937_64 rng(101);
  Shape shape{3, 7, 5};
  RingTensor x = randomRing(rng, shape), y = randomRing(rng, shape);
  auto xs = splitShares(rng, x), ys = splitShares(rng, y);

  auto run = runTwoParty([&](Corr &c) { return dealMul(c, shape); },
                         [&](Party &p, const MulTriple &t) {
                           return mul(p, xs[p.id()], ys[p.id()], t);
                         },
                         link);
  RingTensor want(shape);
  for (int64_t i = 0; i < want.size(); ++i)
    want[i] = x[i] * y[i];
  CHECK(countMismatches(reconstruct(run.out[0], run.out[1]), want) == 0);
  requireTrafficMatches(run.measured, mulCost(x.size()));
  CHECK(run.measured.bytes01 == 16 * uint64_t(x.size()));
}

TEST_CASE("square is the exact ring square", "[arith][beaver]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  std::mt19937_64 rng(102);
  Shape shape{1000};
  RingTensor x = randomRing(rng, shape);
  auto xs = splitShares(rng, x);

  auto run = runTwoParty(
      [&](Corr &c) { return dealSquare(c, shape); },
      [&](Party &p, const SquarePair &t) { return square(p, xs[p.id()], t); },
      link);
  RingTensor want(shape);
  for (int64_t i = 0; i < want.size(); ++i)
    want[i] = x[i] * x[i];
  CHECK(countMismatches(reconstruct(run.out[0], run.out[1]), want) == 0);
  requireTrafficMatches(run.measured, squareCost(x.size()));
  CHECK(run.measured.bytes10 == 8 * uint64_t(x.size()));
}

TEST_CASE("matmulShared is the exact batched ring matmul", "[arith][beaver]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  // 2-D, batched over heads, and with two batch dims.
  auto [xShape, yShape] =
      GENERATE(std::pair<Shape, Shape>{{7, 9}, {9, 4}},
               std::pair<Shape, Shape>{{3, 4, 6}, {3, 6, 5}},
               std::pair<Shape, Shape>{{2, 3, 5, 8}, {2, 3, 8, 5}});
  std::mt19937_64 rng(103);
  RingTensor x = randomRing(rng, xShape), y = randomRing(rng, yShape);
  auto xs = splitShares(rng, x), ys = splitShares(rng, y);

  auto run = runTwoParty([&](Corr &c) { return dealMatMul(c, xShape, yShape); },
                         [&](Party &p, const MatTriple &t) {
                           return matmulShared(p, xs[p.id()], ys[p.id()], t);
                         },
                         link);
  RingTensor got = reconstruct(run.out[0], run.out[1]);
  CHECK(countMismatches(got, naiveMatmul(x, y)) == 0);
  requireTrafficMatches(run.measured, matmulSharedCost(xShape, yShape));
  CHECK(run.measured.bytes01 == 8 * uint64_t(x.size() + y.size()));
  CHECK(run.measured.dealerBytes1 == 8 * uint64_t(got.size()));
}

TEST_CASE("fixed-point mul then truncate is within 1 ulp of double",
          "[arith][beaver][trunc]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  int f = GENERATE(12, 16, 24);
  std::mt19937_64 rng(104 + f);
  const int64_t n = 4096;
  Shape shape{n};
  // |x|, |y| < min(2^8, 2^(30-f)) keeps the product below 2^60.
  double range = std::min(256.0, std::ldexp(1.0, 30 - f));
  RingTensor x = encodeTensor(uniformReals(rng, n, range), shape, f);
  RingTensor y = encodeTensor(uniformReals(rng, n, range), shape, f);
  auto xs = splitShares(rng, x), ys = splitShares(rng, y);

  auto run = runTwoParty(
      [&](Corr &c) {
        MulTriple m = dealMul(c, shape);
        return MulTrunc{std::move(m), dealTrunc(c, shape, f)};
      },
      [&](Party &p, const MulTrunc &m) {
        return mulThenTrunc(p, xs[p.id()], ys[p.id()], f, m);
      },
      link);
  std::vector<double> got =
      decodeTensor(reconstruct(run.out[0], run.out[1]), f);
  // Compare with the exact product of the encoded inputs: truncation gives
  // floor or floor + 1, so the error is below 1 ulp (the brief allows 2).
  double ulp = std::ldexp(1.0, -f), worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    double want = decodeFixed(x[i], f) * decodeFixed(y[i], f);
    worst = std::max(worst, std::fabs(got[i] - want));
  }
  INFO("worst error " << worst / ulp << " ulp");
  CHECK(worst < ulp * (1 + 1e-9));
  Cost want = mulCost(n);
  want.then(truncCost(n));
  requireTrafficMatches(run.measured, want);
}

TEST_CASE("fixed-point matmulShared then truncate is within 1 ulp",
          "[arith][beaver][trunc]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  // |x.y| < 2^9 here, 2^41 at scale 32: a 44-bit ring holds it, and the
  // product's openings then need only 44 bits (Narrow.h).
  int ring = GENERATE(64, 49, 44);
  INFO("ring " << ring);
  const int f = 16;
  std::mt19937_64 rng(105);
  Shape xShape{2, 6, 32}, yShape{2, 32, 5}, zShape{2, 6, 5};
  RingTensor x =
      encodeTensor(uniformReals(rng, numElements(xShape), 4), xShape, f);
  RingTensor y =
      encodeTensor(uniformReals(rng, numElements(yShape), 4), yShape, f);
  auto xs = splitShares(rng, x), ys = splitShares(rng, y);

  auto run = runTwoParty(
      [&](Corr &c) {
        MatTriple m = dealMatMul(c, xShape, yShape);
        return MatTrunc{std::move(m), dealTrunc(c, zShape, f, ring)};
      },
      [&](Party &p, const MatTrunc &m) {
        return matmulThenTrunc(p, xs[p.id()], ys[p.id()], f, m, ring);
      },
      link);
  std::vector<double> got =
      decodeTensor(reconstruct(run.out[0], run.out[1]), f);
  double ulp = std::ldexp(1.0, -f), worst = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t j = 0; j < 5; ++j) {
        double want = 0;
        for (int64_t l = 0; l < 32; ++l)
          want += decodeFixed(x[(b * 6 + i) * 32 + l], f) *
                  decodeFixed(y[(b * 32 + l) * 5 + j], f);
        worst = std::max(worst, std::fabs(got[(b * 6 + i) * 5 + j] - want));
      }
  INFO("worst error " << worst / ulp << " ulp");
  CHECK(worst < ulp * (1 + 1e-9));
  Cost want = matmulSharedCost(xShape, yShape, ring);
  want.then(truncCost(numElements(zShape), ring));
  requireTrafficMatches(run.measured, want);
}

TEST_CASE("Beaver cost formulas", "[arith][cost]") {
  CHECK(mulCost(10).bytes01 == 160);
  CHECK(mulCost(10).dealerBytes1 == 80);
  CHECK(squareCost(10).bytes10 == 80);
  Cost mm = matmulSharedCost({12, 128, 64}, {12, 64, 128});
  CHECK(mm.rounds == 1);
  CHECK(mm.bytes01 == 8ull * (12 * 128 * 64 * 2));
  CHECK(mm.dealerBytes1 == 8ull * 12 * 128 * 128);
  CHECK(mm.macs == 2.0 * 12 * 128 * 64 * 128);
}
