//===- tests/unit/protocols/ArithTestUtil.h - Test inputs -------*- C++ -*-===//
//
// Small helpers shared by the arithmetic and truncation tests: random ring
// tensors from a seeded generator, additive sharing in the clear (the test
// plays both owners), and plaintext reference kernels written independently
// of the runtime's optimised ones.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Ring.h"

#include <array>
#include <random>

namespace mpc::rt::testing {

/// Uniform ring elements.
inline RingTensor randomRing(std::mt19937_64 &rng,
                             llvm::ArrayRef<int64_t> shape) {
  RingTensor t(shape);
  for (int64_t i = 0; i < t.size(); ++i)
    t[i] = rng();
  return t;
}

/// Additive shares (x0 uniform, x1 = x - x0).
inline std::array<RingTensor, 2> splitShares(std::mt19937_64 &rng,
                                             const RingTensor &x) {
  RingTensor x0 = randomRing(rng, x.shape());
  RingTensor x1(x.shape());
  for (int64_t i = 0; i < x.size(); ++i)
    x1[i] = x[i] - x0[i];
  return {x0, x1};
}

/// Reference batched ring matmul: X [..., m, k] . Y [..., k, n] with equal
/// batch dims, or Y [k, n] shared by every batch. Naive triple loop.
inline RingTensor naiveMatmul(const RingTensor &x, const RingTensor &y) {
  int64_t m = x.dim(-2), k = x.dim(-1), n = y.dim(-1);
  int64_t batch = x.size() / (m * k);
  bool sharedY = y.rank() == 2;
  Shape out(x.shape().begin(), x.shape().end());
  out.back() = n;
  RingTensor z(out);
  for (int64_t b = 0; b < batch; ++b) {
    const u64 *xb = x.data() + b * m * k;
    const u64 *yb = y.data() + (sharedY ? 0 : b * k * n);
    u64 *zb = z.data() + b * m * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        u64 acc = 0;
        for (int64_t l = 0; l < k; ++l)
          acc += xb[i * k + l] * yb[l * n + j];
        zb[i * n + j] = acc;
      }
  }
  return z;
}

/// Counts positions where two tensors differ (0 when equal; shapes must
/// match).
inline int64_t countMismatches(const RingTensor &a, const RingTensor &b) {
  if (a.shape() != b.shape())
    return -1;
  int64_t bad = 0;
  for (int64_t i = 0; i < a.size(); ++i)
    bad += a[i] != b[i];
  return bad;
}

} // namespace mpc::rt::testing
