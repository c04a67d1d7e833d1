//===- runtime/protocols/CompareImpl.h - Sign test internals ---*- C++ -*-===//
//
// The sign test with a choice of first-round opening, shared by the
// comparison files. lessThanZeroBits opens only C = x + 2^K + r mod
// 2^(K+1) (K+1 bits a element); ReLU and what is built on it open
// c = x + 2^K + r mod 2^L with L = min(64, K + 2) (reluRingBits), because
// x = c - 2^K - (r mod 2^L) + wrap 2^L then turns x [x >= 0] into a
// product with a public factor (see Compare.cpp).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/protocols/Compare.h"

#include <algorithm>
#include <vector>

namespace mpc::rt::detail {

struct SignTest {
  SharedBits lt;      ///< XOR shares of [x < 0].
  std::vector<u64> c; ///< With cRing: the public c = x + 2^K + r mod 2^cRing.
};

/// The ring ReLU opens c in: K + 2 bits leave x' = x + 2^K < 2^(L-1), so
/// the wrap of c follows from msb(c) and msb(r) (Trunc.h's MSB trick).
inline int reluRingBits(int bits) { return std::min(64, bits + 2); }

/// cRing = 0: open C mod 2^(K+1) only; otherwise open c mod 2^cRing
/// (cRing >= K + 2, packed) and return it in SignTest::c.
Proto<SignTest> signTest(Party &p, RingTensor x, const LtzBitsMat &m, int bits,
                         int cRing);
Cost signTestCost(int64_t n, int bits, int cRing, TreeForm form = {});

/// Steps 2-4 of the sign test: the public C (K+1 bits per element) against
/// the material's mask; XOR shares of [x < 0]. One round per tree level.
Proto<SharedBits> compareTree(Party &p, std::vector<u64> cpub, Shape shape,
                              const LtzBitsMat &m, int bits);

} // namespace mpc::rt::detail
