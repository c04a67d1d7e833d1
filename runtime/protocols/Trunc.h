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
// The exact variant (truncateExact, `mpcc compile --exact-truncation`)
// keeps the borrow: b = [c mod 2^f < r mod 2^f] compares the public low
// bits of c with the dealer's r mod 2^f (the sign test's tree, Compare.h,
// with that as its known mask), and b's XOR shares become arithmetic
// (bitToArith), so the result is floor(x/2^f) exactly, whatever the mask:
// reruns give the same value. It costs the tree's rounds (1 for f <= 24)
// and one round of one bit each way more than the one-round protocol.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Corr.h"
#include "runtime/Cost.h"
#include "runtime/Proto.h"
#include "runtime/protocols/Compare.h"
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
  /// The exact variant's borrow [c mod 2^f < r mod 2^f] (f >= 1) as the
  /// sign test of a public value against a known mask (Compare.h) at
  /// K >= f bits: the public C = (c mod 2^f) 2^(K-f) + 2^K and the mask
  /// (r mod 2^f) 2^(K-f) (bit K clear), so that [C - 2^K - mask < 0] is
  /// the borrow; several openings with different f share one K this way.
  u64 borrowInput(u64 c, int k) const {
    return (lowBits(c, bits) << (k - bits)) | (u64(1) << k);
  }
  u64 borrowMask(u64 r, int k) const { return lowBits(r, bits) << (k - bits); }
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

/// The exact truncation's material: the pair, the borrow's comparison
/// (with the pair's r mod 2^bits as its mask; none for bits = 0, where
/// there is no borrow) and its conversion to arithmetic shares.
struct ExactTruncMat {
  TruncPair pair;
  LtzBitsMat borrow;
  BitToArithMat b2a;
};
ExactTruncMat dealTruncExact(Corr &c, llvm::ArrayRef<int64_t> shape, int bits,
                             int ringBits = kFullRingBits);
/// Shares of floor(x / 2^bits) exactly, for the same x, bits and ringBits
/// as truncate. 2 rounds + the comparison tree's (Compare.h: 0 for bits
/// <= 6, 1 for <= 24, 2 above); 1 round for bits = 0.
Proto<RingTensor> truncateExact(Party &p, RingTensor x, int bits,
                                const ExactTruncMat &m,
                                int ringBits = kFullRingBits);
Cost truncExactCost(int64_t n, int bits, int ringBits = kFullRingBits);
/// The narrowest ring a truncation of \p bits bits can open in when |x| <
/// 2^magnitudeBits at x's scale (|x| < 2^(L-2), bits <= L - 2); above
/// kFullRingBits the full ring (and then |x| < 2^62) is the only choice.
inline int truncRingBits(int magnitudeBits, int bits) {
  return std::max(magnitudeBits, bits) + 2;
}

} // namespace mpc::rt
