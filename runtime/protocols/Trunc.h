//===- runtime/protocols/Trunc.h - Dealer-assisted truncation --*- C++ -*-===//
//
// Fixed-point truncation of shares by the one-round dealer-assisted method
// with the MSB trick (DESIGN.md §5), opened in a ring of L = ringBits <= 64
// bits: bias x to x' = x + 2^(L-2) >= 0, open c = x' + r mod 2^L, then
//   floor(x'/2^f) = floor(c/2^f) - floor(r/2^f) + msb(r)(1 - msb(c)) 2^(L-f)
// minus a borrow of 0 or 1 (msb = bit L-1), and remove the bias. The
// protocol drops the borrow, so the result is floor(x/2^f) or
// floor(x/2^f) + 1 (+1 with probability frac(x/2^f): unbiased stochastic
// rounding) for every |x| < 2^(L-2): no rare garbage, unlike local
// (SecureML) truncation.
//
// The shares of x are taken mod 2^L (the reduction is a ring map), so only
// L bits per element travel each way, while the result shares are in
// Z_2^64: floor(c/2^f) is a public integer and the dealer's corrections
// are integers too. A value known to be small (|x| < 2^(L-2)) is truncated
// for L/64 of the bytes; L = 64 is the full-ring protocol.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Corr.h"
#include "runtime/Cost.h"
#include "runtime/Proto.h"
#include "runtime/protocols/Narrow.h"

#include <algorithm>

namespace mpc::rt {

/// The element-wise arithmetic of a truncation's opening, shared by the
/// truncation kernel and the premasked programs (FxProgram.h).
struct TruncOpening {
  int bits = 0;                 ///< Truncated bits f, 0 <= f <= L - 2.
  int ringBits = kFullRingBits; ///< L: the ring the opening lives in.

  /// What party \p p0 / 1 sends: its share of x + r (+ the bias on party
  /// 0), reduced mod 2^L.
  u64 send(u64 x, u64 r, bool p0) const {
    return lowBits(x + r + (p0 ? u64(1) << (ringBits - 2) : 0), ringBits);
  }
  /// The opened c from both parties' fields.
  u64 open(u64 mine, u64 theirs) const {
    return lowBits(mine + theirs, ringBits);
  }
  /// floor(c/2^f) - 2^(L-2-f): the public part of the result.
  u64 publicPart(u64 c) const {
    return (c >> bits) - (u64(1) << (ringBits - 2 - bits));
  }
  /// Whether the result takes the rWrap candidate (msb(c) = 0).
  bool takesWrap(u64 c) const { return ((c >> (ringBits - 1)) & 1) == 0; }
  /// Dealer: floor((r mod 2^L) / 2^f) and that minus msb(r) 2^(L-f).
  u64 maskHigh(u64 r) const { return lowBits(r, ringBits) >> bits; }
  u64 maskWrap(u64 r) const {
    u64 weight = bits == 0 && ringBits == 64 ? 0 : u64(1) << (ringBits - bits);
    return maskHigh(r) - ((r >> (ringBits - 1)) & 1) * weight;
  }
};

struct TruncPair {
  Dealt r;     ///< Uniform mask (used mod 2^L).
  Dealt rHigh; ///< floor((r mod 2^L) / 2^bits) as an integer.
  Dealt rWrap; ///< rHigh - msb_L(r) * 2^(L-bits).
};
TruncPair dealTrunc(Corr &c, llvm::ArrayRef<int64_t> shape, int bits,
                    int ringBits = kFullRingBits);
/// Shares of floor(x / 2^bits) or floor(x / 2^bits) + 1 (never anything
/// else) for |x| < 2^(ringBits-2), 0 <= bits <= ringBits - 2, ringBits in
/// [3, 64]. 1 round, ringBits bits each way per element (packed); the
/// dealer sends 16 bytes per element to party 1.
Proto<RingTensor> truncate(Party &p, RingTensor x, int bits, const TruncPair &t,
                           int ringBits = kFullRingBits);
Cost truncCost(int64_t n, int ringBits = kFullRingBits);
/// The narrowest ring a truncation of \p bits bits can open in when |x| <
/// 2^magnitudeBits at x's scale (|x| < 2^(L-2), bits <= L - 2); above
/// kFullRingBits the full ring (and then |x| < 2^62) is the only choice.
inline int truncRingBits(int magnitudeBits, int bits) {
  return std::max(magnitudeBits, bits) + 2;
}

} // namespace mpc::rt
