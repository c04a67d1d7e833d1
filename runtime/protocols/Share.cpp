//===- runtime/protocols/Share.cpp - Sharing and opening ------------------===//
//
// Input sharing without communication (the non-owner's share is a draw from
// the PRG both parties hold, the owner's is the value minus that draw) and
// opening of additive shares to one party or to both in a single round.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Arith.h"
#include "runtime/protocols/Narrow.h"

#include <cassert>

namespace mpc::rt {

RingTensor shareFromOwner(Party &p, int owner, const RingTensor *x,
                          llvm::ArrayRef<int64_t> shape) {
  assert((owner == 0 || owner == 1) && "owner must be party 0 or 1");
  // Both parties draw, so the common stream stays in step.
  RingTensor r = p.common().tensor(shape);
  if (p.id() != owner)
    return r;
  assert(x && x->shape() == r.shape() && "owner's value has the wrong shape");
  return sub(*x, r);
}

Cost shareCost(int64_t n) { return Cost{}; }

Proto<RingTensor> reveal(Party &p, RingTensor share, int to, int ringBits,
                         int truncBits) {
  assert((to == 0 || to == 1 || to == kToBoth) && "bad reveal target");
  assert(ringBits >= 2 && ringBits <= kFullRingBits && "ring out of range");
  assert(truncBits >= 0 && truncBits < ringBits && "truncation out of range");
  int64_t n = share.size();
  bool receive = to == kToBoth || to == p.id();
  bool send = to == kToBoth || to != p.id();
  std::vector<u64> theirs;
  if (n > 0) {
    std::vector<u64> out;
    if (send)
      out = share.vec();
    theirs = co_await exchangeRing(p, std::move(out), receive ? size_t(n) : 0,
                                   ringBits);
  }
  if (!receive)
    co_return RingTensor();
  assert(int64_t(theirs.size()) == n && "peer sent the wrong number of words");
  u64 *s = share.data();
  const int high = kFullRingBits - ringBits;
  for (int64_t i = 0; i < n; ++i) {
    // Sign-extend from ringBits bits, then floor-divide (arithmetic shift).
    int64_t x = int64_t((s[i] + theirs[i]) << high) >> high;
    s[i] = u64(x >> truncBits);
  }
  co_return share;
}

Cost revealCost(int64_t n, int to, int ringBits) {
  Cost c;
  if (n == 0)
    return c;
  c.rounds = 1;
  uint64_t bytes = wordBytes(uint64_t(packedWords(n, ringBits)));
  if (to == 1 || to == kToBoth)
    c.bytes01 = bytes;
  if (to == 0 || to == kToBoth)
    c.bytes10 = bytes;
  c.elemOps = double(n); // pack, unpack and add
  return c;
}

} // namespace mpc::rt
