//===- tests/unit/protocols/CompareTestUtil.h - Test inputs --*- C++ -*-===//
//
// Helpers of the comparison tests: signed values spread over a whole domain
// |x| < 2^bits at every magnitude (random bit lengths, so small and large
// values are both common) plus the edge values, additive sharing in the
// clear, and opening of XOR-shared bits.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Ring.h"
#include "runtime/protocols/Compare.h"

#include <array>
#include <cstdint>
#include <random>
#include <vector>

namespace mpc::rt::testing {

/// n signed values with |v| <= 2^bits - 1: first the edge values (0, +-1,
/// +-(2^bits - 1), +-2^(bits-1), ...), then values of uniformly random bit
/// length and sign.
inline std::vector<int64_t> domainValues(int64_t n, int bits,
                                         std::mt19937_64 &rng) {
  int64_t top = int64_t((uint64_t(1) << bits) - 1);
  std::vector<int64_t> v = {0, 1, -1, top, -top};
  if (bits >= 2) {
    int64_t half = int64_t(1) << (bits - 1);
    v.insert(v.end(),
             {2, -2, half, -half, half - 1, -(half - 1), top - 1, -(top - 1)});
  }
  v.resize(std::min<int64_t>(int64_t(v.size()), n));
  while (int64_t(v.size()) < n) {
    int len = int(rng() % (bits + 1)); // magnitude below 2^len
    uint64_t mag = len == 0 ? 0 : rng() & ((uint64_t(1) << len) - 1);
    int64_t s = int64_t(mag);
    v.push_back(rng() & 1 ? -s : s);
  }
  return v;
}

inline RingTensor ringOf(const std::vector<int64_t> &v,
                         llvm::ArrayRef<int64_t> shape) {
  RingTensor t(shape);
  for (int64_t i = 0; i < t.size(); ++i)
    t[i] = uint64_t(v[i]);
  return t;
}

/// Additive shares (share 0 uniform).
inline std::array<RingTensor, 2> shareOut(const RingTensor &x,
                                          std::mt19937_64 &rng) {
  RingTensor x0(x.shape()), x1(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) {
    x0[i] = rng();
    x1[i] = x[i] - x0[i];
  }
  return {x0, x1};
}

/// The clear bits behind two XOR shares.
inline std::vector<int> openBits(const SharedBits &a, const SharedBits &b) {
  std::vector<int> out(a.size());
  for (int64_t i = 0; i < a.size(); ++i)
    out[i] = int(((a.words[i / 64] ^ b.words[i / 64]) >> (i % 64)) & 1);
  return out;
}

/// Random bits as XOR shares.
inline std::array<SharedBits, 2> shareBits(const std::vector<int> &bits,
                                           llvm::ArrayRef<int64_t> shape,
                                           std::mt19937_64 &rng) {
  std::array<SharedBits, 2> s;
  int64_t nw = (int64_t(bits.size()) + 63) / 64;
  for (SharedBits &b : s) {
    b.shape.assign(shape.begin(), shape.end());
    b.words.assign(nw, 0);
  }
  for (int64_t q = 0; q < nw; ++q)
    s[0].words[q] = rng();
  for (size_t i = 0; i < bits.size(); ++i)
    s[1].words[i / 64] ^= uint64_t(bits[i] & 1) << (i % 64);
  for (int64_t q = 0; q < nw; ++q)
    s[1].words[q] ^= s[0].words[q];
  return s;
}

} // namespace mpc::rt::testing
