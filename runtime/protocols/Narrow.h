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

} // namespace mpc::rt
