//===- runtime/protocols/Nonlinear.h - Nonlinear functions ------*- C++ -*-===//
//
// Two-party protocols for the nonlinear functions of a Transformer:
// polynomials, exp, reciprocal, inverse square root, GeLU, softmax,
// LayerNorm and tanh, each with its dealer material (deal*), its protocol
// and an EXACT cost formula (*Cost) that tests compare with measured
// traffic. Which approximation each computes is an Approximation of the
// registry (Approx.h, Approximations.def: domain, max error, source), which the
// tests assert against.
//
// Inputs and outputs are fixed point with `frac` fractional bits in Z_2^64.
// Parameters live in small structs so the compiler can record each choice
// in the plan. Reductions (softmax, LayerNorm) run over the last axis.
//
// All of them run on the premasked-program engine (FxProgram.h): a
// truncation result comes out Beaver-masked, so a fixed-point product costs
// one round instead of two. Comparisons come from Compare.h and run in the
// same rounds as independent arithmetic (Parallel.h whenBoth).
//
// Round counts below are for frac = 16 and the default parameters; the
// *Cost functions are exact for every parameter choice. C = rounds of one
// lessThanZeroBits at the stated bit width (3 for 25..63 bits, Compare.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Corr.h"
#include "runtime/Cost.h"
#include "runtime/Proto.h"
#include "runtime/protocols/Approx.h"
#include "runtime/protocols/Arith.h"
#include "runtime/protocols/Compare.h"
#include "runtime/protocols/FxProgram.h"
#include "runtime/protocols/Narrow.h"
#include "support/ModelForms.h"

#include "llvm/Support/Error.h"

#include <string>
#include <string_view>
#include <vector>

namespace mpc::rt {

// --- Polynomial --------------------------------------------------------------

/// sum_k coeffs[k] x^k, correct for |x| <= bound (beyond it the powers may
/// overflow: garbage). Powers come in as few rounds as the bound allows:
/// x is opened once, each level truncates one new power (x^2 and x^3 from
/// one opening when |x|^3 2^(3 frac) fits), and the sum is taken at a high
/// coefficient scale with one final truncation. Degree <= 6 at bound 4:
/// 3 rounds. Error: a few ulps plus coefficient rounding.
struct PolyParams {
  std::vector<double> coeffs;
  double bound = 1;
  int frac = 16;
  /// Exact truncations (FxProgram.h; `mpcc compile --exact-truncation`).
  bool exact = false;
};
struct PolyMat {
  fx::Mat prog;
};
PolyMat dealPoly(Corr &c, llvm::ArrayRef<int64_t> shape, const PolyParams &p);
Proto<RingTensor> poly(Party &p, RingTensor x, const PolyParams &params,
                       const PolyMat &m);
Cost polyCost(llvm::ArrayRef<int64_t> shape, const PolyParams &p);

// --- exp ---------------------------------------------------------------------

/// exp(x) ~ (1 + x/2^iters)^(2^iters) (CrypTen/SPU "limit", iters = 8):
/// 1 + x/2^n is formed exactly at scale frac + n, then n squarings at a
/// working scale of up to 30 bits, each ONE round (truncation with the next
/// square precomputed): 1 + iters rounds. Domain (entry "exp.limit"):
/// [-14, maxInput] with max abs error ~1.1e-3 at maxInput = 0 (the limit
/// formula's own error, e^x x^2 / 2^(n+1)); for x < -2^n the result is
/// unspecified (callers clip, as softmax does). maxInput bounds the
/// working scale: keep it at the true upper end of the inputs.
/// order = 2 uses the base 1 + u + u^2/2 (u = x/2^n; one extra truncation
/// round), whose error is e^x |x|^3 / (6 4^n): with iters = 7 it costs the
/// same 9 rounds as the default and is ~100x more accurate ("exp.limit2").
/// cubes > 0 makes the last `cubes` raisings cubes instead of squares:
/// exp(x) ~ b(x)^N with N = 2^(iters - cubes) 3^cubes, in fewer rounds and
/// words (a cube is one truncation, like a square). Cubes run at a 20-bit
/// working scale (their cube must fit the ring), whose rounding is
/// amplified by the raisings still to come: hence last. The base is then
/// formed with encoded coefficients at ~60 bits and truncated once (one
/// extra round, as order 2). fitted (order 2 only, inputs <= 0): the base
/// quadratic interpolates e^(x/N) at x = -5.4, -2.91, -0.39 instead of
/// being Taylor's: its RELATIVE error is nearly level on [-5.5, 0], which
/// is what a softmax sees (a common factor cancels), at the same cost.
/// softmax's default {iters 4, order 2, cubes 4, fitted} (N = 81) takes
/// 1 + 1 + 4 rounds and words instead of 1 + 1 + 7 ("exp.cubes").
/// The defaults are exp.limit; expParams() gives every entry's.
struct ExpParams {
  int iters = 8;
  int frac = 16;
  double maxInput = 0;
  int order = 1;
  int cubes = 0;
  bool fitted = false;
  /// Exact truncations (FxProgram.h; `mpcc compile --exact-truncation`).
  bool exact = false;
};
/// The parameters of exp entry \p a (exp.limit, exp.limit2, exp.cubes) at
/// frac 16.
ExpParams expParams(Approximation a);
struct ExpMat {
  fx::Mat prog;
};
ExpMat dealExp(Corr &c, llvm::ArrayRef<int64_t> shape, const ExpParams &p);
Proto<RingTensor> expApprox(Party &p, RingTensor x, const ExpParams &params,
                            const ExpMat &m);
Cost expCost(llvm::ArrayRef<int64_t> shape, const ExpParams &p);

// --- Reciprocal --------------------------------------------------------------

/// 1/x for x > 0, by approx:
///  reciprocal.newton (CrypTen, iters 10): y0 = 3 exp(1 - 2x) + 0.003,
///    y <- 2y - x y^2 (one round each). Domain [0.02, 200]
///    ("reciprocal.newton").
///  reciprocal.goldschmidt (PUMA/SPU, iters 2): b_j = [x < 2^j] for every j in
///    (minExp, maxBits) from ONE batched comparison; the one-hot of the top
///    bit gives t = 2^-(k+1) (public coefficients), c = x t in [0.5, 1),
///    w0 = 2.9142 - 2c, e0 = 1 - c w0, r <- r(1 + e), e <- e^2, and the
///    result r t, folded into the last truncation. Domain
///    [2^minExp, 2^maxBits) ("reciprocal.goldschmidt"); relative error
///    <= 0.0858^(2^iters) plus fixed-point rounding. Rounds: C + 3 + iters.
/// The iterations reciprocal entry \p a runs by default.
int reciprocalIters(Approximation a);
struct ReciprocalParams {
  Approximation approx = defaultApprox(ApproxKind::Reciprocal);
  int iters = reciprocalIters(approx);
  int maxBits = 16; ///< Domain: x < 2^maxBits.
  int minExp = -12; ///< Domain: x >= 2^minExp (Goldschmidt).
  int frac = 16;
  /// Exact truncations (FxProgram.h; `mpcc compile --exact-truncation`).
  bool exact = false;
};
struct ReciprocalMat {
  fx::Mat prog;
  LtzBitsMat cmp; ///< Goldschmidt only.
};
ReciprocalMat dealReciprocal(Corr &c, llvm::ArrayRef<int64_t> shape,
                             const ReciprocalParams &p);
Proto<RingTensor> reciprocal(Party &p, RingTensor x,
                             const ReciprocalParams &params,
                             const ReciprocalMat &m);
Cost reciprocalCost(llvm::ArrayRef<int64_t> shape, const ReciprocalParams &p);
/// The bit width of the normalisation comparisons.
int reciprocalCompareBits(const ReciprocalParams &p);

// --- Inverse square root -----------------------------------------------------

/// 1/sqrt(x) for x > 0, by approx:
///  rsqrt.newton (CrypTen, iters 3): y0 = 2.2 exp(-(x/2 + 0.2)) + 0.2 - x/1024,
///    y <- y (3 - x y^2)/2 (two rounds each). Domain [0.1, 100]
///    ("rsqrt.newton").
///  rsqrt.normalized (default, iters = Newton steps, 1): one batched comparison
///    finds k with x in [2^k, 2^(k+1)); c = x 2^-(k+1) in [0.5, 1); a
///    degree-3 minimax guess p(c) (rel. error 4.8e-4), `iters` Newton
///    steps, and the factor 2^-(k+1)/2 (a public coefficient per k) folded
///    into the last truncation. Domain [2^minExp, 2^maxBits)
///    ("rsqrt.normalized"). Rounds: C + 3 + 2 iters.
///  rsqrt.secformer (SecFormer, iters 7): x/4, then y = 1 and
///    m = (3 - x)/2, x <- x m^2, y <- y m (one round each), y/2. Domain
///    [0.2, 10] ("rsqrt.secformer"). Rounds: 1 + iters.
/// The iterations rsqrt entry \p a runs by default.
int rsqrtIters(Approximation a);
struct RsqrtParams {
  Approximation approx = defaultApprox(ApproxKind::Rsqrt);
  int iters = rsqrtIters(approx);
  int maxBits = 16;
  int minExp = -12;
  int frac = 16;
  /// Exact truncations (FxProgram.h; `mpcc compile --exact-truncation`).
  bool exact = false;
};
struct RsqrtMat {
  fx::Mat prog;
  LtzBitsMat cmp; ///< Normalized only.
};
RsqrtMat dealRsqrt(Corr &c, llvm::ArrayRef<int64_t> shape,
                   const RsqrtParams &p);
Proto<RingTensor> rsqrt(Party &p, RingTensor x, const RsqrtParams &params,
                        const RsqrtMat &m);
Cost rsqrtCost(llvm::ArrayRef<int64_t> shape, const RsqrtParams &p);

// --- GeLU --------------------------------------------------------------------

/// By approx (Approximations.def has each formula, domain and error):
/// gelu.accurate (default) and gelu.puma are piecewise polynomials: the
///   comparisons against the breakpoints run as one batched comparison in
///   the same rounds as the powers and the segment polynomials, from x's
///   opening (against its premask, without an opening of their own); the
///   selection is local after opening the bits. Any input with
///   |x| < 2^(compareBits-1) / 2^frac. Rounds: 4.
/// gelu.quad: 0.125x^2 + 0.25x + 0.5 (MPCFormer; only for models distilled
///   with it). 2 rounds. No comparisons (compareBits is ignored).
/// gelu.crypten: CrypTen's erf Taylor series as one polynomial of degree 18
///   (the poly program): no comparison, right on its domain only.
/// inputTruncBits > 0 (piecewise entries, geluCompares): x arrives
///   at frac + inputTruncBits (an untruncated product, |x| <
///   2^(62 - inputTruncBits - frac) in value) and the first round
///   truncates it; that opening replaces the one of x, so a product's
///   truncation followed by GeLU costs a round and a word each way less.
///   Needs geluCanTruncateInput(inputTruncBits, compareBits).
struct GeluParams {
  Approximation approx = defaultApprox(ApproxKind::Gelu);
  int frac = 16;
  int compareBits = kFullCompareBits;
  int inputTruncBits = 0;
  /// Exact truncations (FxProgram.h; `mpcc compile --exact-truncation`).
  bool exact = false;
};
/// Whether entry \p a compares its input with breakpoints (and so uses
/// compareBits and can truncate its input: inputTruncBits).
bool geluCompares(Approximation a);
/// The largest inputTruncBits the GeLU protocol takes.
constexpr int kGeluMaxInputTruncBits = 40;
/// Whether GeLU can truncate its input by \p inputTruncBits bits with
/// comparisons of \p compareBits bits: the truncation's two mask
/// candidates differ by a multiple of 2^(64 - inputTruncBits), and the
/// comparisons need them equal modulo 2^(compareBits + 1).
bool geluCanTruncateInput(int inputTruncBits, int compareBits);
/// The ring GeLU reads its input in: |x| < 2^(compareBits - 1) at its
/// frac, so compareBits + 1 bits at that scale, plus the bits it
/// truncates (a narrower ring than 64 when that is less).
int geluInputRingBits(int compareBits, int inputTruncBits);
struct GeluMat {
  fx::Mat prog;
  LtzBitsMat cmp; ///< puma only.
};
GeluMat dealGelu(Corr &c, llvm::ArrayRef<int64_t> shape, const GeluParams &p);
Proto<RingTensor> gelu(Party &p, RingTensor x, const GeluParams &params,
                       const GeluMat &m);
Cost geluCost(llvm::ArrayRef<int64_t> shape, const GeluParams &p);

// --- tanh --------------------------------------------------------------------

/// tanh.poly (the only entry): odd-symmetric pieces: -1 below -5, an
/// outer degree-5 fit on [-5,-1.5), an odd degree-7 fit on [-1.5,1.5], the
/// mirrored outer fit on (1.5,5], +1 above 5. Four comparisons in one
/// batch, in the same rounds as the powers. Rounds: 4 (C = 3).
struct TanhParams {
  Approximation approx = defaultApprox(ApproxKind::Tanh);
  int frac = 16;
  int compareBits = kFullCompareBits;
  /// Exact truncations (FxProgram.h; `mpcc compile --exact-truncation`).
  bool exact = false;
};
struct TanhMat {
  fx::Mat prog;
  LtzBitsMat cmp;
};
TanhMat dealTanh(Corr &c, llvm::ArrayRef<int64_t> shape, const TanhParams &p);
Proto<RingTensor> tanhApprox(Party &p, RingTensor x, const TanhParams &params,
                             const TanhMat &m);
Cost tanhCost(llvm::ArrayRef<int64_t> shape, const TanhParams &p);

// --- Softmax -----------------------------------------------------------------

/// The widest inputBits softmax takes: its max compares differences of
/// inputBits + 1 bits, plus the sign, and the clip test opens y = x - max
/// in a ring of inputBits + 3 bits, which must be narrower than the full
/// ring (a 0-bit truncation lifts only out of a narrow ring).
constexpr int kSoftmaxMaxInputBits = kFullRingBits - 4;

/// softmax.exact (default): m = max over the last axis (coarse where
///   that saves rounds: at most slack = 2^-4 below it; Compare.h), y = x -
///   m - slack, e = exp(y) set to 0 where y < clipBelow (the clip test runs
///   in the same rounds as exp, the bit is applied by a local product;
///   masked entries with bias -10000 are clipped, so exp's garbage there
///   never escapes), s = sum e, q = 1/s by normalised Goldschmidt (s in
///   [e^-slack, L]: the domain is set from the row length L; q is kept at
///   frac + log2 L bits), out = e q. exp is b(y)^81 with the fitted quadratic
///   base and four cubes (ExpParams, "exp.cubes"): 6 rounds and words per
///   element where the second-order limit with 7 squarings ({7, 16, 0, 2},
///   still available) takes 9, and more accurate on long rows; error 2e-4
///   ("softmax.exact"). Inputs: |x| < 2^inputBits / 2^frac.
///   Rounds: max + (exp.order + exp.iters) + (1 + max(C' - 1, 0) + 2 +
///   recip.iters) + 1 with C' the comparison rounds at log2(L) + frac + 2
///   bits (2 for L < 256, coarse: Reciprocal.cpp normCompareSkip), which
///   run alongside the reciprocal's lanes, one per bucket (NonlinearBuild.h,
///   Buckets): max + 6 + 5 + 1 with defaults; max is 3 rounds a level at
///   frac 16, range 15 (4 with exact truncations).
/// softmax.puma: the same with PUMA's exp (1 + x/256)^256 (exp ignored):
///   error 4e-3 ("softmax.puma").
/// softmax.crypten: as softmax.puma with CrypTen's Newton reciprocal of the
///   row sum (10 iterations, no comparison): rows of at most 200.
/// softmax.scaling (MPCViT): x/n times the 0/1 mask if any, one truncation.
/// softmax.2quad (MPCFormer): (x + c)^2 / sum (x + c)^2 with c = quadC. An
///   additive mask bias breaks it (a -10000 entry squares to 1e8): pass the
///   0/1 mask to softmax() instead. The reciprocal's domain is
///   [2^recip.minExp, 2^recip.maxBits): set it from the score range.
struct SoftmaxParams {
  Approximation approx = defaultApprox(ApproxKind::Softmax);
  double clipBelow = -14;
  ExpParams exp = expParams(Approximation::ExpCubes); ///< exact only.
  /// Goldschmidt entries: only iters is used (exact, puma) or also the
  /// domain (2quad); crypten runs reciprocal.newton's defaults, secformer
  /// reciprocal.secformer's on its deflated row sums.
  ReciprocalParams recip;
  double quadC = kTwoQuadC;
  /// Bound on |x| * 2^frac, in bits (max compares); the widest by default.
  int inputBits = kSoftmaxMaxInputBits;
  int frac = 16;
  /// Exact truncations (FxProgram.h; `mpcc compile --exact-truncation`),
  /// in the exp and reciprocal too (their own `exact` is not read).
  bool exact = false;
};
struct SoftmaxMat {
  MaxMat max;
  fx::Mat expProg; ///< exact: exp and the clip bit; 2quad: the squares.
  LtzBitsMat clip;
  ReciprocalMat recip;
  fx::Mat outProg; ///< The final product.
};
SoftmaxMat dealSoftmax(Corr &c, llvm::ArrayRef<int64_t> shape,
                       const SoftmaxParams &p);
/// Softmax over the last axis. For "2quad", \p mask (0/1 ring integers,
/// public, broadcastable to x) multiplies the squares; nullptr = no mask.
Proto<RingTensor> softmax(Party &p, RingTensor x, const SoftmaxParams &params,
                          const SoftmaxMat &m,
                          const RingTensor *mask = nullptr);
Cost softmaxCost(llvm::ArrayRef<int64_t> shape, const SoftmaxParams &p);
/// Whether entry \p a takes the row max and exp (exact, puma, crypten), and
/// so inputBits and an additive mask bias; otherwise (2quad, scaling) a 0/1
/// mask.
bool softmaxUsesExp(Approximation a);
/// Whether entry \p a computes MPCFormer's 2Quad, (x + c)^2 / sum (2quad,
/// secformer): the entries a distilled 2Quad softmax may run.
bool softmaxIsTwoQuad(Approximation a);
/// The bound on |x| 2^frac, in bits, softmax needs for activations
/// |x| < 2^rangeBits (its max compares differences: one bit more).
int softmaxInputBits(int frac, int rangeBits);
/// The attention-mask bias of BERT-style models: masked scores get
/// -10000 added (HF exports may use finfo(f32).min instead).
constexpr double kSoftmaxMaskBias = 10000;
/// How far below zero an attention-mask bias is put for softmax at
/// activations |x| < 2^rangeBits: kSoftmaxMaskBias, or half the range when
/// that is smaller. After the max subtraction either is far below exp's clip
/// (-14), so the probabilities are those of any larger bias, and the bias
/// stays inside the ring and the comparison range.
double softmaxMaskBias(int rangeBits);
/// A model's mask fill \p v (or a masked score: -inf, finfo.min, -1e9) as
/// the secure run takes it: no lower than -softmaxMaskBias(rangeBits),
/// the same probabilities. Lowering writes mask constants through it and
/// the compiler's simulation reads softmax inputs through it.
double softmaxMaskedValue(double v, int rangeBits);

// --- LayerNorm ---------------------------------------------------------------

/// y = (x - mean) rsqrt(var + eps) * gamma + beta over the last axis (d).
/// mean and the centring are one truncation by a public 1/d; var is a
/// local square plus a sum and one truncation; rsqrt is "normalized" by
/// default (var + eps may range from 1e-4 to 1e4: domain
/// [2^rsqrt.minExp, 2^rsqrt.maxBits)); the comparisons are made on the raw
/// sum against d (2^j - eps), so no division precedes them.
/// gamma/beta:
///   Affine::None    — none (tests, or folded elsewhere);
///   Affine::Public  — both parties pass the same clear tensors;
///   Affine::Private — party 0 holds them, beta is added to party 0's
///     share. y gamma is LOCAL: y = D + A is premasked (the centring's
///     truncation), so y gamma = D gamma + A (gamma - B) + A B with
///     gamma - B known to both parties (party 1 from the W - B set-up of
///     weight gammaWeightId, party 0 from its mask seed) and the dealer's
///     shares of A B for both of A's candidates. Party 1 passes nullptr.
/// layernorm.crypten (rsqrt.newton) and layernorm.secformer (rsqrt.secformer)
/// truncate var + eps to frac and run the rsqrt's own iterations: no
/// comparison; layernorm.crypten takes 19 rounds, domain of
/// var + eps about [0.1, 100].
/// Inputs: |x - mean| < 2^inputBits. rsqrt(var + eps) is kept at
/// frac + maxBits/2 bits. Rounds: 1 (centre) + 1 (variance) + 2 + 2
/// rsqrt.iters (the rsqrt, one lane per bucket, NonlinearBuild.h Buckets,
/// alongside the comparison tree at log2(d) + maxBits + frac + 1 bits,
/// against the variance's mask: no opening of its own; one wide level up
/// to 48 bits, Compare.h; the bits are opened in the rsqrt's second
/// stage) + 1 (output) = 7 with defaults; the private gain's truncation (1
/// round) runs alongside the variance and rsqrt.
/// The rsqrt entry layernorm entry \p a runs.
Approximation layerNormRsqrt(Approximation a);
struct LayerNormParams {
  enum Affine { None, Public, Private };
  /// The model's epsilon: plans always give it (the layernorm kernel
  /// requires it; the default of a model without one is the IR's).
  double eps = 0;
  int frac = 16;
  int inputBits = 14;
  RsqrtParams rsqrt;
  Affine affine = Affine::Private;
  int gammaFrac = 16; ///< Fraction bits of gamma's ring encoding.
  int betaFrac = 16;
  int64_t gammaWeightId = -1; ///< Private: the set-up weight id of gamma.
  /// Exact truncations (FxProgram.h; `mpcc compile --exact-truncation`),
  /// in the rsqrt too (its own `exact` is not read).
  bool exact = false;
};
struct LayerNormMat {
  fx::Mat centre, var, out;
  LtzBitsMat cmp;
  /// Private affine only: shares of A_j * broadcast(B) for y's two mask
  /// candidates, and this party's part of gamma's mask (party 0: B;
  /// party 1: gamma - B).
  Dealt gammaAB[2];
  RingTensor gammaMask;
};
/// \p masks is required for Affine::Private (dealer and party 0: withSeed;
/// party 1: forParty1); ignored otherwise.
LayerNormMat dealLayerNorm(Corr &c, llvm::ArrayRef<int64_t> shape,
                           const LayerNormParams &p,
                           const WeightMasks *masks = nullptr);
Proto<RingTensor> layerNorm(Party &p, RingTensor x,
                            const LayerNormParams &params,
                            const LayerNormMat &m,
                            const RingTensor *gamma = nullptr,
                            const RingTensor *beta = nullptr);
Cost layerNormCost(llvm::ArrayRef<int64_t> shape, const LayerNormParams &p);
/// The inputs LayerNorm is right for, with the default parameters
/// (LayerNormParams::inputBits, RsqrtParams::maxBits): |x| and |output|
/// < 2^inputBits, row variance + eps < 2^varianceBits.
struct LayerNormDomain {
  int inputBits;
  int varianceBits;
};
LayerNormDomain layerNormDomain();

// --- Simulation --------------------------------------------------------------

/// Each protocol on clear fixed-point ring values (shares summed): the same
/// programs and parameters run by fx::simulateStages, comparisons and maxima
/// taken exactly. What the two parties compute, except that each of their
/// truncations may add 1 ulp (Trunc.h), which the later steps amplify
/// (squarings, iterations): the compiler's prediction of a secure run.
/// Gamma and beta are public (at gammaFrac / betaFrac) for every affine
/// kind; nullptr for none.
RingTensor simulatePoly(RingTensor x, const PolyParams &p);
RingTensor simulateExp(RingTensor x, const ExpParams &p);
RingTensor simulateReciprocal(RingTensor x, const ReciprocalParams &p);
RingTensor simulateRsqrt(RingTensor x, const RsqrtParams &p);
RingTensor simulateGelu(RingTensor x, const GeluParams &p);
RingTensor simulateTanh(RingTensor x, const TanhParams &p);
RingTensor simulateSoftmax(RingTensor x, const SoftmaxParams &p,
                           const RingTensor *mask = nullptr);
RingTensor simulateLayerNorm(RingTensor x, const LayerNormParams &p,
                             const RingTensor *gamma = nullptr,
                             const RingTensor *beta = nullptr);

// --- Parameter checks --------------------------------------------------------

/// Whether parameters (from a plan file) are in the range the protocols
/// support for tensors of \p shape: the deal/run/cost functions assert these
/// conditions, so a plan reader must call these first. Each returns a
/// DiagError naming the offending field.
llvm::Error validatePoly(llvm::ArrayRef<int64_t> shape, const PolyParams &p);
llvm::Error validateExp(const ExpParams &p);
llvm::Error validateReciprocal(const ReciprocalParams &p);
llvm::Error validateRsqrt(const RsqrtParams &p);
llvm::Error validateGelu(const GeluParams &p);
llvm::Error validateTanh(const TanhParams &p);
llvm::Error validateSoftmax(llvm::ArrayRef<int64_t> shape,
                            const SoftmaxParams &p);
llvm::Error validateLayerNorm(llvm::ArrayRef<int64_t> shape,
                              const LayerNormParams &p);

} // namespace mpc::rt
