//===- runtime/protocols/Compare.h - Comparison protocols ----*- C++ -*-===//
//
// Sign tests of shares and what is built on them: select, ReLU, max over an
// axis and clipping. Correct for every input in the stated domain (no
// probabilistic failure): the dealer-assisted A2B-style comparison of
// DESIGN.md §5.
//
// lessThanZeroBits(x), for |x| < 2^K:
//   1. x' = x + 2^K lies in [1, 2^(K+1)). Open C = x' + r mod 2^(K+1) with a
//      dealer mask r (shares sent as densely packed (K+1)-bit fields).
//   2. [x >= 0] = bit K of x' = C_K ^ r_K ^ borrow, with
//      borrow = [C mod 2^K < r mod 2^K]: a comparison of public bits with
//      the dealer's secret r.
//   3. The K low bits are cut into G groups of at most 6 bits. For each
//      group the dealer gives XOR shares of the table T[v] = [r_g > v]; the
//      public group value of C picks the leaf's gt = [r_g > C_g] and
//      eq = [r_g == C_g] = T[C_g - 1] ^ T[C_g] locally.
//   4. The leaves are combined by a tree of fan-in <= 4 nodes,
//        gt = gt_k-1 ^ eq_k-1 gt_k-2 ^ ... ^ eq_k-1 .. eq_1 gt_0,
//        eq = eq_k-1 .. eq_0 (only where a parent needs it),
//      one round per level: every input of a node is opened once masked
//      (x ^ m), and the dealer gives XOR shares of all products of masks of
//      degree >= 2, so every product is a local XOR of public-coefficient
//      terms. All nodes of a level for all elements travel in one message,
//      bit-packed densely.
// The result is XOR-shared. bitToArith converts it (one round, one bit each
// way); mulBit multiplies it by any arithmetic y with the conversion fused
// in (one round); relu opens c = x + 2^K + r in K + 2 bits (not K + 1) in
// the first round instead, so that x [x >= 0] = (c - 2^K)[s] - [q s], with
// q = r mod 2^(K+2) less 2^(K+2) where c wrapped (the MSB trick), needs
// one bit each way in its last round (max and clip are ReLUs).
//
// A coarse test (skip s > 0) runs steps 3-4 on bits s..K-1 of C and r only,
// a tree of K - s bits: its borrow [C_[s,K) < r_[s,K)] is the borrow except
// where those bits agree and C's low s bits are below r's, i.e. where
// x + 2^K mod 2^K lies in [2^K - 2^s, 2^K). So for |x| < 2^K - 2^s the
// coarse [x < 0] is exact except that x in [-2^s, 0) may read as >= 0: a
// sign test blind to the last s bits below zero, a round shorter where
// K - s <= 24 < K (softmax's max, CompareMax.cpp).
//
// A wide tree (for small batches: a comparison per row) takes K in
// (24, 48] in one level, ceil(K/6) leaves under one node of fan-in up to
// 8, for a round fewer: the dealer gives all the node's mask products
// (367 bits an element at fan-in 8, against 15 for fan-in 4).
//
// Rounds of the XOR-shared bit (of its tree's K - skip bits, one level for
// a wide tree up to 48): 1 (K <= 6), 2 (K <= 24), 3 (K <= 63); one
// more for lessThanZero, relu, max per level, clip. Cost per element (n a
// multiple of 64; otherwise each message rounds up to whole words, as the
// *Cost functions say exactly):
//
//                       K = 24                    K = 62
//                rounds  online  dealer    rounds  online  dealer   (bytes)
//   ltzBits         2    3.875   33.5        3     12.0    40.125
//   lessThanZero    3    4.0     41.5        4     12.125  48.125
//   relu            3    4.125   73.5        4     12.25   80.125
//   select 1 round, 16 each way, 8 dealer; mulBit/selectBits 1 round, 8.125
//   each way, 16 dealer. Online bytes are each way; dealer bytes go to
//   party 1 only (party 0's material comes from its PRG seed).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Corr.h"
#include "runtime/Cost.h"
#include "runtime/Proto.h"
#include "runtime/protocols/Arith.h"

#include <cstdint>
#include <vector>

namespace mpc::rt {

constexpr int kFullCompareBits = 62;
/// The largest K the bit comparison supports (max and clip compare
/// differences, which need one bit more than their inputs).
constexpr int kMaxCompareBits = 63;
/// The bits a comparison of x with a breakpoint needs when |x| <
/// 2^rangeBits at \p frac fractional bits: x - break in rangeBits + frac
/// + 1 bits, at most the full kFullCompareBits.
int compareBitsForRange(int frac, int rangeBits);
/// The widest rangeBits the comparisons cover at \p frac (beyond it
/// compareBitsForRange would clamp to kFullCompareBits): the compiler's
/// limit on --range-bits.
int maxRangeBits(int frac);

// --- XOR-shared bits ---------------------------------------------------------

/// XOR shares of one bit per element, bit-packed: element i is bit i % 64
/// of word i / 64; bits past the last element are unspecified.
struct SharedBits {
  Shape shape;
  std::vector<u64> words;
  int64_t size() const { return numElements(shape); }
};

/// a ^ b, local.
SharedBits xorBits(const SharedBits &a, const SharedBits &b);
/// not a (party 0 flips its share), local.
SharedBits notBits(const Party &p, SharedBits a);

// --- Bit comparison ----------------------------------------------------------

/// How a sign test's tree is cut (above): the low bits a coarse test
/// ignores, and whether a K in (24, 48] takes one wide level.
struct TreeForm {
  int skip = 0;
  bool wide = false;
  TreeForm() = default;
  explicit TreeForm(int skip, bool wide = false) : skip(skip), wide(wide) {}
};

/// Material of one XOR-shared sign test over n elements at K bits.
struct LtzBitsMat {
  int bits = 0;
  TreeForm form;
  Dealt r;     ///< Arithmetic mask of x' (x-shaped).
  Dealt masks; ///< XOR: random masks of every opened tree input (planes).
  Dealt dealt; ///< XOR: packed r_K, leaf tables and mask products.
};
LtzBitsMat dealLessThanZeroBits(Corr &c, llvm::ArrayRef<int64_t> shape,
                                int bits = kFullCompareBits,
                                TreeForm form = {});
/// XOR shares of [x < 0] for |x| < 2^bits, bits in [1, 63] (coarse with
/// the material's skip: above).
Proto<SharedBits> lessThanZeroBits(Party &p, RingTensor x, const LtzBitsMat &m,
                                   int bits = kFullCompareBits);
Cost lessThanZeroBitsCost(int64_t n, int bits = kFullCompareBits,
                          TreeForm form = {});

/// The sign test of a value that is already premasked, x = D + A with D
/// public and A a dealt mask the dealer knows: C = x + 2^K - A = D + 2^K is
/// public, so step 1 (its opening, K + 1 bits each way and a round) is
/// skipped and A plays the part of r (it is as uniform and as secret; the
/// tree's openings are masked afresh). \p r gives the dealer -A (only its
/// low K + 1 bits matter). Material for n elements; the caller passes
/// c_i = D_i + 2^K (any high bits).
LtzBitsMat dealLessThanZeroBitsKnown(Corr &c, llvm::ArrayRef<int64_t> shape,
                                     int bits,
                                     llvm::function_ref<RingTensor()> r,
                                     TreeForm form = {});
Proto<SharedBits> lessThanZeroBitsOfPublic(Party &p, std::vector<u64> c,
                                           Shape shape, const LtzBitsMat &m,
                                           int bits);
/// Rounds (the tree's, as above): 0 (K <= 6), 1 (K <= 24), 2 (K <= 63);
/// bytes: the tree's only.
Cost lessThanZeroBitsOfPublicCost(int64_t n, int bits, TreeForm form = {});

/// Bit -> arithmetic: rho is a random bit (XOR and arithmetic shares).
struct BitToArithMat {
  Dealt rho;      ///< XOR shares (planes).
  Dealt rhoArith; ///< Arithmetic shares of the same bits.
};
BitToArithMat dealBitToArith(Corr &c, llvm::ArrayRef<int64_t> shape);
/// Arithmetic shares (ring integers 0/1) of XOR-shared bits. 1 round:
/// opens b ^ rho.
Proto<RingTensor> bitToArith(Party &p, SharedBits b, const BitToArithMat &m);
Cost bitToArithCost(int64_t n);

/// b * y for XOR-shared bits b and arithmetic y, conversion fused in.
struct MulBitMat {
  Dealt rho;      ///< XOR shares of a random bit (planes).
  Dealt rhoArith; ///< Arithmetic shares of rho.
  Dealt a;        ///< Random arithmetic mask of y.
  Dealt aRho;     ///< Arithmetic shares of a * rho.
};
MulBitMat dealMulBit(Corr &c, llvm::ArrayRef<int64_t> shape);
/// Shares of b * y (y's ring value times 0/1). 1 round: opens b ^ rho and
/// y - a.
Proto<RingTensor> mulBit(Party &p, SharedBits b, RingTensor y,
                         const MulBitMat &m);
Cost mulBitCost(int64_t n);

// --- Sign test with an arithmetic result -------------------------------------

struct CompareMat {
  LtzBitsMat bits;
  BitToArithMat b2a;
};
/// Material for comparing tensors of `shape` whose values satisfy
/// |x| < 2^bits (bits <= 62).
CompareMat dealLessThanZero(Corr &c, llvm::ArrayRef<int64_t> shape,
                            int bits = kFullCompareBits);
/// Arithmetic shares of [x < 0] as ring integers 0/1 (no fractional bits).
Proto<RingTensor> lessThanZero(Party &p, RingTensor x, const CompareMat &m,
                               int bits = kFullCompareBits);
Cost lessThanZeroCost(int64_t n, int bits = kFullCompareBits);

// --- Select ------------------------------------------------------------------

struct SelectMat {
  MulTriple mul;
};
SelectMat dealSelect(Corr &c, llvm::ArrayRef<int64_t> shape);
/// bit ? a : b, with `bit` arithmetic shares of 0/1 (as lessThanZero
/// returns): b + bit*(a-b). 1 round.
Proto<RingTensor> select(Party &p, RingTensor bit, RingTensor a, RingTensor b,
                         const SelectMat &m);
Cost selectCost(int64_t n);

/// bit ? a : b with an XOR-shared bit (as lessThanZeroBits returns): one
/// mulBit, 1 round, cheaper than select.
Proto<RingTensor> selectBits(Party &p, SharedBits bit, RingTensor a,
                             RingTensor b, const MulBitMat &m);
Cost selectBitsCost(int64_t n);

// --- ReLU --------------------------------------------------------------------

/// (Deviation from { CompareMat; MulTriple }: the sign test opens all of
/// c = x + 2^K + r, so x [x >= 0] = (c - 2^K) [s] - [r s] needs only the
/// bit s converted, with the dealer's shares of rho and r * rho.)
struct ReluMat {
  LtzBitsMat cmp;    ///< Sign test of x (its mask r is reused).
  BitToArithMat b2a; ///< Random bit rho for s = [x >= 0].
  /// The two candidates q for x + 2^K = c - q (c opened mod 2^L: q is
  /// r mod 2^L, minus 2^L msb_L(r) when c wrapped), and q * rho for each.
  Dealt q[2], qRho[2];
};
/// \p skip > 0: a coarse sign test (above), so x in [-2^skip, 0) may
/// come out as x instead of 0; |x| < 2^bits - 2^skip.
ReluMat dealRelu(Corr &c, llvm::ArrayRef<int64_t> shape,
                 int bits = kFullCompareBits, int skip = 0);
/// max(x, 0), exact, for |x| < 2^bits (bits in [1, 63]). Opens
/// c = x + 2^K + r in K + 2 bits (at most 64), then one bit.
Proto<RingTensor> relu(Party &p, RingTensor x, const ReluMat &m,
                       int bits = kFullCompareBits);
Cost reluCost(int64_t n, int bits = kFullCompareBits, int skip = 0);

// --- Max over the last axis --------------------------------------------------

/// One ReLU per tree level: max(u, v) = v + relu(u - v).
struct MaxMat {
  std::vector<ReluMat> levels;
  int skip = 0; ///< The ReLUs' coarse sign tests (maxSkip).
};
/// Max over the last axis -> shape [..., 1]; tree of comparisons, all rows
/// in one round per level; odd counts handled. Values satisfy |x| < 2^bits
/// (bits <= 62; differences are compared at bits + 1).
///
/// With \p skip > 0 (bits <= 61), a coarse max: the ReLUs' sign tests
/// ignore the differences' low skip bits (at bits + 2, so that only the
/// band below zero blurs), and each level keeps one of its pair at most
/// 2^skip below the larger. The result is an element of the row, at most
/// maxSlack(shape, skip) below the row's max: enough for softmax, which
/// the shift does not change.
MaxMat dealMax(Corr &c, llvm::ArrayRef<int64_t> shape,
               int bits = kFullCompareBits, int skip = 0);
Proto<RingTensor> maxLastAxis(Party &p, RingTensor x, const MaxMat &m,
                              int bits = kFullCompareBits);
Cost maxCost(llvm::ArrayRef<int64_t> shape, int bits = kFullCompareBits,
             int skip = 0);
/// A coarse max stays within 2^-kMaxSlackBits of the row's max.
constexpr int kMaxSlackBits = 4;
/// The coarse max's skip for values at \p frac fractional bits: the
/// smallest that makes its trees one level (24 bits) where the exact max's
/// have two, if its slack stays within 2^-kMaxSlackBits; else 0.
int maxSkip(llvm::ArrayRef<int64_t> shape, int bits, int frac);
/// The coarse max's slack in ring units: levels * 2^skip.
int64_t maxSlack(llvm::ArrayRef<int64_t> shape, int skip);

// --- Clip --------------------------------------------------------------------

/// clip(x) = lo + hi - x + relu(x - lo) - relu(hi - x): both ReLUs run as one
/// of 2n elements.
struct ClipMat {
  ReluMat relu;
};
/// Clamps to [lo, hi] (ring encodings of public fixed-point bounds).
/// Requires |x|, |lo|, |hi| < 2^bits (bits <= 62) and lo <= hi (signed);
/// compares at bits + 1.
ClipMat dealClip(Corr &c, llvm::ArrayRef<int64_t> shape,
                 int bits = kFullCompareBits);
Proto<RingTensor> clip(Party &p, RingTensor x, u64 lo, u64 hi, const ClipMat &m,
                       int bits = kFullCompareBits);
Cost clipCost(int64_t n, int bits = kFullCompareBits);

} // namespace mpc::rt
