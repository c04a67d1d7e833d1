//===- runtime/protocols/Share.cpp - Sharing and opening ------------------===//
//
// Input sharing without communication (the non-owner's share is a draw from
// the PRG both parties hold, the owner's is the value minus that draw) and
// opening of additive shares to one party or to both in a single round.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Arith.h"

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

Proto<RingTensor> reveal(Party &p, RingTensor share, int to) {
  assert((to == 0 || to == 1 || to == kToBoth) && "bad reveal target");
  int64_t n = share.size();
  if (n == 0)
    co_return to == kToBoth || to == p.id() ? share : RingTensor();
  bool receive = to == kToBoth || to == p.id();
  bool send = to == kToBoth || to != p.id();
  std::vector<u64> out;
  if (send)
    out = share.vec();
  std::vector<u64> theirs =
      co_await p.exchange(std::move(out), receive ? size_t(n) : 0);
  if (!receive)
    co_return RingTensor();
  assert(int64_t(theirs.size()) == n && "peer sent the wrong number of words");
  u64 *s = share.data();
  for (int64_t i = 0; i < n; ++i)
    s[i] += theirs[i];
  co_return share;
}

Cost revealCost(int64_t n, int to) {
  Cost c;
  if (n == 0)
    return c;
  c.rounds = 1;
  if (to == 1 || to == kToBoth)
    c.bytes01 = wordBytes(n);
  if (to == 0 || to == kToBoth)
    c.bytes10 = wordBytes(n);
  return c;
}

} // namespace mpc::rt
