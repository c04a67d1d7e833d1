//===- runtime/protocols/CompareMax.cpp - Max over an axis, clipping ------===//
//
// maxLastAxis: a tournament over the last axis. Each level pairs elements
// (2i, 2i+1) of every row and keeps max(u, v) = v + relu(u - v), one ReLU
// over all pairs of all rows (|u - v| < 2^(bits+1), so it runs at
// bits + 1). An odd last element passes to the next level unchanged.
// ceil(log2 m) levels.
//
// The coarse max (skip > 0) runs its ReLUs at bits + 2 with coarse sign
// tests (Compare.h): |u - v| < 2^(bits+1) <= 2^(bits+2) - 2^skip, so the
// only blur is u - v in [-2^skip, 0) read as >= 0, where v + relu(u - v)
// keeps u, less than 2^skip below v. Each level loses at most 2^skip
// against the larger of its pairs, so the result is an element of the row
// at most levels * 2^skip below its max. At softmax's 31 bits (frac 16,
// range 15) the exact ReLUs at 32 bits take two tree levels; with skip 9
// they take one: 7 rounds fewer over a row of 128 (28 -> 21).
//
// clip(x) = lo + hi - x + relu(x - lo) - relu(hi - x) for lo <= hi: below
// lo the first ReLU is 0 and the second hi - x; above hi the reverse. Both
// ReLUs run as one of 2n elements.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Compare.h"

#include <cassert>

namespace mpc::rt {

namespace {

/// Rows and the last-axis length of a max input.
std::pair<int64_t, int64_t> rowsAndLength(llvm::ArrayRef<int64_t> shape) {
  assert(!shape.empty() && shape.back() >= 1 &&
         "max needs a non-empty last axis");
  int64_t m = shape.back();
  return {numElements(shape) / m, m};
}

/// The ReLUs' bits: differences need bits + 1; a coarse test one more, so
/// that its blur is only below zero.
int reluBits(int bits, int skip) { return skip > 0 ? bits + 2 : bits + 1; }

int levelsOf(int64_t m) {
  int levels = 0;
  for (int64_t cur = m; cur > 1; cur = (cur + 1) / 2)
    ++levels;
  return levels;
}

} // namespace

MaxMat dealMax(Corr &c, llvm::ArrayRef<int64_t> shape, int bits, int skip) {
  assert(bits >= 1 && reluBits(bits, skip) <= kMaxCompareBits &&
         "max bits out of range");
  auto [rows, m] = rowsAndLength(shape);
  MaxMat mat;
  mat.skip = skip;
  for (int64_t cur = m; cur > 1; cur = (cur + 1) / 2)
    mat.levels.push_back(
        dealRelu(c, {rows * (cur / 2)}, reluBits(bits, skip), skip));
  return mat;
}

Proto<RingTensor> maxLastAxis(Party &p, RingTensor x, const MaxMat &mat,
                              int bits) {
  std::pair<int64_t, int64_t> dims = rowsAndLength(x.shape());
  int64_t rows = dims.first, m = dims.second;
  Shape outShape(x.shape().begin(), x.shape().end());
  outShape.back() = 1;
  std::vector<u64> cur = std::move(x.vec());
  size_t level = 0;
  for (int64_t len = m; len > 1; len = (len + 1) / 2, ++level) {
    assert(level < mat.levels.size() && "max material has too few levels");
    // max(u, v) = v + relu(u - v) for the pairs (u, v) = (x_2i, x_2i+1).
    int64_t half = len / 2, next = (len + 1) / 2;
    RingTensor diff(Shape{rows * half});
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < half; ++i)
        diff[r * half + i] = cur[r * len + 2 * i] - cur[r * len + 2 * i + 1];
    RingTensor fix = co_await relu(p, std::move(diff), mat.levels[level],
                                   reluBits(bits, mat.skip));
    std::vector<u64> out(rows * next);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < half; ++i)
        out[r * next + i] = cur[r * len + 2 * i + 1] + fix[r * half + i];
      if (len % 2)
        out[r * next + half] = cur[r * len + len - 1];
    }
    cur = std::move(out);
  }
  co_return RingTensor(outShape, std::move(cur));
}

Cost maxCost(llvm::ArrayRef<int64_t> shape, int bits, int skip) {
  auto [rows, m] = rowsAndLength(shape);
  Cost c;
  for (int64_t cur = m; cur > 1; cur = (cur + 1) / 2)
    c.then(reluCost(rows * (cur / 2), reluBits(bits, skip), skip));
  return c;
}

int maxSkip(llvm::ArrayRef<int64_t> shape, int bits, int frac) {
  constexpr int kOneLevelBits = 24; // 4 leaves of 6 bits, one node
  int levels = levelsOf(rowsAndLength(shape).second);
  int skip = reluBits(bits, 1) - kOneLevelBits;
  if (levels == 0 || reluBits(bits, 0) <= kOneLevelBits ||
      reluBits(bits, 1) > kMaxCompareBits)
    return 0;
  // levels * 2^skip <= 2^(frac - kMaxSlackBits).
  int levelBits = 0;
  while ((1 << levelBits) < levels)
    ++levelBits;
  int room = frac - kMaxSlackBits - levelBits;
  return skip <= room ? skip : 0;
}

int64_t maxSlack(llvm::ArrayRef<int64_t> shape, int skip) {
  return skip > 0 ? int64_t(levelsOf(rowsAndLength(shape).second)) << skip : 0;
}

ClipMat dealClip(Corr &c, llvm::ArrayRef<int64_t> shape, int bits) {
  assert(bits >= 1 && bits <= kMaxCompareBits - 1 && "clip bits out of range");
  return ClipMat{dealRelu(c, {2 * numElements(shape)}, bits + 1)};
}

Proto<RingTensor> clip(Party &p, RingTensor x, u64 lo, u64 hi, const ClipMat &m,
                       int bits) {
  assert(int64_t(lo) <= int64_t(hi) && "clip bounds out of order");
  int64_t n = x.size();
  if (n == 0)
    co_return x;
  bool p0 = p.id() == 0;
  u64 loP = p0 ? lo : 0, hiP = p0 ? hi : 0;
  // clip(x) = lo + hi - x + relu(x - lo) - relu(hi - x).
  RingTensor args(Shape{2 * n});
  for (int64_t i = 0; i < n; ++i) {
    args[i] = x[i] - loP;
    args[n + i] = hiP - x[i];
  }
  RingTensor rl = co_await relu(p, std::move(args), m.relu, bits + 1);
  for (int64_t i = 0; i < n; ++i)
    x[i] = loP + hiP - x[i] + rl[i] - rl[n + i];
  co_return x;
}

Cost clipCost(int64_t n, int bits) { return reluCost(2 * n, bits + 1); }

} // namespace mpc::rt
