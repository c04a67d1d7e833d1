//===- runtime/protocols/Trunc.cpp - Dealer-assisted truncation -----------===//
//
// One-round truncation with the MSB trick (DESIGN.md §5), in a ring of
// L bits. With the bias x' = x + 2^(L-2) in [0, 2^(L-1)) for
// |x| < 2^(L-2) and a uniform mask r mod 2^L, the opened
// c = x' + r mod 2^L wraps (w = 1) exactly when msb(r) = 1 and msb(c) = 0,
// because x' < 2^(L-1). Writing x' = c - r + w 2^L (all integers),
//
//   floor(x'/2^f) = floor(c/2^f) - floor(r/2^f) + w 2^(L-f) - borrow,
//
// where borrow = [c mod 2^f < r mod 2^f] is 0 or 1. The protocol drops the
// borrow, so it yields floor(x'/2^f) + borrow. The borrow is 1 exactly when
// (x mod 2^f) + (r mod 2^f) >= 2^f, i.e. with probability frac(x/2^f) over
// the mask: the result is x/2^f rounded stochastically, unbiased.
//
// msb(c) is public, so the parties pick shares of rHigh = floor(r/2^f) when
// msb(c) = 1 (w = 0) and of rWrap = rHigh - msb(r) 2^(L-f) when msb(c) = 0
// (w = msb(r)). Removing the bias gives floor(x/2^f) = floor(x'/2^f) -
// 2^(L-2-f). The identity holds over the integers, and the parties compute
// it in Z_2^64, so the result is floor(x/2^f) or floor(x/2^f) + 1, never
// anything else, for every |x| < 2^(L-2). c is uniform mod 2^L whatever x
// is, so the opening reveals nothing.
//
// truncateExact subtracts the borrow as well. c mod 2^f is public and
// r mod 2^f is the dealer's, so b is a sign test of a public value against
// a known mask (Compare.h, lessThanZeroBitsOfPublic): with C = (c mod 2^f)
// + 2^f and mask r mod 2^f, [C - 2^f - (r mod 2^f) < 0] = b. Its tree
// masks its own openings afresh and bitToArith opens b ^ rho for a fresh
// rho, so nothing more is revealed than by the one-round protocol.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Trunc.h"

#include "runtime/protocols/BitPack.h"

#include <cassert>

namespace mpc::rt {

namespace {

[[maybe_unused]] bool validOpening(const TruncOpening &o) {
  return o.ringBits >= 3 && o.ringBits <= kFullRingBits && o.bits >= 0 &&
         o.bits <= o.ringBits - 2;
}

} // namespace

TruncPair dealTrunc(Corr &c, llvm::ArrayRef<int64_t> shape, int bits,
                    int ringBits) {
  TruncOpening o{bits, ringBits};
  assert(validOpening(o) && "truncation bits out of range");
  TruncPair t;
  t.r = c.random(shape);
  t.rHigh = c.shareOf(shape, [&] {
    RingTensor r = Corr::value(t.r);
    RingTensor h(r.shape());
    for (int64_t i = 0, n = r.size(); i < n; ++i)
      h[i] = o.maskHigh(r[i]);
    return h;
  });
  t.rWrap = c.shareOf(shape, [&] {
    RingTensor r = Corr::value(t.r);
    RingTensor w(r.shape());
    for (int64_t i = 0, n = r.size(); i < n; ++i)
      w[i] = o.maskWrap(r[i]);
    return w;
  });
  return t;
}

namespace {

/// The one-round protocol; with \p opened, also the opened c of each
/// element (truncateExact's comparison input). \p o by value: truncate()
/// returns this coroutine before it runs.
Proto<RingTensor> truncateOpen(Party &p, RingTensor x, TruncOpening o,
                               const TruncPair &t, std::vector<u64> *opened) {
  assert(validOpening(o) && "truncation bits out of range");
  int64_t n = x.size();
  if (n == 0)
    co_return x;
  const RingTensor &r = t.r.mine(p.id());
  const RingTensor &rHigh = t.rHigh.mine(p.id());
  const RingTensor &rWrap = t.rWrap.mine(p.id());
  assert(r.shape() == x.shape() && "truncation pair has the wrong shape");
  int ringBits = o.ringBits;

  // This party's fields go straight into the packed message and are
  // computed again (as cheap as storing them) to open c.
  bool p0 = p.id() == 0;
  const u64 *xs = x.data(), *rs = r.data();
  auto field = [&](int64_t i) { return o.send(xs[i], rs[i], p0); };
  int64_t words = packedWords(n, ringBits);
  std::vector<u64> msg(words, 0);
  bits::packEach(n, ringBits, msg.data(), 0, field);
  std::vector<u64> theirs = co_await p.exchange(std::move(msg), words);
  assert(int64_t(theirs.size()) == words && "peer sent the wrong size");

  // Party 0: floor(c/2^f) - 2^(L-2-f) - [sel]_0; party 1: -[sel]_1, where
  // sel is rHigh if msb(c) = 1 and rWrap otherwise.
  const u64 *hs = rHigh.data(), *ws = rWrap.data();
  RingTensor z(x.shape());
  u64 *zs = z.data();
  if (opened)
    opened->resize(n);
  bits::unpackEach(theirs.data(), 0, n, ringBits, [&](int64_t i, u64 t) {
    u64 c = o.open(field(i), t);
    u64 sel = o.takesWrap(c) ? ws[i] : hs[i];
    zs[i] = (p0 ? o.publicPart(c) : 0) - sel;
    if (opened)
      (*opened)[i] = c;
  });
  co_return z;
}

} // namespace

Proto<RingTensor> truncate(Party &p, RingTensor x, int bits, const TruncPair &t,
                           int ringBits) {
  return truncateOpen(p, std::move(x), TruncOpening{bits, ringBits}, t,
                      nullptr);
}

ExactTruncMat dealTruncExact(Corr &c, llvm::ArrayRef<int64_t> shape, int bits,
                             int ringBits) {
  TruncOpening o{bits, ringBits};
  ExactTruncMat m;
  m.pair = dealTrunc(c, shape, bits, ringBits);
  if (bits == 0)
    return m;
  m.borrow = dealLessThanZeroBitsKnown(c, shape, bits, [&] {
    RingTensor r = Corr::value(m.pair.r);
    for (int64_t i = 0, n = r.size(); i < n; ++i)
      r[i] = o.borrowMask(r[i], bits);
    return r;
  });
  m.b2a = dealBitToArith(c, shape);
  return m;
}

Proto<RingTensor> truncateExact(Party &p, RingTensor x, int bits,
                                const ExactTruncMat &m, int ringBits) {
  TruncOpening o{bits, ringBits};
  if (bits == 0) // no borrow
    co_return co_await truncateOpen(p, std::move(x), o, m.pair, nullptr);
  Shape shape = x.shape();
  std::vector<u64> c;
  RingTensor z = co_await truncateOpen(p, std::move(x), o, m.pair, &c);
  for (u64 &v : c)
    v = o.borrowInput(v, bits);
  SharedBits b =
      co_await lessThanZeroBitsOfPublic(p, std::move(c), shape, m.borrow, bits);
  RingTensor borrow = co_await bitToArith(p, std::move(b), m.b2a);
  for (int64_t i = 0, n = z.size(); i < n; ++i)
    z[i] -= borrow[i];
  co_return z;
}

Cost truncCost(int64_t n, int ringBits) {
  Cost c;
  if (n == 0)
    return c;
  c.rounds = 1;
  c.bytes01 = c.bytes10 = wordBytes(packedWords(n, ringBits));
  c.dealerBytes1 = wordBytes(2 * n);
  c.elemOps = 2.0 * n; // mask and pack; unpack, pick the candidate, shift
  return c;
}

Cost truncExactCost(int64_t n, int bits, int ringBits) {
  Cost c = truncCost(n, ringBits);
  if (n == 0 || bits == 0)
    return c;
  c.then(lessThanZeroBitsOfPublicCost(n, bits));
  c.then(bitToArithCost(n));
  return c;
}

} // namespace mpc::rt
