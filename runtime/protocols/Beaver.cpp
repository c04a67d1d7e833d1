//===- runtime/protocols/Beaver.cpp - Beaver products on shares -----------===//
//
// Element-wise multiplication and squaring with Beaver triples, and the
// shared x shared matrix product with matrix triples. Each opens the masked
// operands in one round (both directions at once) and finishes locally.
// Triples are dealt with a, b from the parties' PRG seeds (no bytes) and
// only c's correction travelling to party 1.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Arith.h"

#include <cassert>

namespace mpc::rt {

namespace {

/// Appends x - a to \p out.
void appendMasked(std::vector<u64> &out, const RingTensor &x,
                  const RingTensor &a) {
  assert(x.shape() == a.shape() && "operand and mask shapes differ");
  size_t base = out.size();
  out.resize(base + x.size());
  const u64 *xs = x.data(), *as = a.data();
  u64 *o = out.data() + base;
  for (int64_t i = 0, n = x.size(); i < n; ++i)
    o[i] = xs[i] - as[i];
}

/// Opens words: mine[off + i] + theirs[off + i] for i < n.
RingTensor opened(llvm::ArrayRef<int64_t> shape, const std::vector<u64> &mine,
                  const std::vector<u64> &theirs, size_t off,
                  int ringBits = kFullRingBits) {
  RingTensor t(shape);
  u64 *o = t.data();
  for (int64_t i = 0, n = t.size(); i < n; ++i)
    o[i] = lowBits(mine[off + i] + theirs[off + i], ringBits);
  return t;
}

/// The batch dims and matrix dims of X [..., m, k] . Y [..., k, n].
struct MatDims {
  Shape out;
  int64_t batch = 1, m = 0, k = 0, n = 0;
};

MatDims matDims(llvm::ArrayRef<int64_t> xShape,
                llvm::ArrayRef<int64_t> yShape) {
  assert(xShape.size() >= 2 && yShape.size() >= 2 && "matmul needs rank >= 2");
  assert(xShape.size() == yShape.size() &&
         xShape.drop_back(2) == yShape.drop_back(2) &&
         "matmulShared operands need equal batch dims");
  MatDims d;
  d.m = xShape[xShape.size() - 2];
  d.k = xShape.back();
  d.n = yShape.back();
  assert(yShape[yShape.size() - 2] == d.k && "inner dimensions differ");
  d.out.assign(xShape.begin(), xShape.end());
  d.out.back() = d.n;
  for (int64_t b : xShape.drop_back(2))
    d.batch *= b;
  return d;
}

} // namespace

// --- Element-wise product ----------------------------------------------------

MulTriple dealMul(Corr &c, llvm::ArrayRef<int64_t> shape) {
  MulTriple t;
  t.a = c.random(shape);
  t.b = c.random(shape);
  t.c =
      c.shareOf(shape, [&] { return mul(Corr::value(t.a), Corr::value(t.b)); });
  return t;
}

Proto<RingTensor> mul(Party &p, RingTensor x, RingTensor y,
                      const MulTriple &t) {
  assert(x.shape() == y.shape() && "mul operands differ in shape");
  const RingTensor &a = t.a.mine(p.id()), &b = t.b.mine(p.id());
  const RingTensor &c = t.c.mine(p.id());
  int64_t n = x.size();
  if (n == 0)
    co_return x;
  // One round: d = x - a and e = y - b travel together.
  std::vector<u64> mine;
  mine.reserve(2 * n);
  appendMasked(mine, x, a);
  appendMasked(mine, y, b);
  std::vector<u64> theirs = co_await p.exchange(mine, size_t(2 * n));
  assert(int64_t(theirs.size()) == 2 * n && "peer sent the wrong size");

  // z = c + d*b + e*a (+ d*e on party 0).
  RingTensor z(x.shape());
  u64 *zs = z.data();
  const u64 *as = a.data(), *bs = b.data(), *cs = c.data();
  bool p0 = p.id() == 0;
  for (int64_t i = 0; i < n; ++i) {
    u64 d = mine[i] + theirs[i], e = mine[n + i] + theirs[n + i];
    u64 v = cs[i] + d * bs[i] + e * as[i];
    zs[i] = p0 ? v + d * e : v;
  }
  co_return z;
}

Cost mulCost(int64_t n) {
  Cost c;
  if (n == 0)
    return c;
  c.rounds = 1;
  c.bytes01 = c.bytes10 = wordBytes(2 * n);
  c.dealerBytes1 = wordBytes(n);
  c.elemOps = 3.0 * n;
  return c;
}

// --- Square ------------------------------------------------------------------

SquarePair dealSquare(Corr &c, llvm::ArrayRef<int64_t> shape) {
  SquarePair t;
  t.a = c.random(shape);
  t.aa = c.shareOf(shape, [&] {
    RingTensor a = Corr::value(t.a);
    return mul(a, a);
  });
  return t;
}

Proto<RingTensor> square(Party &p, RingTensor x, const SquarePair &t) {
  const RingTensor &a = t.a.mine(p.id()), &aa = t.aa.mine(p.id());
  int64_t n = x.size();
  if (n == 0)
    co_return x;
  std::vector<u64> mine;
  mine.reserve(n);
  appendMasked(mine, x, a);
  std::vector<u64> theirs = co_await p.exchange(mine, size_t(n));
  assert(int64_t(theirs.size()) == n && "peer sent the wrong size");

  // x^2 = (d + a)^2 = aa + 2 d a + d^2 (d^2 on party 0).
  RingTensor z(x.shape());
  u64 *zs = z.data();
  const u64 *as = a.data(), *aas = aa.data();
  bool p0 = p.id() == 0;
  for (int64_t i = 0; i < n; ++i) {
    u64 d = mine[i] + theirs[i];
    u64 v = aas[i] + 2 * d * as[i];
    zs[i] = p0 ? v + d * d : v;
  }
  co_return z;
}

Cost squareCost(int64_t n) {
  Cost c;
  if (n == 0)
    return c;
  c.rounds = 1;
  c.bytes01 = c.bytes10 = wordBytes(n);
  c.dealerBytes1 = wordBytes(n);
  c.elemOps = 2.0 * n;
  return c;
}

// --- Shared x shared matrix product -----------------------------------------

MatTriple dealMatMul(Corr &c, llvm::ArrayRef<int64_t> xShape,
                     llvm::ArrayRef<int64_t> yShape) {
  MatDims d = matDims(xShape, yShape);
  MatTriple t;
  t.a = c.random(xShape);
  t.b = c.random(yShape);
  t.c = c.shareOf(d.out,
                  [&] { return matmul(Corr::value(t.a), Corr::value(t.b)); });
  return t;
}

Proto<RingTensor> matmulShared(Party &p, RingTensor x, RingTensor y,
                               const MatTriple &t, int ringBits) {
  MatDims dims = matDims(x.shape(), y.shape());
  const RingTensor &a = t.a.mine(p.id()), &b = t.b.mine(p.id());
  const RingTensor &c = t.c.mine(p.id());
  int64_t nx = x.size(), ny = y.size();
  if (nx + ny == 0)
    co_return RingTensor(dims.out);
  // One round: D = X - A and E = Y - B travel together.
  std::vector<u64> mine;
  mine.reserve(nx + ny);
  appendMasked(mine, x, a);
  appendMasked(mine, y, b);
  std::vector<u64> theirs =
      co_await exchangeRing(p, mine, size_t(nx + ny), ringBits);
  RingTensor d = opened(x.shape(), mine, theirs, 0, ringBits);
  RingTensor e = opened(y.shape(), mine, theirs, nx, ringBits);

  // Z_p = C_p + D.B_p + X_p.E: the parties' sum is
  // (X - A).B + X.(Y - B) + A.B = X.Y, two matmuls per party.
  RingTensor z = c;
  addInPlace(z, matmul(d, b));
  addInPlace(z, matmul(x, e));
  co_return z;
}

Cost matmulSharedCost(llvm::ArrayRef<int64_t> xShape,
                      llvm::ArrayRef<int64_t> yShape, int ringBits) {
  MatDims d = matDims(xShape, yShape);
  uint64_t nx = numElements(xShape), ny = numElements(yShape);
  Cost c;
  if (nx + ny == 0)
    return c;
  c.rounds = 1;
  c.bytes01 = c.bytes10 = wordBytes(packedWords(nx + ny, ringBits));
  c.dealerBytes1 = wordBytes(numElements(d.out));
  c.macs = 2.0 * d.batch * d.m * d.k * d.n;
  return c;
}

} // namespace mpc::rt
