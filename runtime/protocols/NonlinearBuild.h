//===- runtime/protocols/NonlinearBuild.h - Program builders ----*- C++ -*-===//
//
// Internal to the nonlinear protocols: the building blocks that write
// fixed-point programs (FxProgram.h) — powers, polynomial sums, the limit
// exp, the top-bit normalisation, Goldschmidt and Newton iterations, and
// piecewise polynomials — shared by the element-wise ops and the composites.
// Each builder expects its inputs usable in the builder's current stage and
// leaves the builder in the stage where its result is usable.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/protocols/FxProgram.h"
#include "runtime/protocols/Nonlinear.h"

#include <functional>
#include <map>
#include <optional>
#include <set>

namespace mpc::rt::nl {

using fx::Builder;
using fx::Expr;

/// Largest value magnitude, in bits, allowed before a truncation (the
/// truncation needs |z| < 2^62; one bit of margin).
constexpr int kSafeBits = 61;

/// ceil(log2(max(v, 1))).
int log2Ceil(double v);

// --- Powers and polynomials --------------------------------------------------

/// x^e for every needed e >= 1, each as a premasked value or a product of
/// two (scale frac or 2 frac). x is premasked at frac; |x| <= bound.
struct Powers {
  std::map<int, Expr> pow;
  int levels = 0; ///< Truncation stages used.
};
/// With \p narrow, each power is truncated in the ring its bound needs
/// (Builder::ringFor): fewer bytes, but garbage where |x| > bound, so only
/// for callers that discard those elements (piecewise segments).
Powers buildPowers(Builder &b, int x, int frac, const std::set<int> &need,
                   double bound, bool narrow = false);
/// The products buildPowers truncates, level by level: (e, the exponents
/// whose product is x^e); maxScale, the largest scale of a power the sum
/// reads (frac, or 2 frac for a product of two).
struct PowerPlan {
  std::vector<std::vector<std::pair<int, std::vector<int>>>> levels;
  int maxScale = 0;
};
/// buildPowers' plan; none where some needed power cannot be reached
/// within the ring at \p frac (validation refuses such parameters).
std::optional<PowerPlan> planPowers(int frac, const std::set<int> &need,
                                    double bound);
/// Exponents with a non-zero coefficient (>= 1).
std::set<int> neededExponents(llvm::ArrayRef<double> coeffs);

/// sum_k c_k x^k as an Expr at the highest scale that keeps \p magnitude
/// (a bound on |sum| where the result is used) below 2^kSafeBits, and at
/// most \p coeffBits above the finest power's scale (the coefficients'
/// precision there: a lower scale truncates in a narrower ring).
Expr polySum(const Powers &pw, llvm::ArrayRef<double> coeffs, double magnitude,
             int frac, int coeffBits = 40);
/// sum_k |c_k| bound^k: a magnitude bound for |x| <= bound.
double polyMagnitude(llvm::ArrayRef<double> coeffs, double bound);

// --- exp ---------------------------------------------------------------------

/// exp(u) by the limit formula; u an Expr over premasked values. Returns a
/// premasked id at p.frac, usable in the builder's (new) current stage.
/// With \p narrow, every truncation opens in the ring e^maxInput needs:
/// garbage where u is below the base's fitted range (softmax discards those
/// entries with its clip bit).
int buildExp(Builder &b, const Expr &u, const ExpParams &p,
             bool narrow = false);
/// The working scale of the raisings to \p power (2 or 3).
int expWorkFrac(const ExpParams &p, int power = 2);
/// N = 2^(iters - cubes) 3^cubes: exp(x) = b(x)^N.
double expRadix(const ExpParams &p);
/// The scale the base polynomial is formed at when it is not the classic
/// exact one (cubes or a fitted base).
int expBaseScale(const ExpParams &p);

// --- Normalisation by the top bit --------------------------------------------

/// Buckets k in [lo, hi): x in [2^k, 2^(k+1)) (the lowest bucket takes
/// everything below 2^(lo+1), the highest everything from 2^(hi-1)). The
/// thresholds are 2^j for j in (lo, hi); bits[j - lo - 1] is the premasked
/// [x < 2^j]. Returns sum_k coef(k) [bucket k] at scale fc (ring-exact per
/// bucket: one encoded coefficient each).
Expr bucketSum(const Builder &b, llvm::ArrayRef<int> bits, int lo, int hi,
               const std::function<double(int)> &coef, int fc);
/// [bucket k] (bits as for bucketSum) at scale 0.
Expr bucketIndicator(const Builder &b, llvm::ArrayRef<int> bits, int lo, int hi,
                     int k);
/// Thresholds of the normalisation comparisons: hi - lo - 1.
inline int numThresholds(int lo, int hi) { return hi - lo - 1; }

/// Where a normalised body (buildGoldschmidt, buildRsqrtNormalized) reads
/// its input's bucket. Opened (bitsAt empty): the premasked threshold bits,
/// usable now, and one lane whose factors are their bucket sums. Per
/// bucket: one lane per bucket from the start, each with constant factors,
/// and the input's own lane kept in the final truncation, by the bits that
/// bitsAt opens then (it may add stages first): the comparison's rounds run
/// alongside the lanes, two rounds fewer for hi - lo times the lanes'
/// traffic, which pays where the inputs are rows (softmax's row sums,
/// LayerNorm's variances), not elements. A lane of another bucket computes
/// garbage (its normalised input is out of range) that the exact 0 of its
/// indicator drops.
struct Buckets {
  std::vector<int> bits;
  std::function<std::vector<int>(Builder &)> bitsAt;
  bool perBucket() const { return bool(bitsAt); }
};
/// Per-bucket Buckets whose bits \p bitInputs are opened at stage \p
/// split (so read from split + 1 on).
Buckets bucketsOpenedAt(std::vector<int> bitInputs, int split);
/// Whether rows of \p len normalise per bucket: when their hi - lo lanes
/// are at most an eighth of the row, the lanes' traffic is a few percent
/// of the op's for two rounds fewer (bert-base: softmax's 8 lanes on rows
/// of 128, LayerNorm's 28 on rows of 768); on short rows it would not be.
inline bool rowsPerBucket(int64_t len, int lo, int hi) {
  return int64_t(hi - lo) * 8 <= len;
}

/// 1/x by normalised Goldschmidt; x an Expr at scale sx whose value is in
/// [2^lo, 2^hi), its bucket as \p bk says. Returns premasked 1/x at
/// outFrac (>= frac; a finer scale keeps small results' relative precision).
int buildGoldschmidt(Builder &b, const Expr &x, const Buckets &bk, int lo,
                     int hi, int iters, int frac, int outFrac);
/// 1/sqrt(x), normalised: likewise, by the normalising rsqrt entry \p a
/// (its guess; iters Newton steps after it).
int buildRsqrtNormalized(Builder &b, Approximation a, const Expr &x,
                         const Buckets &bk, int lo, int hi, int iters, int frac,
                         int outFrac);
/// 1/y by SecFormer's Goldschmidt without an initial guess, for y in
/// (0, 2): y an Expr over premasked values, usable now, at a scale s with
/// 2 s + 2 < kSafeBits. \p iters rounds; a premasked result at frac, at
/// most 2^iters (each factor is in (0, 2]).
int buildGoldschmidtNoGuess(Builder &b, Expr y, int iters, int frac);
/// CrypTen's Newton reciprocal / rsqrt on premasked x at frac.
int buildReciprocalNewton(Builder &b, int x, int iters, int frac);
int buildRsqrtNewton(Builder &b, int x, int iters, int frac);
/// The iterations of an rsqrt entry that does not normalise (normalizes()
/// is false: rsqrt.newton, rsqrt.secformer) on premasked x at frac; a
/// premasked result at frac.
int buildRsqrtUnnormalized(Builder &b, Approximation a, int x, int iters,
                           int frac);

// --- Programs with a normalisation comparison --------------------------------

/// A program whose input x (arith) is opened in stage 0 while one batched
/// comparison computes [x < 2^j] for j in (lo, hi); the bits are opened at
/// stage `split` and body builds the rest: from there (Buckets opened), or
/// per bucket from stage 1, alongside the comparison.
struct NormProgram {
  std::shared_ptr<const fx::Program> prog;
  int x = -1, out = -1, split = 0;
  int lo = 0, hi = 0, frac = 0;
  bool exact = false;         ///< Exact truncations (and no coarse comparison).
  std::vector<int> bitInputs; ///< One bits input per threshold.
};
/// (builder, premasked x, its bucket) -> premasked result.
using NormBody = std::function<int(Builder &, int, const Buckets &)>;
NormProgram buildNormProgram(int64_t n, int frac, int lo, int hi, int cmpRounds,
                             bool exact, const NormBody &body,
                             bool perBucket = false);
/// The comparison width for x < 2^hi at frac.
int normCompareBits(int frac, int hi);
/// The comparison's skip (a coarse test, Compare.h): the bits that bring
/// its tree to 24 bits, a round shorter, where that blurs each threshold
/// by at most 2^-10 of the smallest, 2^(lo+1) (softmax's row sums: 25 bits
/// at rows of 128, skip 1); else 0. A value just below a threshold 2^j
/// may then take the bucket from 2^j and normalise to just below its lower
/// end (1/2), from where the iterations converge as well. None
/// with \p exact: which bucket a blurred value takes depends on the mask,
/// and exact truncations promise the same result on every run.
int normCompareSkip(int frac, int lo, int hi, bool exact);
/// x - 2^j for every threshold, threshold-major.
RingTensor normCompareInput(const Party &p, const RingTensor &x, int frac,
                            int lo, int hi);
/// Runs the program with its comparison (x already set in \p st).
Proto<int> runNormProgram(Party &p, const fx::Mat &m, const LtzBitsMat &cmp,
                          const NormProgram &np, fx::State &st,
                          RingTensor cmpInput, int cmpBits);
Cost normProgramCost(const NormProgram &np, int cmpBits);
/// The reciprocal op's program (both methods); Goldschmidt's result at
/// \p outFrac (default: p.frac), per bucket (Buckets) on request.
NormProgram buildReciprocalProgram(int64_t n, const ReciprocalParams &p,
                                   int outFrac = -1, bool perBucket = false);

// --- Piecewise polynomials ---------------------------------------------------

/// One segment of a piecewise function.
struct Segment {
  enum Kind { Const, Identity, Poly } kind = Const;
  double value = 0;           ///< Const.
  std::vector<double> coeffs; ///< Poly.
};
/// Segments between ascending breakpoints (segments = breaks + 1).
struct Piecewise {
  std::vector<double> breaks;
  std::vector<Segment> segs;
  /// Polynomial segments are in y = x / 2^polyShift (|y| <= 1 keeps every
  /// power and coefficient well scaled; y is x read at frac + polyShift,
  /// so the division is exact and free).
  int polyShift = 0;
};

/// A built piecewise program: x (arith) and one bits input [x < break_i]
/// per breakpoint; the output is raw at frac.
struct PiecewiseProgram {
  std::shared_ptr<const fx::Program> prog;
  int x = -1, out = -1;
  int xm = -1; ///< The premasked x (opened, or truncated from the input).
  std::vector<int> bitInputs;
  /// Stages [cmpStart, split) run alongside the comparison; cmpStart is 1
  /// when the first stage truncates the input (x exists only after it).
  int cmpStart = 0, split = 0;
};
/// Each polynomial segment is evaluated for every x but only used on its
/// segment: its magnitude is sampled there, and its powers need only be
/// right for |x| up to the outermost finite breakpoint.
/// With inputTruncBits > 0 the input is at frac + inputTruncBits (an
/// untruncated product) and the first stage truncates it: the truncation's
/// opening is the one x needs, so the caller's separate truncation and
/// its word go. x is in the comparisons' range (|x| 2^frac < 2^(cmpBits -
/// 1)), so that truncation opens in a ring of cmpBits + 1 + inputTruncBits
/// bits; the powers and segment values, right only on their segments, in
/// the rings their bounds need.
PiecewiseProgram buildPiecewise(const Piecewise &pw, int64_t n, int frac,
                                int cmpBits, int compareRounds,
                                int inputTruncBits, bool exact);
/// Whether buildPiecewise can build \p pw at \p frac: its polynomial
/// segments' powers and sums within the ring; the error names \p what.
llvm::Error validatePiecewise(const Piecewise &pw, int frac,
                              llvm::StringRef what);
/// The comparisons' material: against x's premask (Compare.h,
/// lessThanZeroBitsOfPublic), dealt after the program's.
LtzBitsMat dealPiecewiseCompare(Corr &c, const Piecewise &pw,
                                const PiecewiseProgram &pp, const fx::Mat &m,
                                int cmpBits);
/// Runs it: x - break_i compared in one batch alongside the powers, from
/// the public part of x's opening (no opening of its own).
Proto<RingTensor> runPiecewise(Party &p, const Piecewise &pw,
                               const PiecewiseProgram &pp, const fx::Mat &m,
                               const LtzBitsMat &cmp, RingTensor x, int frac,
                               int cmpBits);
Cost piecewiseCost(const PiecewiseProgram &pp, int cmpBits);

/// Whether reciprocal or rsqrt entry \p a normalises its input by the top
/// bit (a batched comparison over [2^minExp, 2^maxBits)); otherwise it
/// iterates on its fixed domain (CrypTen's Newton, SecFormer's Goldschmidt).
bool normalizes(Approximation a);

/// The exp softmax runs (its entry's, or the parameters'), at p.frac.
ExpParams softmaxExp(const SoftmaxParams &p);
/// The reciprocal softmax takes of its row sums (rows of \p len): its
/// entry's, on [e^-slack, len] for the entries with exp (slack the coarse
/// max's, Compare.h), on p.recip's domain for
/// the quadratic.
ReciprocalParams softmaxRecip(const SoftmaxParams &p, int64_t len);
/// k of the deflation 2^k of the row sums (rows of \p len) for the entries
/// whose reciprocal does not normalise after 2Quad (softmax.secformer):
/// the smallest 2^k >= len max (x + c)^2 / kSoftmaxDeflateTop over the
/// entry's domain; 0 for the others.
int softmaxDeflateBits(const SoftmaxParams &p, int64_t len);
/// The largest deflated row sum: Goldschmidt without a guess leaves
/// |1 - y|^128 <= 0.9^128 = 1.4e-6 there.
constexpr double kSoftmaxDeflateTop = 1.9;
/// The largest deflation: the final product's truncation opens in f +
/// deflatedFrac + k + 3 bits.
constexpr int kSoftmaxMaxDeflateBits = 20;

/// A program of one input: x opened, the powers and sum_k c_k x^k
/// truncated once (the poly op; GeLU entries that are one polynomial).
/// shift > 0 evaluates it in y = x / 2^shift (the same ring values, read
/// finer): for a high degree on |x| > 1, powers of y stay small and the
/// small coefficients of high powers become larger, keeping precision.
struct PolyProgram {
  std::shared_ptr<const fx::Program> prog;
  int x = -1, out = -1;
};
PolyProgram buildPolyProgram(int64_t n, const PolyParams &p, int shift = 0);

/// The checks of GeLU parameters that depend on what its entry computes
/// (Activations.cpp; validateGelu calls it).
llvm::Error validateGeluForm(const GeluParams &p);
/// Whether tanh's piecewise program builds at \p p.frac (validatePiecewise).
llvm::Error validateTanhForm(const TanhParams &p);

/// A tensor seen as rows along its last axis (softmax, LayerNorm).
struct RowDims {
  int64_t n = 0, rows = 0, len = 0;
};
RowDims dimsOf(llvm::ArrayRef<int64_t> shape);

/// One-input programs: x (any shape, flattened) through every stage; the
/// value \p out reshaped back. \p m was dealt for the same program.
Proto<RingTensor> runUnaryProgram(Party &p, const fx::Mat &m, int in, int out,
                                  RingTensor x);
/// A NormProgram on x (any shape): its comparisons on x, then the program.
Proto<RingTensor> runUnaryNorm(Party &p, const NormProgram &np,
                               const fx::Mat &m, const LtzBitsMat &cmp,
                               RingTensor x, int frac, int cmpBits);
/// Deals a NormProgram over \p n elements and its comparison material.
void dealNorm(Corr &c, const NormProgram &np, int64_t n, int cmpBits,
              fx::Mat &prog, LtzBitsMat &cmp);

/// Simulation (Nonlinear.h): a one-input program on clear x (any shape).
RingTensor simulateUnary(const fx::Program &prog, int in, int out,
                         RingTensor x);
/// Clear [x < thr] as a ring 0/1 per element (a comparison in range).
RingTensor clearLess(const RingTensor &x, u64 thr);
/// A NormProgram on clear x (any shape): its comparisons, then the program.
RingTensor simulateUnaryNorm(const NormProgram &np, RingTensor x);
/// Sets a NormProgram's threshold bits from clear x (n elements).
void setNormBits(const NormProgram &np, fx::Clear &s, const RingTensor &x);

/// XOR-shared bits [start, start + count) of \p b as their own SharedBits.
SharedBits sliceBits(const SharedBits &b, int64_t start, int64_t count);

} // namespace mpc::rt::nl
