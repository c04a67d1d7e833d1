//===- runtime/protocols/Arith.h - Sharing, opening, products --*- C++ -*-===//
//
// The arithmetic protocols on additive shares over Z_2^64, each with its
// dealer material (a deal* function that runs in all three roles, see
// Corr.h) and its cost formula. Shares are plain RingTensors: party p holds
// x_p with x = x_0 + x_1. Products here are exact ring products; callers
// truncate fixed-point results (Trunc.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Corr.h"
#include "runtime/Cost.h"
#include "runtime/Proto.h"
#include "runtime/protocols/Narrow.h"

#include <map>
#include <vector>

namespace mpc::rt {

/// Reveal targets.
constexpr int kToBoth = -1;

// --- Sharing and opening ---------------------------------------------------

/// Shares a tensor held in the clear by \p owner without communication: the
/// other party's share is drawn from the common PRG, the owner's is x minus
/// that draw. \p x is read only on the owner. 0 rounds, 0 bytes.
RingTensor shareFromOwner(Party &p, int owner, const RingTensor *x,
                          llvm::ArrayRef<int64_t> shape);
Cost shareCost(int64_t n);

/// Opens \p share to party \p to (0, 1 or kToBoth). Returns the clear value
/// on the recipient(s) and an empty tensor elsewhere. 1 round.
///
/// With \p ringBits < 64 only the low ringBits bits of each share travel
/// (Narrow.h) and the recipient sign-extends the sum from ringBits bits:
/// right when |x| < 2^(ringBits-1). With \p truncBits > 0 the recipient
/// then divides by 2^truncBits, rounding down, in the clear: an exact,
/// deterministic truncation of the revealed value, where a truncation
/// protocol before the reveal would be off by one ulp depending on its
/// random mask (so reruns would narrow down the untruncated value).
Proto<RingTensor> reveal(Party &p, RingTensor share, int to, int ringBits = 64,
                         int truncBits = 0);
Cost revealCost(int64_t n, int to, int ringBits = 64);

// --- Beaver multiplication ---------------------------------------------------

struct MulTriple {
  Dealt a, b, c; ///< c = a * b element-wise.
};
MulTriple dealMul(Corr &c, llvm::ArrayRef<int64_t> shape);
/// Element-wise x * y of equal-shaped shares. 1 round, 16 bytes each way per
/// element.
Proto<RingTensor> mul(Party &p, RingTensor x, RingTensor y, const MulTriple &t);
Cost mulCost(int64_t n);

struct SquarePair {
  Dealt a, aa; ///< aa = a * a.
};
SquarePair dealSquare(Corr &c, llvm::ArrayRef<int64_t> shape);
/// Element-wise x * x. 1 round, 8 bytes each way per element.
Proto<RingTensor> square(Party &p, RingTensor x, const SquarePair &t);
Cost squareCost(int64_t n);

// --- Shared x shared matrix product (matrix Beaver triples) -----------------

struct MatTriple {
  Dealt a, b, c; ///< c = matmul(a, b), batched like the operands.
};
/// X is [..., m, k], Y is [..., k, n] (same batch dims).
MatTriple dealMatMul(Corr &c, llvm::ArrayRef<int64_t> xShape,
                     llvm::ArrayRef<int64_t> yShape);
/// Z = X . Y batched over leading dims (e.g. attention heads). 1 round:
/// opens X - A and Y - B both ways. With \p ringBits < 64 they are opened
/// mod 2^ringBits (Narrow.h) and Z is right mod 2^ringBits only.
Proto<RingTensor> matmulShared(Party &p, RingTensor x, RingTensor y,
                               const MatTriple &t,
                               int ringBits = kFullRingBits);
Cost matmulSharedCost(llvm::ArrayRef<int64_t> xShape,
                      llvm::ArrayRef<int64_t> yShape,
                      int ringBits = kFullRingBits);

// --- Private-weight products (DESIGN.md §5) --------------------------------

/// Per-session state of the private-weight protocols. Party 0 and the
/// dealer derive each weight's mask B_id from a seed they share; party 1
/// keeps W_id - B_id, received once per session.
class WeightMasks {
public:
  /// Dealer and party 0.
  static WeightMasks withSeed(int role, const Seed &maskSeed);
  /// Party 1.
  static WeightMasks forParty1();
  WeightMasks() = default;
  WeightMasks(const WeightMasks &) = default;
  WeightMasks(WeightMasks &&) = default;
  WeightMasks &operator=(const WeightMasks &) = default;
  WeightMasks &operator=(WeightMasks &&) = default;
  /// Wipes the mask seed.
  ~WeightMasks();

  /// B_id (dealer, party 0); regenerated from the seed on each call as
  /// Prg(AES-128_seed("mpcc.pw\0" || id as 8 little-endian bytes)), i.e.
  /// AES under the session seed as a PRF from weight ids to PRG keys.
  RingTensor mask(int64_t id, llvm::ArrayRef<int64_t> shape) const;
  /// Rows [firstRow, firstRow + rows) of B_id read as [*, cols]: the same
  /// words as those rows of mask(id, ...), without making the rest.
  RingTensor maskRows(int64_t id, int64_t cols, int64_t firstRow,
                      int64_t rows) const;
  /// W_id - B_id (party 1).
  const RingTensor &masked(int64_t id) const;
  void setMasked(int64_t id, RingTensor wMinusB);
  bool hasMasked(int64_t id) const;

private:
  int role_ = 0;
  Seed seed_{};
  std::map<int64_t, RingTensor> masked_;
};

/// Set-up for weight \p id: party 0 sends W - B (weight-sized) to party 1,
/// once per session. \p w is read on party 0 only. 1 round, set-up bytes.
Proto<int> pwSetup(Party &p, WeightMasks &masks, int64_t id,
                   const RingTensor *w, llvm::ArrayRef<int64_t> shape);
/// setupBytes01 = 8 |W|. The same message is also reported as bytes01 (and
/// 1 round) so that the set-up exchange's measured traffic matches; totals
/// per inference add setupBytes01 only.
Cost pwSetupCost(llvm::ArrayRef<int64_t> wShape);

struct PwLinearMat {
  RingTensor a;                ///< Party 1 (and dealer): the input mask A.
  std::vector<Dealt> ab;       ///< Shares of A.B_j per weight.
  std::vector<RingTensor> awb; ///< Party 1: A.(W_j - B_j), computed offline.
};
/// Weights are [k, n_j]; X is [..., m, k]. One mask A serves every weight.
PwLinearMat dealPwLinear(Corr &c, const WeightMasks &masks,
                         llvm::ArrayRef<int64_t> xShape,
                         llvm::ArrayRef<int64_t> weightIds,
                         llvm::ArrayRef<Shape> weightShapes);
/// Y_j = X . W_j for every weight j; X is shared (or private to party 1,
/// passed as shares (0, X)), W_j private to party 0 (read on party 0 only).
/// 1 round, one way: party 1 sends X_1 - A (mod 2^ringBits: then every
/// Y_j is right mod 2^ringBits only, Narrow.h). The pointer list is copied
/// at the call (the coroutine starts lazily); the tensors and \p m must
/// outlive the protocol, as every dealt material passed by reference here
/// must.
Proto<std::vector<RingTensor>>
pwLinear(Party &p, RingTensor x, llvm::ArrayRef<const RingTensor *> weights,
         const PwLinearMat &m, int ringBits = kFullRingBits);
Cost pwLinearCost(llvm::ArrayRef<int64_t> xShape,
                  llvm::ArrayRef<Shape> weightShapes,
                  int ringBits = kFullRingBits);

struct PwMulMat {
  RingTensor a;   ///< Party 1: the mask A (x-shaped).
  Dealt ab;       ///< Shares of A * broadcast(B).
  RingTensor awb; ///< Party 1: A * broadcast(W - B).
};
/// Element-wise X * W with W private to party 0 and broadcast to X's shape
/// (e.g. a LayerNorm gain [d] against [.., d]).
PwMulMat dealPwMul(Corr &c, const WeightMasks &masks,
                   llvm::ArrayRef<int64_t> xShape, int64_t weightId,
                   llvm::ArrayRef<int64_t> weightShape);
Proto<RingTensor> pwMul(Party &p, RingTensor x, const RingTensor *w,
                        const PwMulMat &m);
Cost pwMulCost(llvm::ArrayRef<int64_t> xShape,
               llvm::ArrayRef<int64_t> weightShape);

} // namespace mpc::rt
