//===- runtime/protocols/Trunc.cpp - Dealer-assisted truncation -----------===//
//
// One-round truncation with the MSB trick (DESIGN.md §5). With the bias
// x' = x + 2^62 in [0, 2^63) for |x| < 2^62 and a uniform mask r, the opened
// c = x' + r mod 2^64 wraps (w = 1) exactly when msb(r) = 1 and msb(c) = 0,
// because x' < 2^63. Writing x' = c - r + w 2^64,
//
//   floor(x'/2^f) = floor(c/2^f) - floor(r/2^f) + w 2^(64-f) - borrow,
//
// where borrow = [c mod 2^f < r mod 2^f] is 0 or 1. The protocol drops the
// borrow, so it yields floor(x'/2^f) + borrow. The borrow is 1 exactly when
// (x mod 2^f) + (r mod 2^f) >= 2^f, i.e. with probability frac(x/2^f) over
// the mask: the result is x/2^f rounded stochastically, unbiased.
//
// msb(c) is public, so the parties pick shares of rHigh = floor(r/2^f) when
// msb(c) = 1 (w = 0) and of rWrap = rHigh - msb(r) 2^(64-f) when msb(c) = 0
// (w = msb(r)). Removing the bias gives floor(x/2^f) = floor(x'/2^f) -
// 2^(62-f). Every step is exact in Z_2^64, so the result is floor(x/2^f) or
// floor(x/2^f) + 1, never anything else, for every |x| < 2^62.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Trunc.h"

#include <cassert>

namespace mpc::rt {

namespace {

constexpr int kBiasBits = 62;

/// 2^(64-bits) in Z_2^64 (0 for bits = 0).
u64 wrapWeight(int bits) { return bits == 0 ? 0 : u64(1) << (64 - bits); }

} // namespace

TruncPair dealTrunc(Corr &c, llvm::ArrayRef<int64_t> shape, int bits) {
  assert(bits >= 0 && bits <= kBiasBits && "truncation bits out of range");
  TruncPair t;
  t.r = c.random(shape);
  t.rHigh = c.shareOf(shape, [&] {
    RingTensor r = Corr::value(t.r);
    RingTensor h(r.shape());
    for (int64_t i = 0, n = r.size(); i < n; ++i)
      h[i] = r[i] >> bits;
    return h;
  });
  t.rWrap = c.shareOf(shape, [&] {
    RingTensor r = Corr::value(t.r);
    RingTensor w(r.shape());
    u64 weight = wrapWeight(bits);
    for (int64_t i = 0, n = r.size(); i < n; ++i)
      w[i] = (r[i] >> bits) - (r[i] >> 63) * weight;
    return w;
  });
  return t;
}

Proto<RingTensor> truncate(Party &p, RingTensor x, int bits,
                           const TruncPair &t) {
  assert(bits >= 0 && bits <= kBiasBits && "truncation bits out of range");
  int64_t n = x.size();
  if (n == 0)
    co_return x;
  const RingTensor &r = t.r.mine(p.id());
  const RingTensor &rHigh = t.rHigh.mine(p.id());
  const RingTensor &rWrap = t.rWrap.mine(p.id());
  assert(r.shape() == x.shape() && "truncation pair has the wrong shape");

  // c_p = x_p + r_p, with the bias 2^62 on party 0's share.
  bool p0 = p.id() == 0;
  u64 bias = p0 ? u64(1) << kBiasBits : 0;
  std::vector<u64> mine(n);
  const u64 *xs = x.data(), *rs = r.data();
  for (int64_t i = 0; i < n; ++i)
    mine[i] = xs[i] + rs[i] + bias;
  std::vector<u64> theirs = co_await p.exchange(mine, size_t(n));
  assert(int64_t(theirs.size()) == n && "peer sent the wrong size");

  // Party 0: floor(c/2^f) - 2^(62-f) - [sel]_0; party 1: -[sel]_1, where
  // sel is rHigh if msb(c) = 1 and rWrap otherwise.
  u64 unbias = p0 ? u64(1) << (kBiasBits - bits) : 0;
  const u64 *hs = rHigh.data(), *ws = rWrap.data();
  RingTensor z(x.shape());
  u64 *zs = z.data();
  for (int64_t i = 0; i < n; ++i) {
    u64 c = mine[i] + theirs[i];
    u64 sel = (c >> 63) ? hs[i] : ws[i];
    zs[i] = (p0 ? (c >> bits) - unbias : 0) - sel;
  }
  co_return z;
}

Cost truncCost(int64_t n) {
  Cost c;
  if (n == 0)
    return c;
  c.rounds = 1;
  c.bytes01 = c.bytes10 = wordBytes(n);
  c.dealerBytes1 = wordBytes(2 * n);
  return c;
}

} // namespace mpc::rt
