//===- tests/unit/runtime/RingMatmulTest.cpp - The ring matmul kernel -----===//
//
// The blocked, vectorised, threaded ring matmul against a naive triple loop:
// odd shapes (partial register tiles and partial blocks), batched and shared
// operands, accumulation, several thread counts, and a large product.
//
//===----------------------------------------------------------------------===//

#include "runtime/Ring.h"

#include <catch2/catch.hpp>

#include <random>
#include <thread>

using namespace mpc::rt;

namespace {

RingTensor randomTensor(llvm::ArrayRef<int64_t> shape, std::mt19937_64 &rng) {
  RingTensor t(shape);
  for (int64_t i = 0; i < t.size(); ++i)
    t[i] = rng();
  return t;
}

/// C[m,n] = A[m,k] . B[k,n], the obvious way.
std::vector<u64> naive(const u64 *a, const u64 *b, int64_t m, int64_t k,
                       int64_t n) {
  std::vector<u64> c(m * n, 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j)
        c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}

/// Restores the thread count when a test changes it.
struct ThreadsGuard {
  int saved = ringThreads();
  ~ThreadsGuard() { setRingThreads(saved); }
};

} // namespace

TEST_CASE("matmul matches the naive product on odd shapes", "[matmul]") {
  ThreadsGuard guard;
  setRingThreads(GENERATE(1, 2, 3));
  std::mt19937_64 rng(11);
  auto [m, k, n] = GENERATE(table<int64_t, int64_t, int64_t>({{1, 1, 1},
                                                              {7, 13, 5},
                                                              {8, 24, 24},
                                                              {9, 25, 23},
                                                              {1, 300, 1},
                                                              {33, 257, 49},
                                                              {130, 520, 770},
                                                              {3, 0, 4},
                                                              {0, 5, 2}}));
  CAPTURE(m, k, n, ringThreads());
  RingTensor a = randomTensor({m, k}, rng), b = randomTensor({k, n}, rng);
  RingTensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{m, n});
  CHECK(c.vec() == naive(a.data(), b.data(), m, k, n));
}

TEST_CASE("matmulRaw accumulates", "[matmul]") {
  std::mt19937_64 rng(5);
  int64_t m = 10, k = 300, n = 30;
  RingTensor a = randomTensor({m, k}, rng), b = randomTensor({k, n}, rng);
  RingTensor c = randomTensor({m, n}, rng);
  std::vector<u64> expect = naive(a.data(), b.data(), m, k, n);
  for (int64_t i = 0; i < m * n; ++i)
    expect[i] += c[i];
  matmulRaw(a.data(), b.data(), c.data(), m, k, n, /*accumulate=*/true);
  CHECK(c.vec() == expect);
  matmulRaw(a.data(), b.data(), c.data(), m, k, n);
  CHECK(c.vec() == naive(a.data(), b.data(), m, k, n));
}

TEST_CASE("Batched matmul, per-batch and shared B", "[matmul]") {
  std::mt19937_64 rng(9);
  ThreadsGuard guard;
  setRingThreads(GENERATE(1, 2));
  int64_t m = 17, k = 9, n = 26;
  RingTensor a = randomTensor({2, 3, m, k}, rng);
  RingTensor b = randomTensor({2, 3, k, n}, rng);
  RingTensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{2, 3, m, n});
  for (int64_t t = 0; t < 6; ++t) {
    std::vector<u64> ref =
        naive(a.data() + t * m * k, b.data() + t * k * n, m, k, n);
    REQUIRE(std::equal(ref.begin(), ref.end(), c.data() + t * m * n));
  }
  RingTensor shared = randomTensor({k, n}, rng);
  RingTensor cs = matmul(a, shared);
  REQUIRE(cs.shape() == Shape{2, 3, m, n});
  for (int64_t t = 0; t < 6; ++t) {
    std::vector<u64> ref = naive(a.data() + t * m * k, shared.data(), m, k, n);
    REQUIRE(std::equal(ref.begin(), ref.end(), cs.data() + t * m * n));
  }
}

TEST_CASE("Large matmul matches the naive product", "[matmul][large]") {
  std::mt19937_64 rng(13);
  int64_t m = 128, k = 768, n = 300;
  RingTensor a = randomTensor({m, k}, rng), b = randomTensor({k, n}, rng);
  CHECK(matmul(a, b).vec() == naive(a.data(), b.data(), m, k, n));
  // Many small heads, as in attention.
  RingTensor q = randomTensor({12, 64, 32}, rng);
  RingTensor kt = randomTensor({12, 32, 64}, rng);
  RingTensor s = matmul(q, kt);
  for (int64_t h = 0; h < 12; ++h) {
    std::vector<u64> ref =
        naive(q.data() + h * 64 * 32, kt.data() + h * 32 * 64, 64, 32, 64);
    REQUIRE(std::equal(ref.begin(), ref.end(), s.data() + h * 64 * 64));
  }
}

TEST_CASE("Concurrent matmuls from two threads", "[matmul]") {
  // The two parties of an in-process run call matmul at the same time.
  std::mt19937_64 rng(17);
  int64_t m = 64, k = 256, n = 200;
  RingTensor a = randomTensor({m, k}, rng), b = randomTensor({k, n}, rng);
  std::vector<u64> ref = naive(a.data(), b.data(), m, k, n);
  bool ok[2] = {true, true};
  auto work = [&](int t) {
    for (int i = 0; i < 20; ++i)
      ok[t] = ok[t] && matmul(a, b).vec() == ref;
  };
  std::thread other(work, 1);
  work(0);
  other.join();
  CHECK(ok[0]);
  CHECK(ok[1]);
}

TEST_CASE("Fixed-point matmul then truncation", "[matmul][fixed]") {
  RingTensor x = encodeTensor({1.5, -2.0, 0.25, 4.0}, {2, 2}, 16);
  RingTensor w = encodeTensor({2.0, -1.0, 0.5, 3.0}, {2, 2}, 16);
  std::vector<double> y = decodeTensor(shiftRightArith(matmul(x, w), 16), 16);
  CHECK(y == std::vector<double>{2.0, -7.5, 2.5, 11.75});
}
