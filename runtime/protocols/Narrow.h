//===- runtime/protocols/Narrow.h - Openings in a narrow ring --*- C++ -*-===//
//
// Reduction mod 2^L is a ring map from Z_2^64 to Z_2^L: it commutes with
// every addition and product the protocols make. So a value that is only
// ever used mod 2^L needs only L bits of every opening it is computed
// from. A truncation in a ring of L bits (Trunc.h) reads its input mod
// 2^L; the Beaver and private-weight products feeding it can then open
// X - A mod 2^L too (their result shares are right mod 2^L only, which is
// all the truncation reads). The opened values stay uniform mod 2^L, so
// nothing more is revealed. The compiler marks such products with the
// ring of their consumers (passes/NarrowRings.cpp).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Proto.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <vector>

namespace mpc::rt {

constexpr int kFullRingBits = 64;

/// x mod 2^ringBits.
inline u64 lowBits(u64 x, int ringBits) {
  return ringBits >= 64 ? x : x & ((u64(1) << ringBits) - 1);
}

/// Words of \p n fields of \p ringBits bits, packed densely.
int64_t packedWords(int64_t n, int ringBits);

/// Sends the low \p ringBits bits of each of \p mine (packed densely; words
/// unchanged for 64) and returns the peer's \p inCount values, each mod
/// 2^ringBits. One exchange (one round, shared with the step's others).
Proto<std::vector<u64>> exchangeRing(Party &p, std::vector<u64> mine,
                                     size_t inCount, int ringBits);

// --- Who may read a value that is right mod 2^L only
// --------------------------
//
// A product opened in a ring of L < 64 bits (pw_linear, matmul with
// ring_bits = L) is right mod 2^L only: its high bits are garbage that
// depends on W (they would leak it if opened). Such a value may reach only
//  - local ops that commute with reduction mod 2^L (add, sub, neg,
//    mul_public, reshape, transpose), whose results are then right mod 2^L
//    only too, and
//  - ops that read their operand mod 2^R with R <= L: trunc with
//    ring_bits = R, gelu with trunc_bits > 0 (it truncates its input in a
//    ring of min(64, compare_bits + 1 + trunc_bits) bits), reveal with
//    ring_bits = R (it opens the low R bits and sign-extends).
// Anything else (a full-ring reveal, a plan output, any other kernel) reads
// all 64 bits. Each kernel states its part of the rule (Kernel::operandRing and
// Kernel::resultRing, runtime/plan). The compiler picks ring_bits by this rule
// (passes/NarrowRings.cpp) and the plan reader rejects a plan that breaks it,
// naming the op.

/// Attribute \p name of the op being classified, or \p def when absent.
using RingAttrFn =
    llvm::function_ref<int64_t(llvm::StringRef name, int64_t def)>;

/// How an op reads an operand that is right mod 2^L only.
struct OperandRing {
  enum Kind : uint8_t {
    Full,     ///< Needs all 64 bits.
    Commutes, ///< Local and commutes with mod 2^L: the result is mod 2^L.
    Reads,    ///< Reads the operand mod 2^bits only.
  };
  Kind kind = Full;
  int bits = kFullRingBits;
};

} // namespace mpc::rt
