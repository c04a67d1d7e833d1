//===- tests/unit/runtime/RingTest.cpp - Ring tensors and fixed point -----===//
//
// Element-wise ring kernels against naive loops (including wrap-around),
// numpy broadcasting, arithmetic shifts, and fixed-point encoding.
//
//===----------------------------------------------------------------------===//

#include "runtime/Ring.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

using namespace mpc::rt;

namespace {

RingTensor randomTensor(llvm::ArrayRef<int64_t> shape, std::mt19937_64 &rng) {
  RingTensor t(shape);
  for (int64_t i = 0; i < t.size(); ++i)
    t[i] = rng();
  return t;
}

} // namespace

TEST_CASE("RingTensor basics", "[ring]") {
  RingTensor t({2, 3});
  CHECK(t.size() == 6);
  CHECK(t.rank() == 2);
  CHECK(t.dim(-1) == 3);
  for (int64_t i = 0; i < t.size(); ++i)
    CHECK(t[i] == 0);
  RingTensor r = RingTensor({2, 3}, {1, 2, 3, 4, 5, 6}).reshaped({3, 2});
  CHECK(r.dim(0) == 3);
  CHECK(r[5] == 6);
  CHECK(numElements({}) == 1);
  CHECK(numElements({4, 0, 2}) == 0);
  CHECK(shapeString({2, 3}) == "[2, 3]");
  CHECK(RingTensor().empty());
}

TEST_CASE("Element-wise ops match naive loops with wrap-around", "[ring]") {
  std::mt19937_64 rng(7);
  // Large enough to take the multi-threaded path.
  int64_t n = GENERATE(5, 300001);
  RingTensor a = randomTensor({n}, rng), b = randomTensor({n}, rng);
  a[0] = ~u64(0); // 2^64 - 1: adding 1 wraps to 0.
  b[0] = 1;
  RingTensor s = add(a, b), d = sub(b, a), m = mul(a, b), ng = neg(a);
  RingTensor ms = mulScalar(a, 12345), as = addScalar(a, 99);
  for (int64_t i = 0; i < n; ++i) {
    REQUIRE(s[i] == a[i] + b[i]);
    REQUIRE(d[i] == b[i] - a[i]);
    REQUIRE(m[i] == a[i] * b[i]);
    REQUIRE(ng[i] == u64(0) - a[i]);
    REQUIRE(ms[i] == a[i] * 12345);
    REQUIRE(as[i] == a[i] + 99);
  }
  CHECK(s[0] == 0);
  CHECK(d[0] == 2);
  RingTensor acc = a;
  addInPlace(acc, b);
  CHECK(acc.vec() == s.vec());
  subInPlace(acc, b);
  CHECK(acc.vec() == a.vec());
}

TEST_CASE("shiftRightArith sign-extends", "[ring]") {
  RingTensor a(
      {4}, {u64(-1000), 1000, u64(std::numeric_limits<i64>::min()), u64(-1)});
  RingTensor s = shiftRightArith(a, 3);
  CHECK(i64(s[0]) == -125);
  CHECK(i64(s[1]) == 125);
  CHECK(i64(s[2]) == std::numeric_limits<i64>::min() / 8);
  CHECK(i64(s[3]) == -1); // floor(-1 / 8)
  CHECK(shiftRightArith(a, 0).vec() == a.vec());
}

TEST_CASE("Fixed-point encode/decode round trip", "[ring][fixed]") {
  CHECK(encodeFixed(1.0, 16) == 65536);
  CHECK(encodeFixed(-1.0, 16) == u64(-65536));
  CHECK(i64(encodeFixed(-2.5, 1)) == -5);
  // Round to nearest.
  CHECK(encodeFixed(1.0 / 3, 4) == 5);         // 5.33 -> 5
  CHECK(i64(encodeFixed(-0.8 / 16, 4)) == -1); // -0.8 -> -1
  CHECK(encodeFixed(0.0, 16) == 0);
  for (double x : {0.0, 1.5, -1.5, 3.14159, -1e6, 1e6, -1e-5, 1234.5678}) {
    double back = decodeFixed(encodeFixed(x, 16), 16);
    CHECK(std::abs(back - x) <= 0.5 / 65536 + 1e-12);
  }
  CHECK(decodeFixed(u64(-3) << 16, 16) == -3.0);
  // Out-of-range values saturate instead of being undefined.
  CHECK(encodeFixed(1e30, 16) == u64(std::numeric_limits<i64>::max()));
  CHECK(encodeFixed(-1e30, 16) == u64(std::numeric_limits<i64>::min()));
  std::vector<double> xs = {0.25, -0.75, 2.0, -3.5, 100.125, -0.0};
  RingTensor t = encodeTensor(xs, {2, 3}, 12);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(decodeTensor(t, 12) == xs);
}

TEST_CASE("Fixed-point product then truncation", "[ring][fixed]") {
  // (x * 2^f)(y * 2^f) >> f is the fixed-point product: a plaintext sanity
  // check of the arithmetic the protocols perform on shares.
  RingTensor x = encodeTensor({1.5, -2.25, -0.5}, {3}, 16);
  RingTensor y = encodeTensor({-4.0, -2.0, 0.5}, {3}, 16);
  std::vector<double> z = decodeTensor(shiftRightArith(mul(x, y), 16), 16);
  CHECK(z == std::vector<double>{-6.0, 4.5, -0.25});
}

TEST_CASE("broadcastTo follows numpy", "[ring][broadcast]") {
  RingTensor row({3}, {1, 2, 3});
  RingTensor b = broadcastTo(row, {2, 3});
  CHECK(b.vec() == std::vector<u64>{1, 2, 3, 1, 2, 3});
  RingTensor col({2, 1}, {7, 8});
  CHECK(broadcastTo(col, {2, 3}).vec() == std::vector<u64>{7, 7, 7, 8, 8, 8});
  RingTensor mid({2, 1, 2}, {1, 2, 3, 4});
  RingTensor m = broadcastTo(mid, {3, 2, 2, 2});
  CHECK(m.shape() == Shape{3, 2, 2, 2});
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        for (int64_t k = 0; k < 2; ++k)
          REQUIRE(m[((o * 2 + i) * 2 + j) * 2 + k] == mid[i * 2 + k]);
  RingTensor scalar({}, {5});
  CHECK(broadcastTo(scalar, {2, 2}).vec() == std::vector<u64>(4, 5));
}

TEST_CASE("Broadcast binary ops", "[ring][broadcast]") {
  std::mt19937_64 rng(3);
  RingTensor a = randomTensor({4, 1, 5}, rng);
  RingTensor b = randomTensor({3, 1}, rng);
  RingTensor s = addBroadcast(a, b), d = subBroadcast(a, b),
             m = mulBroadcast(a, b);
  REQUIRE(s.shape() == Shape{4, 3, 5});
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 5; ++k) {
        int64_t o = (i * 3 + j) * 5 + k;
        REQUIRE(s[o] == a[i * 5 + k] + b[j]);
        REQUIRE(d[o] == a[i * 5 + k] - b[j]);
        REQUIRE(m[o] == a[i * 5 + k] * b[j]);
      }
  // Scalar on either side, and the equal-shape fast path.
  RingTensor one({1}, {10});
  CHECK(subBroadcast(one, a)[3] == 10 - a[3]);
  CHECK(addBroadcast(a, a).vec() == add(a, a).vec());
  // Bias over the last axis, as in a linear layer.
  RingTensor x = randomTensor({2, 3, 4}, rng), bias = randomTensor({4}, rng);
  RingTensor y = addBroadcast(x, bias);
  for (int64_t i = 0; i < x.size(); ++i)
    REQUIRE(y[i] == x[i] + bias[i % 4]);
}
