//===- runtime/protocols/Softmax.cpp - Softmax, last axis -----------------===//
//
// "exact" and "puma": m = the row's max, coarse where that saves rounds
// (Compare.h: an entry of the row at most slack = 2^-4 below its max, a
// round shorter per level; exact with --exact-truncation), y = x - m -
// slack <= 0 (softmax is the same for any shift), then one program opens y
// and runs exp's squarings while the clip test [y < clipBelow] runs in the
// same rounds (from y's opening, against its mask: Compare.h,
// lessThanZeroBitsOfPublic); the clip bit is opened premasked in a squaring
// round, so e' = (1 - b) exp(y) is local. Masked entries (bias -10000) have
// y far below -2^8, where exp's squarings overflow: that garbage is
// multiplied by an exact 0. The row sums s are in [e^-slack, L] (the entry
// m is has y >= -slack), so the normalised Goldschmidt reciprocal runs on
// buckets [1, 2^K) with 2^K > L, a sum below 1 taking the lowest. The last
// program multiplies (1 - b) e q with q broadcast along the row: every
// factor is already premasked, so it is one truncation round. "puma" uses
// PUMA's exp, (1 + x/256)^256 (9 rounds); "exact" a fitted quadratic base
// raised to 81 by four cubes (Exp.cpp): 6 rounds and words per element,
// ~10x more accurate on rows of ~100.
//
// "2quad" (MPCFormer): (x + c)^2 (times a 0/1 mask) truncated in one round
// after opening x, then the same reciprocal and product.
//
// "secformer" (SecFormer): the same squares, then SecFormer's division,
// Goldschmidt without an initial guess (reciprocal.secformer: 7 rounds),
// which needs its input in (0, 2). Input deflation: the row sum s is read
// as y = s / 2^k, 2^k the smallest power of two >= len (hi + c)^2 / 1.9 (hi
// the entry's domain bound, 20), so y is in (0, 1.9] on the domain: y up
// to 1.9 still converges to 1.4e-6 (0.9^128), and the smaller 2^k makes
// the small sums' y up to 1.9 times larger than a bound of 1 would. y is at
// frac + 8 (its truncation by k - 8 bits replaces the opening the reciprocal
// needs anyway; k >= 7 for any c, and a k of 7 keeps 7 bits), r ~ 1/y is
// kept there, and r read k bits finer is 1/s: the deflation costs nothing. r
// converges as 1 - (1 - y)^128, so rows whose sum is small against 2^k come out
// small.
//
// "crypten" is "puma" with CrypTen's Newton reciprocal (no comparison) of
// the row sums; "scaling" (MPCViT) is x/n (times the mask): the first
// program alone, one truncation.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/NonlinearBuild.h"
#include "runtime/protocols/Parallel.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <optional>

namespace mpc::rt {

using namespace nl;

namespace {

/// What a softmax entry computes: max, exp and a reciprocal (with the
/// parameters' exp, or a fixed exp entry's), MPCFormer's 2Quad, or
/// MPCViT's scaling x/n; and which reciprocal divides by the row sums.
struct SoftmaxForm {
  enum Shape { Exp, Quad, Scaling } shape = Exp;
  std::optional<Approximation> exp;
  Approximation recip = Approximation::ReciprocalGoldschmidt;
  /// Goldschmidt iterations when the entry fixes them (else the
  /// parameters').
  std::optional<int> recipIters;
};

// One implementation per softmax entry of Approximations.def.
#define MPC_SOFTMAX_APPROX(Id, ...) SoftmaxForm softmax##Id();
#include "runtime/protocols/Approximations.def"

SoftmaxForm softmaxForm(Approximation a) {
  switch (a) {
#define MPC_SOFTMAX_APPROX(Id, ...)                                            \
  case Approximation::Softmax##Id:                                             \
    return softmax##Id();
#include "runtime/protocols/Approximations.def"
  default:
    break;
  }
  llvm_unreachable("not a softmax approximation");
}

/// exp by the parameters (default exp.cubes).
SoftmaxForm softmaxExact() { return {}; }
/// PUMA's formula exactly: exp by (1 + x/256)^256.
SoftmaxForm softmaxPuma() {
  return {SoftmaxForm::Exp, Approximation::ExpLimit,
          Approximation::ReciprocalGoldschmidt, std::nullopt};
}
/// softmax.exact with one Goldschmidt iteration instead of two.
SoftmaxForm softmaxGoldschmidt1() {
  return {SoftmaxForm::Exp, std::nullopt, Approximation::ReciprocalGoldschmidt,
          1};
}
/// CrypTen's: exp by (1 + x/256)^256 and the Newton reciprocal.
SoftmaxForm softmaxCrypten() {
  return {SoftmaxForm::Exp, Approximation::ExpLimit,
          Approximation::ReciprocalNewton, std::nullopt};
}
/// (x + c)^2 / sum (x + c)^2.
SoftmaxForm softmaxTwoQuad() {
  return {SoftmaxForm::Quad, std::nullopt, Approximation::ReciprocalGoldschmidt,
          std::nullopt};
}
/// (x + c)^2 / sum (x + c)^2 with SecFormer's deflated Goldschmidt division.
SoftmaxForm softmaxSecformer() {
  return {SoftmaxForm::Quad, std::nullopt, Approximation::ReciprocalSecformer,
          std::nullopt};
}
/// x / n: no reciprocal (the member is unused).
SoftmaxForm softmaxScaling() {
  return {SoftmaxForm::Scaling, std::nullopt,
          Approximation::ReciprocalGoldschmidt, std::nullopt};
}

SoftmaxForm::Shape shapeOf(const SoftmaxParams &p) {
  return softmaxForm(p.approx).shape;
}
bool isQuad(const SoftmaxParams &p) { return shapeOf(p) == SoftmaxForm::Quad; }
bool isScaling(const SoftmaxParams &p) {
  return shapeOf(p) == SoftmaxForm::Scaling;
}
/// Whether the first program takes the 0/1 mask (no exp).
bool takesMask(const SoftmaxParams &p) {
  return shapeOf(p) != SoftmaxForm::Exp;
}

using Dims = RowDims;

int clipCompareBits(const SoftmaxParams &p) {
  int bits = p.inputBits + 2;
  assert(p.inputBits <= kSoftmaxMaxInputBits && "softmax inputBits too wide");
  return bits;
}

/// The coarse max's skip (Compare.h, maxSkip) for rows of \p len; none
/// with exact truncations, whose results must not depend on the masks
/// (the entry a coarse max keeps does).
int softmaxMaxSkip(const SoftmaxParams &p, int64_t len) {
  return p.exact ? 0
                 : maxSkip({std::max<int64_t>(len, 1)}, p.inputBits, p.frac);
}

/// First program: "exact" — open y, exp, clip bit, e' = (1 - b) e;
/// "2quad" — open x, q = mask (x + c)^2 truncated.
struct FirstProgram {
  std::shared_ptr<const fx::Program> prog;
  int in = -1, bitsIn = -1, maskSlot = -1;
  int ym = -1;    ///< exact: the opened y (the clip test's mask is its).
  int keep = -1;  ///< exact: the premasked clip bit b (1 = drop).
  int value = -1; ///< Premasked e (exact) or q (2quad).
  int out = -1;   ///< Raw e' (exact) or the premasked q (2quad).
  int split = 0;
};

FirstProgram buildFirst(const Dims &d, const SoftmaxParams &p) {
  int f = p.frac;
  Builder b(d.n, p.exact);
  FirstProgram fp;
  fp.in = b.arithInput();
  if (isScaling(p)) {
    // x/n: 1/n at 24 bits (|x| < 2^(inputBits - frac) leaves room), times
    // the mask, one truncation.
    fp.maskSlot = b.publicSlot();
    constexpr int fs = 24;
    Expr q = Builder::mulConst(b.var(fp.in, f), 1.0 / double(d.len), fs);
    fp.value = b.trunc(b.local(q, fp.maskSlot), fs);
    b.nextStage();
    fp.out = fp.value;
    fp.prog = b.finish();
    return fp;
  }
  if (isQuad(p)) {
    fp.maskSlot = b.publicSlot();
    int xm = b.open(fp.in);
    b.nextStage();
    Expr x = b.var(xm, f) + Builder::constant(p.quadC, f);
    fp.value = b.trunc(b.local(x * x, fp.maskSlot), f);
    b.nextStage();
    fp.out = fp.value;
    fp.prog = b.finish();
    return fp;
  }
  fp.bitsIn = b.bitsInput();
  // y = x - m - slack is in (-2^(inputBits+1) - slack, 0] at the raw scale
  // (slack < 2^frac, clipCompareBits = inputBits + 2 holds it): premasked by
  // a truncation of 0 bits in clipCompareBits + 1 bits (not a 64-bit
  // opening), whose two mask candidates agree on the clip test's bits.
  int ym = b.trunc(fp.in, 0, clipCompareBits(p) + 1);
  fp.ym = ym;
  b.nextStage();
  fp.value = buildExp(b, b.var(ym, f), softmaxExp(p), /*narrow=*/true);
  // The clip test starts from y's opening (against its mask, no opening
  // of its own) and runs alongside exp's truncations (stages 1..); the bit
  // joins the first one after the comparison is done.
  int ready =
      1 + int(lessThanZeroBitsOfPublicCost(d.n, clipCompareBits(p)).rounds);
  if (ready < b.stage()) {
    fp.split = ready;
    fp.keep = b.openBitsIn(fp.bitsIn, fp.split);
  } else {
    while (b.stage() < ready)
      b.nextStage();
    fp.split = b.stage();
    fp.keep = b.openBits(fp.bitsIn);
    b.nextStage();
  }
  Expr e = b.var(fp.value, f);
  fp.out = b.local(e - b.var(fp.keep, 0) * e);
  fp.prog = b.finish();
  return fp;
}

/// Whether the row sums are deflated (a reciprocal without normalisation
/// after 2Quad: softmax.secformer).
bool deflates(const SoftmaxParams &p) {
  return isQuad(p) && !normalizes(softmaxForm(p.approx).recip);
}

/// The scale the deflated reciprocal iterates at: y = s / 2^k <= 1.9 keeps
/// up to 8 more bits of relative precision for small sums (k >= 7 for any
/// c: (hi - lo)^2 / 4 / 1.9 > 2^6).
int deflatedFrac(const SoftmaxParams &p, int64_t len) {
  return p.frac + std::min(8, softmaxDeflateBits(p, len));
}

/// The scale of q = 1/s: finer than frac by the sum's range, so that q
/// keeps frac bits of relative precision (a reciprocal that does not
/// normalise gives frac); a deflated reciprocal's r = 2^k q read k bits
/// finer.
int qFrac(const SoftmaxParams &p, int64_t len) {
  if (deflates(p))
    return deflatedFrac(p, len) + softmaxDeflateBits(p, len);
  ReciprocalParams rp = softmaxRecip(p, len);
  return normalizes(rp.approx) ? p.frac + rp.maxBits : p.frac;
}

/// SecFormer's division of the row sums s (arith, at frac): y = s / 2^k
/// truncated to deflatedFrac (in the ring sums up to 2^(k+1) need: beyond,
/// the iteration diverges anyway), then the iterations; r ~ 1/y. No
/// comparison: no thresholds.
NormProgram buildDeflatedRecip(const Dims &d, const SoftmaxParams &p) {
  ReciprocalParams rp = softmaxRecip(p, d.len);
  int f = p.frac, fi = deflatedFrac(p, d.len);
  int k = softmaxDeflateBits(p, d.len);
  int shift = f + k - fi;
  assert(shift >= 0 && "the deflation is a truncation");
  Builder b(d.rows, p.exact);
  NormProgram np;
  np.lo = 0, np.hi = 1, np.frac = f;
  np.x = b.arithInput();
  int ym = b.trunc(np.x, shift, Builder::ringFor(k + 1, f));
  b.nextStage();
  np.out = buildGoldschmidtNoGuess(b, b.var(ym, fi), rp.iters, fi);
  np.prog = b.finish();
  return np;
}

NormProgram rowRecipProgram(const Dims &d, const SoftmaxParams &p) {
  if (deflates(p))
    return buildDeflatedRecip(d, p);
  // Per bucket on long rows (NonlinearBuild.h, Buckets): the lanes save
  // the two rounds that waited for the comparison.
  ReciprocalParams rp = softmaxRecip(p, d.len);
  return buildReciprocalProgram(d.rows, rp, qFrac(p, d.len),
                                rowsPerBucket(d.len, rp.minExp, rp.maxBits));
}

/// Last program: value (premasked, [n]) times q (premasked, broadcast),
/// times (1 - b) for "exact".
struct LastProgram {
  std::shared_ptr<const fx::Program> prog;
  int keep = -1, value = -1, q = -1, out = -1;
};

LastProgram buildLast(const Dims &d, const SoftmaxParams &p) {
  int f = p.frac;
  Builder b(d.n, p.exact);
  LastProgram lp;
  if (!isQuad(p))
    lp.keep = b.maskedInput(2);
  lp.value = b.maskedInput(2);
  lp.q = b.maskedInput(2);
  int qf = qFrac(p, d.len);
  Expr e = b.var(lp.value, f) * b.var(lp.q, qf);
  if (!isQuad(p))
    e = e - b.var(lp.keep, 0) * e;
  // A probability: |e q| <= 1 (up to the approximations' rounding), so the
  // truncation opens in f + qf + 3 bits.
  lp.out = b.trunc(b.local(e), qf, Builder::ringFor(0, f + qf));
  b.nextStage();
  lp.prog = b.finish();
  return lp;
}

} // namespace

ExpParams nl::softmaxExp(const SoftmaxParams &p) {
  SoftmaxForm form = softmaxForm(p.approx);
  ExpParams ep = form.exp ? expParams(*form.exp) : p.exp;
  ep.frac = p.frac;
  ep.exact = p.exact;
  return ep;
}

ReciprocalParams nl::softmaxRecip(const SoftmaxParams &p, int64_t len) {
  SoftmaxForm form = softmaxForm(p.approx);
  ReciprocalParams rp = p.recip;
  rp.approx = form.recip;
  rp.frac = p.frac;
  rp.exact = p.exact;
  if (form.recip != Approximation::ReciprocalGoldschmidt)
    rp.iters = reciprocalIters(form.recip);
  if (form.recipIters)
    rp.iters = *form.recipIters;
  if (form.shape == SoftmaxForm::Exp) {
    // The sums are in [e^-slack, len]: y <= 0, and the entry the coarse
    // max kept has y >= -slack (slack <= 2^-4: 0 for an exact max). A sum
    // below 1 takes the lowest bucket, [1, 2), whose iterations converge
    // from there as well.
    rp.minExp = 0;
    rp.maxBits =
        int(std::floor(std::log2(double(std::max<int64_t>(len, 1))))) + 1;
  }
  return rp;
}

bool softmaxUsesExp(Approximation a) {
  return softmaxForm(a).shape == SoftmaxForm::Exp;
}

bool softmaxIsTwoQuad(Approximation a) {
  return softmaxForm(a).shape == SoftmaxForm::Quad;
}

int nl::softmaxDeflateBits(const SoftmaxParams &p, int64_t len) {
  if (!deflates(p))
    return 0;
  const ApproxInfo &info = approxInfo(p.approx);
  double top = std::max(std::pow(info.lo + p.quadC, 2.0),
                        std::pow(info.hi + p.quadC, 2.0));
  double sum = double(std::max<int64_t>(len, 1)) * top / kSoftmaxDeflateTop;
  // A huge c (a model's attribute) gives a k the validator refuses.
  return sum < 0x1p62 ? log2Ceil(sum) : 63;
}

int softmaxInputBits(int frac, int rangeBits) {
  return std::min(kSoftmaxMaxInputBits, frac + rangeBits);
}

double softmaxMaskBias(int rangeBits) {
  return std::min(kSoftmaxMaskBias, std::ldexp(1.0, rangeBits - 1));
}

double softmaxMaskedValue(double v, int rangeBits) {
  return std::max(v, -softmaxMaskBias(rangeBits));
}

SoftmaxMat dealSoftmax(Corr &c, llvm::ArrayRef<int64_t> shape,
                       const SoftmaxParams &p) {
  SoftmaxMat m;
  Dims d = dimsOf(shape);
  if (d.n == 0)
    return m;
  if (!takesMask(p))
    m.max = dealMax(c, shape, p.inputBits, softmaxMaxSkip(p, d.len));
  FirstProgram fp = buildFirst(d, p);
  m.expProg = fx::dealProgram(c, fp.prog);
  if (isScaling(p))
    return m;
  if (!isQuad(p))
    m.clip = dealLessThanZeroBitsKnown(c, {d.n}, clipCompareBits(p), [&] {
      return neg(m.expProg.candValues[fp.ym][0]);
    });
  ReciprocalParams rp = softmaxRecip(p, d.len);
  NormProgram np = rowRecipProgram(d, p);
  dealNorm(c, np, d.rows, reciprocalCompareBits(rp), m.recip.prog, m.recip.cmp);
  LastProgram lp = buildLast(d, p);
  std::vector<std::array<RingTensor, 2>> ins;
  if (c.isDealer()) {
    if (!isQuad(p))
      ins.push_back(m.expProg.candValues[fp.keep]);
    ins.push_back(m.expProg.candValues[fp.value]);
    ins.push_back(fx::broadcastCands(m.recip.prog.candValues[np.out],
                                     {d.rows, 1}, {d.rows, d.len}));
  }
  m.outProg = fx::dealProgram(c, lp.prog, ins);
  return m;
}

Proto<RingTensor> softmax(Party &p, RingTensor x, const SoftmaxParams &params,
                          const SoftmaxMat &m, const RingTensor *mask) {
  Shape shape = x.shape();
  Dims d = dimsOf(shape);
  if (d.n == 0)
    co_return x;
  int f = params.frac;
  bool quad = isQuad(params);
  FirstProgram fp = buildFirst(d, params);
  fx::State st1(*m.expProg.prog);
  RingTensor in;
  if (takesMask(params)) {
    in = x.reshaped(Shape{d.n});
    RingTensor ones(Shape{d.n});
    std::fill(ones.vec().begin(), ones.vec().end(), u64(1));
    fx::setPublic(st1, fp.maskSlot,
                  mask ? broadcastTo(*mask, shape).reshaped(Shape{d.n})
                       : std::move(ones));
    fx::setArith(st1, fp.in, std::move(in));
    co_await fx::runStages(p, m.expProg, st1, 0, m.expProg.prog->numStages());
    if (isScaling(params))
      co_return st1.share[fp.out].reshaped(shape);
  } else {
    RingTensor mx = co_await maxLastAxis(p, x, m.max, params.inputBits);
    // m + slack is at least the row's max (a coarse max is at most its
    // slack below), so y = x - m - slack <= 0 stays in exp's domain.
    if (p.id() == 0)
      for (u64 &v : mx.vec())
        v += u64(maxSlack({d.len}, m.max.skip));
    in = subBroadcast(x, mx).reshaped(Shape{d.n});
    fx::setArith(st1, fp.in, std::move(in));
    co_await fx::runStages(p, m.expProg, st1, 0, 1);
    // y = D + a is open: y - clip is compared from D - clip + 2^K.
    int cmpBits = clipCompareBits(params);
    u64 k = (u64(1) << cmpBits) - encodeFixed(params.clipBelow, f);
    const RingTensor &dy = st1.masked[fp.ym].d;
    std::vector<u64> c(d.n);
    for (int64_t i = 0; i < d.n; ++i)
      c[i] = dy[i] + k;
    auto both = co_await whenBoth(
        p,
        [&](Party &q) { return fx::runStages(q, m.expProg, st1, 1, fp.split); },
        [&](Party &q) {
          return lessThanZeroBitsOfPublic(q, std::move(c), Shape{d.n}, m.clip,
                                          cmpBits);
        });
    fx::setBits(st1, fp.bitsIn, std::move(both.second));
    co_await fx::runStages(p, m.expProg, st1, fp.split,
                           m.expProg.prog->numStages());
  }

  // Row sums and their reciprocal.
  RingTensor sums =
      reduceSum(st1.share[fp.out].reshaped({d.rows, d.len}), {1}, false);
  ReciprocalParams rp = softmaxRecip(params, d.len);
  NormProgram np = rowRecipProgram(d, params);
  fx::State st2(*m.recip.prog.prog);
  RingTensor cmpIn2 = normCompareInput(p, sums, f, np.lo, np.hi);
  fx::setArith(st2, np.x, std::move(sums));
  co_await runNormProgram(p, m.recip.prog, m.recip.cmp, np, st2,
                          std::move(cmpIn2), reciprocalCompareBits(rp));

  LastProgram lp = buildLast(d, params);
  fx::State st3(*m.outProg.prog);
  if (!quad)
    fx::setMasked(st3, lp.keep, fx::viewOf(st1, fp.keep));
  fx::setMasked(st3, lp.value, fx::viewOf(st1, fp.value));
  fx::setMasked(
      st3, lp.q,
      fx::broadcastView(fx::viewOf(st2, np.out), {d.rows, 1}, {d.rows, d.len}));
  co_await fx::runStages(p, m.outProg, st3, 0, m.outProg.prog->numStages());
  co_return st3.share[lp.out].reshaped(shape);
}

Cost softmaxCost(llvm::ArrayRef<int64_t> shape, const SoftmaxParams &p) {
  Dims d = dimsOf(shape);
  if (d.n == 0)
    return Cost();
  FirstProgram fp = buildFirst(d, p);
  const fx::Program &pg = *fp.prog;
  Cost c;
  if (takesMask(p)) {
    c.then(fx::programCost(pg));
    if (isScaling(p))
      return c;
  } else {
    c.then(maxCost(shape, p.inputBits, softmaxMaxSkip(p, d.len)));
    c.then(fx::stagesCost(pg, 0, 1));
    Cost head = fx::stagesCost(pg, 1, fp.split);
    head.alongside(lessThanZeroBitsOfPublicCost(d.n, clipCompareBits(p)));
    c.then(head);
    c.then(fx::stagesCost(pg, fp.split, pg.numStages()));
    c.then(fx::materialCost(pg));
  }
  c.then(normProgramCost(rowRecipProgram(d, p),
                         reciprocalCompareBits(softmaxRecip(p, d.len))));
  c.then(fx::programCost(*buildLast(d, p).prog));
  return c;
}

RingTensor simulateSoftmax(RingTensor x, const SoftmaxParams &params,
                           const RingTensor *mask) {
  Shape shape = x.shape();
  Dims d = dimsOf(shape);
  if (d.n == 0)
    return x;
  int f = params.frac;
  FirstProgram fp = buildFirst(d, params);
  fx::Clear s1(*fp.prog);
  if (takesMask(params)) {
    RingTensor ones(Shape{d.n});
    std::fill(ones.vec().begin(), ones.vec().end(), u64(1));
    s1.publics[fp.maskSlot] =
        mask ? broadcastTo(*mask, shape).reshaped(Shape{d.n}) : ones;
    s1.val[fp.in] = x.reshaped(Shape{d.n});
    fx::simulateProgram(*fp.prog, s1);
    if (isScaling(params))
      return s1.val[fp.out].reshaped(shape);
  } else {
    // The row max. A two-party run's coarse max (not with exact
    // truncations) may keep an entry up to its slack lower, and subtracts
    // the slack: a shift of y by at most 2^-4, which softmax's result sees
    // only through exp's rounding (a few ulps).
    RingTensor xr = x.reshaped({d.rows, d.len}), mx(Shape{d.rows, 1});
    for (int64_t r = 0; r < d.rows; ++r) {
      i64 m = i64(xr[r * d.len]);
      for (int64_t j = 1; j < d.len; ++j)
        m = std::max(m, i64(xr[r * d.len + j]));
      mx[r] = u64(m);
    }
    s1.val[fp.in] = subBroadcast(xr, mx).reshaped(Shape{d.n});
    fx::simulateStages(*fp.prog, s1, 0, 1);
    s1.val[fp.bitsIn] =
        clearLess(s1.val[fp.ym], encodeFixed(params.clipBelow, f));
    fx::simulateStages(*fp.prog, s1, 1, fp.prog->numStages());
  }

  RingTensor sums =
      reduceSum(s1.val[fp.out].reshaped({d.rows, d.len}), {1}, false);
  NormProgram np = rowRecipProgram(d, params);
  fx::Clear s2(*np.prog);
  setNormBits(np, s2, sums);
  s2.val[np.x] = std::move(sums);
  fx::simulateProgram(*np.prog, s2);

  LastProgram lp = buildLast(d, params);
  fx::Clear s3(*lp.prog);
  if (!isQuad(params))
    s3.val[lp.keep] = s1.val[fp.keep];
  s3.val[lp.value] = s1.val[fp.value];
  s3.val[lp.q] =
      broadcastTo(s2.val[np.out].reshaped({d.rows, 1}), {d.rows, d.len})
          .reshaped({d.n});
  fx::simulateProgram(*lp.prog, s3);
  return s3.val[lp.out].reshaped(shape);
}

} // namespace mpc::rt
