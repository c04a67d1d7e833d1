//===- tests/unit/protocols/CompareSelectTest.cpp - Select, ReLU, clip ----===//
//
// The protocols built on the sign test, each exact against a plaintext
// computation on the ring encodings and with measured traffic equal to its
// cost formula: select (arithmetic and XOR-shared bit), ReLU on fixed-point
// values, and clipping to public fixed-point bounds.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Compare.h"

#include "../TwoParty.h"
#include "CompareTestUtil.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

constexpr int kFrac = 16;

/// Fixed-point encodings of uniform reals in [-range, range].
RingTensor randomFixed(int64_t n, double range, std::mt19937_64 &rng) {
  std::uniform_real_distribution<double> dist(-range, range);
  RingTensor t(Shape{n});
  for (int64_t i = 0; i < n; ++i)
    t[i] = encodeFixed(dist(rng), kFrac);
  return t;
}

int64_t asSigned(u64 v) { return int64_t(v); }

} // namespace

TEST_CASE("select picks with an arithmetic bit", "[compare][select]") {
  auto link = GENERATE(Link::Mem, Link::Tcp);
  for (int64_t n : {1, 77, 3000}) {
    std::mt19937_64 rng(n);
    RingTensor bit(Shape{n}), a(Shape{n}), b(Shape{n});
    for (int64_t i = 0; i < n; ++i) {
      bit[i] = rng() & 1;
      a[i] = rng();
      b[i] = rng();
    }
    auto sbit = shareOut(bit, rng), sa = shareOut(a, rng),
         sb = shareOut(b, rng);
    auto res = runTwoParty([&](Corr &c) { return dealSelect(c, {n}); },
                           [&](Party &p, const SelectMat &m) {
                             int i = p.id();
                             return select(p, sbit[i], sa[i], sb[i], m);
                           },
                           link);
    RingTensor z = reconstruct(res.out[0], res.out[1]);
    for (int64_t i = 0; i < n; ++i)
      REQUIRE(z[i] == (bit[i] ? a[i] : b[i]));
    requireTrafficMatches(res.measured, selectCost(n));
  }
}

TEST_CASE("lessThanZero then select composes", "[compare][select]") {
  // min(x, y) = [x - y < 0] ? x : y with the arithmetic bit API.
  int64_t n = 500;
  std::mt19937_64 rng(5);
  RingTensor x = randomFixed(n, 1000, rng), y = randomFixed(n, 1000, rng);
  auto sx = shareOut(x, rng), sy = shareOut(y, rng);
  struct Mat {
    CompareMat cmp;
    SelectMat sel;
  };
  auto res = runTwoParty(
      [&](Corr &c) {
        return Mat{dealLessThanZero(c, {n}, 30), dealSelect(c, {n})};
      },
      [&](Party &p, const Mat &m) -> Proto<RingTensor> {
        RingTensor xs = sx[p.id()], ys = sy[p.id()];
        RingTensor bit = co_await lessThanZero(p, sub(xs, ys), m.cmp, 30);
        co_return co_await select(p, bit, xs, ys, m.sel);
      });
  RingTensor z = reconstruct(res.out[0], res.out[1]);
  for (int64_t i = 0; i < n; ++i)
    REQUIRE(asSigned(z[i]) == std::min(asSigned(x[i]), asSigned(y[i])));
  Cost want = lessThanZeroCost(n, 30).then(selectCost(n));
  requireTrafficMatches(res.measured, want);
}

TEST_CASE("selectBits picks with an XOR-shared bit", "[compare][select]") {
  for (int64_t n : {1, 64, 129, 2000}) {
    std::mt19937_64 rng(n + 9);
    std::vector<int> bits(n);
    RingTensor a(Shape{n}), b(Shape{n});
    for (int64_t i = 0; i < n; ++i) {
      bits[i] = int(rng() & 1);
      a[i] = rng();
      b[i] = rng();
    }
    auto sbit = shareBits(bits, {n}, rng);
    auto sa = shareOut(a, rng), sb = shareOut(b, rng);
    auto res = runTwoParty([&](Corr &c) { return dealMulBit(c, {n}); },
                           [&](Party &p, const MulBitMat &m) {
                             int i = p.id();
                             return selectBits(p, sbit[i], sa[i], sb[i], m);
                           });
    RingTensor z = reconstruct(res.out[0], res.out[1]);
    for (int64_t i = 0; i < n; ++i)
      REQUIRE(z[i] == (bits[i] ? a[i] : b[i]));
    requireTrafficMatches(res.measured, selectBitsCost(n));
  }
}

TEST_CASE("relu is exact on fixed-point values", "[compare][relu]") {
  auto link = GENERATE(Link::Mem, Link::Tcp);
  for (int bits : {24, 30, 62})
    for (int64_t n : {1, 65, 10000}) {
      INFO("bits = " << bits << ", n = " << n);
      std::mt19937_64 rng(bits * 7 + n);
      // |x| < 200 at 16 fractional bits is below 2^24.
      RingTensor x = randomFixed(n, 200, rng);
      x[0] = 0;
      if (n > 1)
        x[1] = encodeFixed(-1.0 / 65536, kFrac); // -1 ulp
      auto sx = shareOut(x, rng);
      auto res = runTwoParty([&](Corr &c) { return dealRelu(c, {n}, bits); },
                             [&](Party &p, const ReluMat &m) {
                               return relu(p, sx[p.id()], m, bits);
                             },
                             link);
      RingTensor z = reconstruct(res.out[0], res.out[1]);
      int64_t errors = 0;
      for (int64_t i = 0; i < n; ++i)
        errors += asSigned(z[i]) != std::max<int64_t>(asSigned(x[i]), 0);
      CHECK(errors == 0);
      requireTrafficMatches(res.measured, reluCost(n, bits));
    }
}

TEST_CASE("relu is exact at the domain edges", "[compare][relu]") {
  for (int bits : {8, 36, 62}) {
    std::mt19937_64 rng(bits);
    std::vector<int64_t> v = domainValues(20000, bits, rng);
    int64_t n = int64_t(v.size());
    RingTensor x = ringOf(v, {n});
    auto sx = shareOut(x, rng);
    auto res = runTwoParty([&](Corr &c) { return dealRelu(c, {n}, bits); },
                           [&](Party &p, const ReluMat &m) {
                             return relu(p, sx[p.id()], m, bits);
                           });
    RingTensor z = reconstruct(res.out[0], res.out[1]);
    int64_t errors = 0;
    for (int64_t i = 0; i < n; ++i)
      errors += asSigned(z[i]) != std::max<int64_t>(v[i], 0);
    CHECK(errors == 0);
  }
}

TEST_CASE("clip clamps to public fixed-point bounds", "[compare][clip]") {
  auto link = GENERATE(Link::Mem, Link::Tcp);
  struct Case {
    double lo, hi;
  };
  for (Case bounds : {Case{-3.5, 2.25}, Case{-14, 0}, Case{1, 1}})
    for (int64_t n : {1, 63, 5000}) {
      INFO("bounds [" << bounds.lo << ", " << bounds.hi << "], n = " << n);
      std::mt19937_64 rng(n);
      const int bits = 24;
      RingTensor x = randomFixed(n, 20, rng);
      u64 lo = encodeFixed(bounds.lo, kFrac);
      u64 hi = encodeFixed(bounds.hi, kFrac);
      x[0] = lo; // values on the bounds and next to them
      if (n > 3) {
        x[1] = hi;
        x[2] = lo - 1;
        x[3] = hi + 1;
      }
      auto sx = shareOut(x, rng);
      auto res = runTwoParty([&](Corr &c) { return dealClip(c, {n}, bits); },
                             [&](Party &p, const ClipMat &m) {
                               return clip(p, sx[p.id()], lo, hi, m, bits);
                             },
                             link);
      RingTensor z = reconstruct(res.out[0], res.out[1]);
      int64_t errors = 0;
      for (int64_t i = 0; i < n; ++i) {
        int64_t want = std::clamp(asSigned(x[i]), asSigned(lo), asSigned(hi));
        errors += asSigned(z[i]) != want;
      }
      CHECK(errors == 0);
      requireTrafficMatches(res.measured, clipCost(n, bits));
    }
}

TEST_CASE("clip at full width", "[compare][clip]") {
  const int bits = 62;
  int64_t n = 3000;
  std::mt19937_64 rng(99);
  std::vector<int64_t> v = domainValues(n, bits, rng);
  RingTensor x = ringOf(v, {n});
  int64_t lo = -(int64_t(1) << 61), hi = (int64_t(1) << 60) + 12345;
  auto sx = shareOut(x, rng);
  auto res =
      runTwoParty([&](Corr &c) { return dealClip(c, {n}, bits); },
                  [&](Party &p, const ClipMat &m) {
                    return clip(p, sx[p.id()], u64(lo), u64(hi), m, bits);
                  });
  RingTensor z = reconstruct(res.out[0], res.out[1]);
  for (int64_t i = 0; i < n; ++i)
    REQUIRE(asSigned(z[i]) == std::clamp(v[i], lo, hi));
  requireTrafficMatches(res.measured, clipCost(n, bits));
}
