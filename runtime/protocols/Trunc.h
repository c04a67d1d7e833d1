//===- runtime/protocols/Trunc.h - Dealer-assisted truncation --*- C++ -*-===//
//
// Fixed-point truncation of shares by the one-round dealer-assisted method
// with the MSB trick (DESIGN.md §5): bias x to x' = x + 2^62 >= 0, open
// c = x' + r, then
//   floor(x'/2^f) = floor(c/2^f) - floor(r/2^f) + msb(r)(1 - msb(c)) 2^(64-f)
// minus a borrow of 0 or 1, and remove the bias. The protocol drops the
// borrow, so the result is floor(x/2^f) or floor(x/2^f) + 1 (+1 with
// probability frac(x/2^f): unbiased stochastic rounding) for every
// |x| < 2^62: no rare garbage, unlike local (SecureML) truncation.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Corr.h"
#include "runtime/Cost.h"
#include "runtime/Proto.h"

namespace mpc::rt {

struct TruncPair {
  Dealt r;     ///< Uniform mask.
  Dealt rHigh; ///< floor(r / 2^bits) as an integer.
  Dealt rWrap; ///< floor(r / 2^bits) - msb(r) * 2^(64-bits).
};
TruncPair dealTrunc(Corr &c, llvm::ArrayRef<int64_t> shape, int bits);
/// Shares of floor(x / 2^bits) or floor(x / 2^bits) + 1 (never anything
/// else) for |x| < 2^62, 0 <= bits <= 62. 1 round, 8 bytes each way per
/// element; dealer sends 16 bytes per element to party 1.
Proto<RingTensor> truncate(Party &p, RingTensor x, int bits,
                           const TruncPair &t);
Cost truncCost(int64_t n);

} // namespace mpc::rt
