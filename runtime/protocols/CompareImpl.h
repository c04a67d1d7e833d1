//===- runtime/protocols/CompareImpl.h - Sign test internals ---*- C++ -*-===//
//
// The sign test with a choice of first-round opening, shared by the
// comparison files. lessThanZeroBits opens only C = x + 2^K + r mod
// 2^(K+1) (K+1 bits a element); ReLU and what is built on it open all 64
// bits of c = x + 2^K + r, because x = c - r - 2^K then turns
// x [x >= 0] into a product with a public factor (see Compare.cpp).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/protocols/Compare.h"

#include <vector>

namespace mpc::rt::detail {

struct SignTest {
  SharedBits lt;      ///< XOR shares of [x < 0].
  std::vector<u64> c; ///< With fullOpen: the public c = x + 2^K + r.
};

Proto<SignTest> signTest(Party &p, RingTensor x, const LtzBitsMat &m, int bits,
                         bool fullOpen);
Cost signTestCost(int64_t n, int bits, bool fullOpen);

/// Steps 2-4 of the sign test: the public C (K+1 bits per element) against
/// the material's mask; XOR shares of [x < 0]. One round per tree level.
Proto<SharedBits> compareTree(Party &p, std::vector<u64> cpub, Shape shape,
                              const LtzBitsMat &m, int bits);

} // namespace mpc::rt::detail
