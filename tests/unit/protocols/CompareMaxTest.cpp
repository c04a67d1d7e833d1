//===- tests/unit/protocols/CompareMaxTest.cpp - Max over the last axis ---===//
//
// maxLastAxis against a plaintext max for the shapes softmax and pooling
// use, including a length-1 axis (no rounds), odd lengths (an element
// passes a level unchanged), ties, and full-width values; measured traffic
// must equal maxCost exactly.
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

/// Opens max over the last axis of \p v (shape \p shape) and checks it.
void checkMax(llvm::ArrayRef<int64_t> shape, const std::vector<int64_t> &v,
              int bits, Link link, std::mt19937_64 &rng) {
  RingTensor x = ringOf(v, shape);
  auto sx = shareOut(x, rng);
  auto res = runTwoParty([&](Corr &c) { return dealMax(c, shape, bits); },
                         [&](Party &p, const MaxMat &m) {
                           return maxLastAxis(p, sx[p.id()], m, bits);
                         },
                         link);
  RingTensor z = reconstruct(res.out[0], res.out[1]);
  int64_t len = shape.back(), rows = x.size() / len;
  Shape want(shape.begin(), shape.end());
  want.back() = 1;
  REQUIRE(z.shape() == want);
  int64_t errors = 0;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t m =
        *std::max_element(v.begin() + r * len, v.begin() + (r + 1) * len);
    errors += int64_t(z[r]) != m;
  }
  CHECK(errors == 0);
  requireTrafficMatches(res.measured, maxCost(shape, bits));
}

} // namespace

TEST_CASE("max over the last axis is exact", "[compare][max]") {
  struct Case {
    Shape shape;
    int bits;
  };
  std::vector<Case> cases = {
      {{3, 1}, 30},         {{2, 7}, 30},    {{4, 128}, 30},
      {{12, 128, 128}, 24}, {{5, 3}, 62},    {{2, 7}, 62},
      {{4, 128}, 62},       {{1, 1000}, 20}, {{9}, 12}};
  for (const Case &c : cases) {
    INFO("shape " << shapeString(c.shape) << ", bits " << c.bits);
    std::mt19937_64 rng(numElements(c.shape) + c.bits);
    std::vector<int64_t> v = domainValues(numElements(c.shape), c.bits, rng);
    std::shuffle(v.begin(), v.end(), rng); // spread the edge values
    checkMax(c.shape, v, c.bits, Link::Mem, rng);
  }
}

TEST_CASE("max handles ties and constant rows", "[compare][max]") {
  std::mt19937_64 rng(4);
  Shape shape{6, 5};
  std::vector<int64_t> v = {3,  3,  3,  3,  3,  // constant
                            -7, -7, -9, -7, -8, // tied maximum
                            0,  -1, 0,  -1, 0,  // zeros
                            -5, -4, -3, -2, -1, // increasing
                            9,  8,  7,  6,  5,  // decreasing
                            -1, 1,  -1, 1,  -(1 << 19)};
  checkMax(shape, v, 20, Link::Mem, rng);
}

TEST_CASE("a coarse max keeps an element within its slack of the max",
          "[compare][max]") {
  // Softmax's scores at frac 16 and range 15: |x| < 2^31, rows of 128.
  constexpr int bits = 31, frac = 16;
  Shape shape{24, 128};
  int skip = maxSkip(shape, bits, frac);
  REQUIRE(skip == 9);
  int64_t slack = maxSlack(shape, skip);
  CHECK(slack == 7 * 512);
  CHECK(slack <= (int64_t(1) << (frac - kMaxSlackBits)));
  std::mt19937_64 rng(12);
  std::vector<int64_t> v = domainValues(numElements(shape), bits, rng);
  std::shuffle(v.begin(), v.end(), rng);
  // Rows 0-7: near-ties, every element within 2^skip of the max, where the
  // coarse tests blur; rows 8-11: the domain's edges.
  for (int64_t r = 0; r < 8; ++r)
    for (int64_t j = 0; j < 128; ++j)
      v[r * 128 + j] = int64_t(r) * 100000 - int64_t(rng() % 600);
  int64_t edge = (int64_t(1) << bits) - 1;
  for (int64_t r = 8; r < 12; ++r)
    for (int64_t j = 0; j < 128; ++j)
      v[r * 128 + j] = (j + r) % 2 ? edge - int64_t(j) : -edge + int64_t(j);
  RingTensor x = ringOf(v, shape);
  auto sx = shareOut(x, rng);
  auto res = runTwoParty([&](Corr &c) { return dealMax(c, shape, bits, skip); },
                         [&](Party &p, const MaxMat &m) {
                           return maxLastAxis(p, sx[p.id()], m, bits);
                         },
                         Link::Mem);
  RingTensor z = reconstruct(res.out[0], res.out[1]);
  int64_t notAnElement = 0, tooLow = 0, belowMax = 0;
  for (int64_t r = 0; r < 24; ++r) {
    auto row = llvm::ArrayRef<int64_t>(v).slice(r * 128, 128);
    int64_t m = *std::max_element(row.begin(), row.end());
    int64_t got = int64_t(z[r]);
    notAnElement += std::find(row.begin(), row.end(), got) == row.end();
    tooLow += got < m - slack;
    belowMax += got < m;
  }
  CHECK(notAnElement == 0);
  CHECK(tooLow == 0);
  // The near-tie rows do lose a little: the max really is coarse.
  CHECK(belowMax > 0);
  requireTrafficMatches(res.measured, maxCost(shape, bits, skip));
  // One round fewer per level: 7 levels of 3 rounds instead of 4.
  CHECK(maxCost(shape, bits, skip).rounds == 7 * 3);
  CHECK(maxCost(shape, bits).rounds == 7 * 4);
  // No coarse max where the exact one is already one level, where the
  // slack would exceed 2^-4, or for a single element.
  CHECK(maxSkip(shape, 22, frac) == 0);
  CHECK(maxSkip(shape, 60, frac) == 0);
  CHECK(maxSkip({5, 1}, bits, frac) == 0);
}

TEST_CASE("max over TCP", "[compare][max][tcp]") {
  std::mt19937_64 rng(8);
  Shape shape{3, 37};
  std::vector<int64_t> v = domainValues(numElements(shape), 40, rng);
  std::shuffle(v.begin(), v.end(), rng);
  checkMax(shape, v, 40, Link::Tcp, rng);
}

TEST_CASE("max cost: rounds per level and level count", "[compare][max]") {
  // 128 -> 64 -> ... -> 1: 7 levels; at bits 24 the differences compare at
  // 25 bits: 3 rounds + 1 mulBit round per level.
  CHECK(maxCost({4, 128}, 24).rounds == 7 * 4);
  // A length-1 axis needs no protocol at all.
  CHECK(maxCost({3, 1}, 24).sameTraffic(Cost{}));
  // 23 bits: differences at 24 bits, 2 + 1 rounds per level.
  CHECK(maxCost({2, 7}, 23).rounds == 3 * 3);
}
