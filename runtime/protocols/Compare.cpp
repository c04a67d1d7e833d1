//===- runtime/protocols/Compare.cpp - Select, ReLU, max, clip ------------===//
//
// Everything built on lessThanZeroBits (CompareBits.cpp):
//
// bitToArith: open e = b ^ rho; b = e ^ rho = e + (1 - 2e) rho over the ring,
//   linear in the arithmetic shares of rho.
// mulBit: open e = b ^ rho and d = y - a in the same round; then
//   b y = e y + (1 - 2e) rho y and rho y = d rho + a rho, so
//   [b y] = e [y] + (1 - 2e) (d [rho] + [a rho]),
//   linear in the dealer's shares of rho and a rho. One round, 8 bytes and
//   one bit each way per element (a Beaver product opens 16 bytes).
// relu: the sign test opens c = x' + r mod 2^L with x' = x + 2^K and
//   L = K + 2 (64 at most). x' < 2^(L-1), so as in Trunc.h x' = c - q
//   over the integers, with q = r mod 2^L when msb(c) = 1 and
//   q = r mod 2^L - 2^L msb(r) when msb(c) = 0 (a wrap); the dealer shares
//   both candidates. With s = [x >= 0] and e = s ^ rho opened,
//   x s = (c - 2^K) [s] - [q s],  [s] = e + (1 - 2e) [rho],
//   [q s] = e [q] + (1 - 2e) [q rho]:
//   one bit each way in the last round instead of a whole product, and
//   K + 2 bits instead of 64 in the first; the dealer adds shares of rho,
//   both q and both q * rho. max and clip are ReLUs (CompareMax.cpp).
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Compare.h"
#include "runtime/protocols/BitPack.h"
#include "runtime/protocols/CompareImpl.h"
#include "runtime/protocols/Trunc.h"

#include <algorithm>
#include <cassert>

namespace mpc::rt {

using bits::wordsFor;

int compareBitsForRange(int frac, int rangeBits) {
  return std::min(kFullCompareBits, frac + rangeBits + 1);
}

int maxRangeBits(int frac) { return kFullCompareBits - 1 - frac; }

// --- XOR-shared bits ---------------------------------------------------------

SharedBits xorBits(const SharedBits &a, const SharedBits &b) {
  assert(a.shape == b.shape && a.words.size() == b.words.size() &&
         "xorBits operands differ in shape");
  SharedBits r = a;
  for (size_t q = 0; q < r.words.size(); ++q)
    r.words[q] ^= b.words[q];
  return r;
}

SharedBits notBits(const Party &p, SharedBits a) {
  if (p.id() == 0)
    for (u64 &w : a.words)
      w = ~w;
  return a;
}

namespace {

/// Arithmetic 0/1 per element of a bit plane.
RingTensor planeToInts(llvm::ArrayRef<int64_t> shape, const RingTensor &plane) {
  RingTensor t(shape);
  for (int64_t i = 0, n = t.size(); i < n; ++i)
    t[i] = (plane[i / 64] >> (i % 64)) & 1;
  return t;
}

} // namespace

// --- Bit to arithmetic -------------------------------------------------------

BitToArithMat dealBitToArith(Corr &c, llvm::ArrayRef<int64_t> shape) {
  BitToArithMat m;
  int64_t n = numElements(shape);
  if (n == 0)
    return m;
  m.rho = c.randomBits({wordsFor(n)});
  m.rhoArith = c.shareOf(
      shape, [&] { return planeToInts(shape, Corr::xorValue(m.rho)); });
  return m;
}

Proto<RingTensor> bitToArith(Party &p, SharedBits b, const BitToArithMat &m) {
  int64_t n = b.size();
  RingTensor z(b.shape);
  if (n == 0)
    co_return z;
  int64_t nw = wordsFor(n);
  const RingTensor &rho = m.rho.mine(p.id());
  const RingTensor &rhoA = m.rhoArith.mine(p.id());
  assert(int64_t(b.words.size()) == nw && rhoA.size() == n &&
         "bitToArith material has the wrong size");
  std::vector<u64> mine(nw);
  for (int64_t q = 0; q < nw; ++q)
    mine[q] = b.words[q] ^ rho[q];
  bits::clearTail(mine, n);
  std::vector<u64> theirs = co_await p.exchange(mine, size_t(nw));
  assert(int64_t(theirs.size()) == nw && "peer sent the wrong size");
  bool p0 = p.id() == 0;
  for (int64_t i = 0; i < n; ++i) {
    u64 e = ((mine[i / 64] ^ theirs[i / 64]) >> (i % 64)) & 1;
    z[i] = (p0 ? e : 0) + (1 - 2 * e) * rhoA[i];
  }
  co_return z;
}

Cost bitToArithCost(int64_t n) {
  Cost c;
  if (n == 0)
    return c;
  c.rounds = 1;
  c.bytes01 = c.bytes10 = bitBytes(n);
  c.dealerBytes1 = wordBytes(n);
  c.elemOps = double(n);
  return c;
}

// --- Multiplication by a bit -------------------------------------------------

MulBitMat dealMulBit(Corr &c, llvm::ArrayRef<int64_t> shape) {
  MulBitMat m;
  int64_t n = numElements(shape);
  if (n == 0)
    return m;
  m.rho = c.randomBits({wordsFor(n)});
  m.a = c.random(shape);
  RingTensor rhoInts;
  if (c.isDealer())
    rhoInts = planeToInts(shape, Corr::xorValue(m.rho));
  m.rhoArith = c.shareOf(shape, [&] { return rhoInts; });
  m.aRho = c.shareOf(shape, [&] { return mul(Corr::value(m.a), rhoInts); });
  return m;
}

Proto<RingTensor> mulBit(Party &p, SharedBits b, RingTensor y,
                         const MulBitMat &m) {
  assert(b.shape == y.shape() && "mulBit operands differ in shape");
  int64_t n = y.size();
  if (n == 0)
    co_return y;
  int64_t nw = wordsFor(n);
  const RingTensor &rho = m.rho.mine(p.id()), &a = m.a.mine(p.id());
  const RingTensor &rhoA = m.rhoArith.mine(p.id());
  const RingTensor &aRho = m.aRho.mine(p.id());
  assert(a.size() == n && int64_t(b.words.size()) == nw &&
         "mulBit material has the wrong size");
  // One message: y - a (n words), then b ^ rho (a plane).
  std::vector<u64> mine(n + nw);
  for (int64_t i = 0; i < n; ++i)
    mine[i] = y[i] - a[i];
  for (int64_t q = 0; q < nw; ++q)
    mine[n + q] = b.words[q] ^ rho[q];
  if (int rest = int(n % 64))
    mine[n + nw - 1] &= bits::lowMask(rest);
  std::vector<u64> theirs = co_await p.exchange(mine, size_t(n + nw));
  assert(int64_t(theirs.size()) == n + nw && "peer sent the wrong size");
  RingTensor z(y.shape());
  for (int64_t i = 0; i < n; ++i) {
    u64 d = mine[i] + theirs[i];
    int64_t q = n + i / 64;
    u64 e = ((mine[q] ^ theirs[q]) >> (i % 64)) & 1;
    z[i] = e * y[i] + (1 - 2 * e) * (d * rhoA[i] + aRho[i]);
  }
  co_return z;
}

Cost mulBitCost(int64_t n) {
  Cost c;
  if (n == 0)
    return c;
  c.rounds = 1;
  c.bytes01 = c.bytes10 = wordBytes(n) + bitBytes(n);
  c.dealerBytes1 = wordBytes(2 * n);
  c.elemOps = 3.0 * n;
  return c;
}

// --- Sign test with an arithmetic result -------------------------------------

CompareMat dealLessThanZero(Corr &c, llvm::ArrayRef<int64_t> shape, int bits) {
  CompareMat m;
  m.bits = dealLessThanZeroBits(c, shape, bits);
  m.b2a = dealBitToArith(c, shape);
  return m;
}

Proto<RingTensor> lessThanZero(Party &p, RingTensor x, const CompareMat &m,
                               int bits) {
  SharedBits b = co_await lessThanZeroBits(p, std::move(x), m.bits, bits);
  co_return co_await bitToArith(p, std::move(b), m.b2a);
}

Cost lessThanZeroCost(int64_t n, int bits) {
  return lessThanZeroBitsCost(n, bits).then(bitToArithCost(n));
}

// --- Select ------------------------------------------------------------------

SelectMat dealSelect(Corr &c, llvm::ArrayRef<int64_t> shape) {
  return SelectMat{dealMul(c, shape)};
}

Proto<RingTensor> select(Party &p, RingTensor bit, RingTensor a, RingTensor b,
                         const SelectMat &m) {
  assert(bit.shape() == a.shape() && a.shape() == b.shape() &&
         "select operands differ in shape");
  RingTensor t = co_await mul(p, std::move(bit), sub(a, b), m.mul);
  addInPlace(t, b);
  co_return t;
}

Cost selectCost(int64_t n) { return mulCost(n); }

Proto<RingTensor> selectBits(Party &p, SharedBits bit, RingTensor a,
                             RingTensor b, const MulBitMat &m) {
  assert(a.shape() == b.shape() && "select operands differ in shape");
  RingTensor t = co_await mulBit(p, std::move(bit), sub(a, b), m);
  addInPlace(t, b);
  co_return t;
}

Cost selectBitsCost(int64_t n) { return mulBitCost(n); }

// --- ReLU --------------------------------------------------------------------

ReluMat dealRelu(Corr &c, llvm::ArrayRef<int64_t> shape, int bits, int skip) {
  ReluMat m;
  m.cmp = dealLessThanZeroBits(c, shape, bits, TreeForm(skip));
  m.b2a = dealBitToArith(c, shape);
  if (numElements(shape) == 0)
    return m;
  TruncOpening o{0, detail::reluRingBits(bits)};
  for (int k = 0; k < 2; ++k) {
    m.q[k] = c.shareOf(shape, [&] {
      RingTensor q = Corr::value(m.cmp.r);
      for (u64 &v : q.vec())
        v = k ? o.maskWrap(v) : o.maskHigh(v);
      return q;
    });
    m.qRho[k] = c.shareOf(shape, [&] {
      return mul(Corr::value(m.q[k]),
                 planeToInts(shape, Corr::xorValue(m.b2a.rho)));
    });
  }
  return m;
}

Proto<RingTensor> relu(Party &p, RingTensor x, const ReluMat &m, int bits) {
  int64_t n = x.size();
  Shape shape = x.shape();
  TruncOpening o{0, detail::reluRingBits(bits)};
  detail::SignTest st =
      co_await detail::signTest(p, std::move(x), m.cmp, bits, o.ringBits);
  RingTensor z(shape);
  if (n == 0)
    co_return z;
  // Open e = s ^ rho for s = [x >= 0] = not [x < 0].
  int64_t nw = wordsFor(n);
  const RingTensor &rho = m.b2a.rho.mine(p.id());
  const RingTensor &rhoA = m.b2a.rhoArith.mine(p.id());
  const RingTensor *q[2] = {&m.q[0].mine(p.id()), &m.q[1].mine(p.id())};
  const RingTensor *qRho[2] = {&m.qRho[0].mine(p.id()),
                               &m.qRho[1].mine(p.id())};
  SharedBits s = notBits(p, std::move(st.lt));
  std::vector<u64> mine(nw);
  for (int64_t q = 0; q < nw; ++q)
    mine[q] = s.words[q] ^ rho[q];
  bits::clearTail(mine, n);
  std::vector<u64> theirs = co_await p.exchange(mine, size_t(nw));
  assert(int64_t(theirs.size()) == nw && "peer sent the wrong size");
  // x s = (c - 2^K) [s] - [q s], [s] = e + (1 - 2e)[rho],
  // [q s] = e [q] + (1 - 2e)[q rho], q the candidate msb(c) picks.
  bool p0 = p.id() == 0;
  u64 bias = u64(1) << bits;
  for (int64_t i = 0; i < n; ++i) {
    u64 e = ((mine[i / 64] ^ theirs[i / 64]) >> (i % 64)) & 1;
    int k = o.takesWrap(st.c[i]) ? 1 : 0;
    u64 sShare = (p0 ? e : 0) + (1 - 2 * e) * rhoA[i];
    u64 qsShare = e * (*q[k])[i] + (1 - 2 * e) * (*qRho[k])[i];
    z[i] = (st.c[i] - bias) * sShare - qsShare;
  }
  co_return z;
}

Cost reluCost(int64_t n, int bits, int skip) {
  Cost c =
      detail::signTestCost(n, bits, detail::reluRingBits(bits), TreeForm(skip));
  if (n == 0)
    return c;
  Cost last = bitToArithCost(n);
  last.dealerBytes1 += wordBytes(4 * n); // both q and both q * rho
  last.elemOps = 3.0 * n;
  return c.then(last);
}

} // namespace mpc::rt
