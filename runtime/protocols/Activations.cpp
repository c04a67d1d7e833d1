//===- runtime/protocols/Activations.cpp - GeLU and tanh ------------------===//
//
// Piecewise polynomials with the comparisons in the same rounds as the
// arithmetic, and the GeLU and tanh protocols built on them.
//
// Round schedule of a piecewise function (PUMA GeLU: 4 rounds):
//   round 1      open (or truncate) x: x = D + A, D public
//   rounds 2..L  truncate powers, then    | comparison tree levels 1..C of
//                every segment polynomial | D - break_i + 2^K against the
//                                         | premask A (Compare.h,
//                                         | lessThanZeroBitsOfPublic: no
//                                         | opening of its own)
//   round max(L, C + 1) + 1 (or shared with L): open the bits premasked
//   local        out = sum_s [segment s] value_s, with [segment s] =
//                b_s - b_(s-1) and b_i = [x < break_i]: products of
//                premasked bits and premasked polynomial values.
// A polynomial is evaluated for every x but only kept on its segment, so
// garbage elsewhere (a power that overflowed) is multiplied by an exact 0.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/NonlinearBuild.h"
#include "runtime/protocols/Parallel.h"
#include "support/Diag.h"

#include <cassert>
#include <cmath>
#include <numbers>

namespace mpc::rt {

using namespace nl;

namespace nl {

namespace {

/// max |P(x)| on [lo, hi], sampled, with a margin.
double sampledMagnitude(llvm::ArrayRef<double> c, double lo, double hi) {
  double m = 0;
  for (int i = 0; i <= 1000; ++i) {
    double x = lo + (hi - lo) * i / 1000, acc = 0;
    for (size_t k = c.size(); k-- > 0;)
      acc = acc * x + c[k];
    m = std::max(m, std::fabs(acc));
  }
  return 1.25 * m + 1;
}

/// Waits out the comparisons' \p compareRounds stages from pp.cmpStart,
/// marks the split there and opens each comparison's bit input in the
/// next stage; returns the opened bits' ids.
std::vector<int> openComparisonBits(Builder &b, PiecewiseProgram &pp,
                                    int compareRounds) {
  while (b.stage() < pp.cmpStart + compareRounds)
    b.nextStage();
  pp.split = b.stage();
  std::vector<int> bits;
  for (int id : pp.bitInputs)
    bits.push_back(b.openBits(id));
  b.nextStage();
  return bits;
}

} // namespace

/// The start the piecewise programs share: the input x, one bit input per
/// breakpoint, and stage 0's exchange: x opened, or truncated by
/// \p inputTruncBits (the truncation's opening is the one x needs). |x| <
/// 2^(cmpBits - 1) at the output's scale, i.e. below 2^(ring - 2) at the
/// input's, so the truncation's two candidates agree on the cmpBits + 1
/// compared bits (they differ by multiples of 2^(ring - inputTruncBits)).
/// The comparisons start from that opening (cmpStart 1). Stage 0 is left
/// open for the caller.
static PiecewiseProgram beginPiecewise(Builder &b, size_t breaks, int cmpBits,
                                       int inputTruncBits) {
  PiecewiseProgram pp;
  pp.x = b.arithInput();
  for (size_t i = 0; i < breaks; ++i)
    pp.bitInputs.push_back(b.bitsInput());
  int inRing = geluInputRingBits(cmpBits, inputTruncBits);
  pp.xm =
      inputTruncBits > 0 ? b.trunc(pp.x, inputTruncBits, inRing) : b.open(pp.x);
  pp.cmpStart = 1;
  return pp;
}

/// The powers \p pw's polynomial segments read, and the largest |x| they
/// take (in x, before the shift).
static std::pair<std::set<int>, double> powersOf(const Piecewise &pw) {
  std::set<int> need;
  double bound = 0;
  for (size_t s = 0; s < pw.segs.size(); ++s)
    if (pw.segs[s].kind == Segment::Poly) {
      assert(s > 0 && s < pw.breaks.size() &&
             "polynomial segments must be bounded");
      for (int e : neededExponents(pw.segs[s].coeffs))
        need.insert(e);
      bound = std::max(
          {bound, std::fabs(pw.breaks[s - 1]), std::fabs(pw.breaks[s])});
    }
  return {need, bound};
}

/// The magnitude bound of polynomial segment \p s (in y = x / 2^shift).
static double segmentMagnitude(const Piecewise &pw, size_t s) {
  return sampledMagnitude(pw.segs[s].coeffs,
                          std::ldexp(pw.breaks[s - 1], -pw.polyShift),
                          std::ldexp(pw.breaks[s], -pw.polyShift));
}

llvm::Error validatePiecewise(const Piecewise &pw, int f,
                              llvm::StringRef what) {
  auto [need, bound] = powersOf(pw);
  int fy = f + pw.polyShift;
  std::optional<PowerPlan> plan =
      planPowers(fy, need, std::ldexp(bound, -pw.polyShift));
  int top = need.empty() ? 1 : *need.rbegin();
  if (!plan)
    return mpc::error("{}: x^{} for |x| <= {:g} does not fit the ring at "
                      "frac {}",
                      what.str(), top, bound, f);
  // polySum's sum sits at a scale no finer than the powers it reads.
  for (size_t s = 0; s < pw.segs.size(); ++s)
    if (pw.segs[s].kind == Segment::Poly &&
        kSafeBits - 1 - log2Ceil(segmentMagnitude(pw, s)) <
            std::max(f, plan->maxScale))
      return mpc::error("{}: its polynomial on [{:g}, {:g}] does not fit the "
                        "ring at frac {}",
                        what.str(), pw.breaks[s - 1], pw.breaks[s], f);
  return llvm::Error::success();
}

PiecewiseProgram buildPiecewise(const Piecewise &pw, int64_t n, int f,
                                int cmpBits, int compareRounds,
                                int inputTruncBits, bool exact) {
  size_t m = pw.breaks.size();
  assert(pw.segs.size() == m + 1 && "one segment more than breakpoints");
  Builder b(n, exact);
  PiecewiseProgram pp = beginPiecewise(b, m, cmpBits, inputTruncBits);
  int xm = pp.xm;
  b.nextStage();

  auto [need, bound] = powersOf(pw);
  Powers powers = buildPowers(b, xm, f + pw.polyShift, need,
                              std::ldexp(bound, -pw.polyShift),
                              /*narrow=*/true);
  std::vector<int> polyVal(pw.segs.size(), -1);
  for (size_t s = 0; s < pw.segs.size(); ++s) {
    const Segment &seg = pw.segs[s];
    if (seg.kind != Segment::Poly)
      continue;
    double mag = segmentMagnitude(pw, s);
    // Where every power is at most 1 (GeLU's y = x/4), 16 coefficient bits
    // at the finest power keep each term within 2^-17, far below the
    // fits' errors, and the segment's truncation opens in ~6 bits fewer
    // than at full precision; larger powers (tanh's x^5 up to 3125) keep
    // the full precision.
    bool unitPowers = std::ldexp(bound, -pw.polyShift) <= 1;
    Expr sum = polySum(powers, seg.coeffs, mag, f, unitPowers ? 16 : 40);
    polyVal[s] = b.trunc(b.local(sum), sum.scale - f,
                         Builder::ringFor(std::log2(mag), sum.scale));
  }
  std::vector<int> bits = openComparisonBits(b, pp, compareRounds);

  auto bit = [&](int i) {
    if (i < 0)
      return Builder::constant(0, 0);
    if (i >= int(m))
      return Builder::constant(1, 0);
    return b.var(bits[i], 0);
  };
  Expr out = Builder::constant(0, f);
  for (size_t s = 0; s < pw.segs.size(); ++s) {
    const Segment &seg = pw.segs[s];
    Expr value;
    switch (seg.kind) {
    case Segment::Const:
      if (seg.value == 0)
        continue;
      value = Builder::constant(seg.value, f);
      break;
    case Segment::Identity:
      value = b.var(xm, f);
      break;
    case Segment::Poly:
      value = b.var(polyVal[s], f);
      break;
    }
    out = out + (bit(int(s)) - bit(int(s) - 1)) * value;
  }
  pp.out = b.local(out);
  pp.prog = b.finish();
  return pp;
}

Proto<RingTensor> runPiecewise(Party &p, const Piecewise &pw,
                               const PiecewiseProgram &pp, const fx::Mat &m,
                               const LtzBitsMat &cmp, RingTensor x, int frac,
                               int cmpBits) {
  int64_t n = x.size();
  size_t nb = pw.breaks.size();
  fx::State st(*m.prog);
  fx::setArith(st, pp.x, std::move(x));
  // Stage 0 opens (or truncates) x: x = D + A with D public, so each
  // x - break_i is compared from the public D - break_i + 2^K.
  co_await fx::runStages(p, m, st, 0, pp.cmpStart);
  const RingTensor &d = st.masked[pp.xm].d;
  std::vector<u64> c(nb * size_t(n));
  for (size_t i = 0; i < nb; ++i) {
    u64 k = (u64(1) << cmpBits) - encodeFixed(pw.breaks[i], frac);
    for (int64_t j = 0; j < n; ++j)
      c[i * n + j] = d[j] + k;
  }
  auto both = co_await whenBoth(
      p,
      [&](Party &q) { return fx::runStages(q, m, st, pp.cmpStart, pp.split); },
      [&](Party &q) {
        return lessThanZeroBitsOfPublic(q, std::move(c), Shape{int64_t(nb) * n},
                                        cmp, cmpBits);
      });
  for (size_t i = 0; i < nb; ++i)
    fx::setBits(st, pp.bitInputs[i], sliceBits(both.second, i * n, n));
  co_await fx::runStages(p, m, st, pp.split, m.prog->numStages());
  co_return std::move(st.share[pp.out]);
}

LtzBitsMat dealPiecewiseCompare(Corr &c, const Piecewise &pw,
                                const PiecewiseProgram &pp, const fx::Mat &m,
                                int cmpBits) {
  int64_t n = pp.prog->n, nb = int64_t(pw.breaks.size());
  // x's premask A: the comparisons' mask is -A, once per breakpoint. A
  // truncated x has two candidates, equal modulo 2^(cmpBits + 1) (they
  // differ by a multiple of 2^(64 - truncation bits); see validateGelu).
  return dealLessThanZeroBitsKnown(c, {nb * n}, cmpBits, [&] {
    const RingTensor &a = m.candValues[pp.xm][0];
    RingTensor r(Shape{nb * n});
    for (int64_t i = 0; i < nb; ++i)
      for (int64_t j = 0; j < n; ++j)
        r[i * n + j] = u64(0) - a[j];
    return r;
  });
}

Cost piecewiseCost(const PiecewiseProgram &pp, int cmpBits) {
  const fx::Program &pg = *pp.prog;
  Cost head = fx::stagesCost(pg, pp.cmpStart, pp.split);
  head.alongside(lessThanZeroBitsOfPublicCost(
      int64_t(pp.bitInputs.size()) * pg.n, cmpBits));
  Cost c = fx::materialCost(pg);
  c.then(fx::stagesCost(pg, 0, pp.cmpStart));
  c.then(head);
  c.then(fx::stagesCost(pg, pp.split, pg.numStages()));
  return c;
}

} // namespace nl

// --- GeLU --------------------------------------------------------------------

namespace {

/// What a GeLU entry computes: a piecewise polynomial (comparisons with
/// the breakpoints, in the rounds of the powers), MPCFormer's quadratic
/// (its own two-round program, no comparison), one polynomial on its
/// domain (the poly program, no comparison), x times a sigmoid built
/// from exp and a reciprocal, or SecFormer's erf as a sine series
/// (comparisons as for the pieces).
struct GeluForm {
  enum Shape { Pieces, Quad, Poly, Sigmoid, Fourier } shape = Pieces;
  Piecewise pieces;  ///< Pieces; Sigmoid, Fourier: the breakpoints only.
  PolyParams poly;   ///< Poly (coeffs and bound; frac from GeluParams).
  int polyShift = 0; ///< Poly: evaluated in x / 2^polyShift.
};

// One implementation per GeLU entry of Approximations.def.
#define MPC_GELU_APPROX(Id, ...) GeluForm gelu##Id();
#include "runtime/protocols/Approximations.def"

GeluForm geluForm(Approximation a) {
  switch (a) {
#define MPC_GELU_APPROX(Id, ...)                                               \
  case Approximation::Gelu##Id:                                                \
    return gelu##Id();
#include "runtime/protocols/Approximations.def"
  default:
    break;
  }
  llvm_unreachable("not a GeLU approximation");
}

/// PUMA's GeLU (papers.md B.2; SPU hack_gelu, MP-SPDZ ml.Gelu).
GeluForm geluPuma() {
  Piecewise pw;
  pw.breaks = {-4, -1.95, 3};
  Segment zero, f0, f1, id;
  f0.kind = f1.kind = Segment::Poly;
  f0.coeffs = {-0.5054031199708174, -0.42226581151983866, -0.11807612951181953,
               -0.011034134030615728};
  f1.coeffs = {0.008526321541038084,  0.5, 0.3603292692789629,   0,
               -0.037688200365904236, 0,   0.0018067462606141187};
  id.kind = Segment::Identity;
  pw.segs = {zero, f0, f1, id};
  return {GeluForm::Pieces, pw, {}, 0};
}

/// Bumblebee's seg3_gelu (papers.md A.7; OpenBumbleBee activation.cc):
/// 0.5x + P(|x|) on [-3, 3], |x| by the comparison at 0.
GeluForm geluBumblebee() {
  const double c[] = {0.001620808531841547, -0.03798164612714154,
                      0.5410550166368381, -0.18352506127082727,
                      0.020848611754127593};
  Piecewise pw;
  pw.breaks = {-3, 0, 3};
  Segment zero, neg, pos, id;
  neg.kind = pos.kind = Segment::Poly;
  for (int k = 0; k < 5; ++k) {
    pos.coeffs.push_back(c[k]);
    neg.coeffs.push_back(k % 2 ? -c[k] : c[k]); // P(-x)
  }
  pos.coeffs[1] += 0.5;
  neg.coeffs[1] += 0.5;
  id.kind = Segment::Identity;
  pw.segs = {zero, neg, pos, id};
  return {GeluForm::Pieces, pw, {}, 0};
}

/// mpcc's accurate GeLU: GeLU(x) = x/2 + x erf(x/sqrt2)/2, and the second
/// term is even, so on [-4, 4] it is a polynomial in u = x^2/16 (a minimax
/// fit of degree 6 in u, max error 7.2e-4); outside, GeLU is ReLU to within
/// 1.3e-4. Two comparisons instead of PUMA's three, 28x more accurate.
GeluForm geluAccurate() {
  static const double u[] = {7.19369467e-04, 6.30077498e+00,  -1.54658868e+01,
                             2.93878948e+01, -3.42373077e+01, 2.17231227e+01,
                             -5.71016393e+00};
  Piecewise pw;
  pw.breaks = {-4, 4};
  pw.polyShift = 2; // the polynomial is in y = x/4, u = y^2
  Segment zero, mid, id;
  mid.kind = Segment::Poly;
  mid.coeffs.assign(13, 0.0);
  for (int k = 0; k <= 6; ++k)
    mid.coeffs[2 * k] = u[k];
  mid.coeffs[1] = 2.0; // x/2 = 2y
  id.kind = Segment::Identity;
  pw.segs = {zero, mid, id};
  return {GeluForm::Pieces, pw, {}, 0};
}

/// MPCViT+'s linearised GeLU: ReLU, a single breakpoint at 0.
GeluForm geluRelu() {
  Piecewise pw;
  pw.breaks = {0};
  Segment zero, id;
  id.kind = Segment::Identity;
  pw.segs = {zero, id};
  return {GeluForm::Pieces, pw, {}, 0};
}

/// MPCFormer's Quad, 0.125 x^2 + 0.25 x + 0.5 (buildQuadGelu).
GeluForm geluQuad() { return {GeluForm::Quad, {}, {}, 0}; }

/// CrypTen's GeLU: x/2 (1 + erf(x/sqrt2)) with its erf, the Taylor series
/// 2/sqrt(pi) sum_{k=0..8} (-1)^k u^(2k+1) / (k! (2k+1)) (erf_iterations
/// 8, papers.md A.1), expanded in x: x/2 plus even powers up to x^18.
GeluForm geluCrypten() {
  GeluForm form;
  form.shape = GeluForm::Poly;
  std::vector<double> &c = form.poly.coeffs;
  c.assign(19, 0.0);
  c[1] = 0.5;
  double factorial = 1;
  for (int k = 0; k <= 8; ++k) {
    if (k > 0)
      factorial *= k;
    // x/2 * 2/sqrt(pi) * (-1)^k (x/sqrt2)^(2k+1) / (k! (2k+1)).
    c[2 * k + 2] = (k % 2 ? -1 : 1) / std::sqrt(std::numbers::pi) /
                   (factorial * (2 * k + 1)) /
                   std::pow(std::numbers::sqrt2, 2 * k + 1);
  }
  form.poly.bound = approxInfo(Approximation::GeluCrypten).hi;
  // In y = x/2 (|y| <= 1.1): the coefficient of y^18 is 6e-4 where that of
  // x^18 (2.3e-9) would round away at the sum's scale.
  form.polyShift = 1;
  return form;
}

/// MP-SPDZ's GeLU x sigma(t), t = 0.071355 x^3 + 1.595769 x (papers.md
/// A.4; the tanh GeLU of BERT written with a sigmoid). Its breakpoints:
/// beyond +-4.5 (|t| > 13.6) the result is ReLU to within 1.5e-5, and
/// inside, -|t| is in exp's domain [-14, 0] (buildGeluSigmoid).
GeluForm geluSigmoid() {
  GeluForm form;
  form.shape = GeluForm::Sigmoid;
  form.pieces.breaks = {-4.5, 0, 4.5};
  return form;
}

/// SecFormer's erf (papers.md A.6): -1 below z = -2.5, the sine series
/// sum_{k=1..7} beta_k sin(k pi z / 10) on [-2.5, 2.5), 1 from 2.5, for
/// GeLU(x) = x/2 (1 + erf(z)), z = x / sqrt2: breakpoints +-2.5 sqrt2
/// (buildGeluFourier).
constexpr double kSecformerBeta[] = {1.25772,  -0.0299154, 0.382155, -0.0519123,
                                     0.196033, -0.0624557, 0.118029};
GeluForm geluSecformer() {
  GeluForm form;
  form.shape = GeluForm::Fourier;
  double b = 2.5 * std::numbers::sqrt2;
  form.pieces.breaks = {-b, b};
  return form;
}

/// The poly program of a polynomial GeLU entry at the parameters' frac.
PolyParams geluPoly(const GeluForm &form, const GeluParams &p) {
  PolyParams pp = form.poly;
  pp.frac = p.frac;
  pp.exact = p.exact;
  return pp;
}

/// Odd-symmetric tanh: minimax fits (Approximations.def gives the errors).
Piecewise tanhPoly() {
  const std::vector<double> outer = {
      0.04427329260261261, 1.2160739218572687,  -0.6307920742771453,
      0.1651725753183796,  -0.0216824310351027, 0.0011360917519644964};
  Piecewise pw;
  pw.breaks = {-5, -1.5, 1.5, 5};
  Segment lo, neg, inner, pos, hi;
  lo.value = -1;
  hi.value = 1;
  neg.kind = inner.kind = pos.kind = Segment::Poly;
  pos.coeffs = outer;
  // tanh(x) = -tanh(-x): -P(-x) has coefficients -(-1)^k c_k.
  for (size_t k = 0; k < outer.size(); ++k)
    neg.coeffs.push_back(k % 2 ? outer[k] : -outer[k]);
  inner.coeffs = {0, 0.9993646921369883,  0, -0.32684597688847006,
                  0, 0.11411027098445896, 0, -0.02846435129111545,
                  0, 0.003358255769700169};
  pw.segs = {lo, neg, inner, pos, hi};
  return pw;
}

// One implementation per tanh entry of Approximations.def.
Piecewise tanhPieces(Approximation a) {
  switch (a) {
#define MPC_TANH_APPROX(Id, ...)                                               \
  case Approximation::Tanh##Id:                                                \
    return tanh##Id();
#include "runtime/protocols/Approximations.def"
  default:
    break;
  }
  llvm_unreachable("not a tanh approximation");
}

struct QuadProgram {
  std::shared_ptr<const fx::Program> prog;
  int x = -1, out = -1;
};

/// 0.125 x^2 + 0.25 x + 0.5: open, one truncation (all coefficients are
/// exact at 3 extra bits).
QuadProgram buildQuadGelu(int64_t n, int f, bool exact) {
  Builder b(n, exact);
  QuadProgram qp;
  qp.x = b.arithInput();
  int xm = b.open(qp.x);
  b.nextStage();
  Expr x = b.var(xm, f);
  Expr q = Builder::mulConst(x * x, 0.125, 3) +
           Builder::mulConst(x, 0.25, f + 3) +
           Builder::constant(0.5, 2 * f + 3);
  qp.out = b.trunc(b.local(q), f + 3);
  b.nextStage();
  qp.prog = b.finish();
  return qp;
}

int compareRounds(int64_t n, const Piecewise &pw, int compareBits) {
  return int(
      lessThanZeroBitsOfPublicCost(int64_t(pw.breaks.size()) * n, compareBits)
          .rounds);
}

/// gelu.sigmoid's scales at frac f: t at tFrac (16 bits at most: its
/// rounding moves sigma by < 0.25 ulp), exp(-|t|) and the reciprocal at
/// sFrac, finer than frac where the last product x e s (at f + 2 sFrac,
/// |value| < 4.5) leaves room: x amplifies s's rounding.
struct SigmoidScales {
  int tFrac, sFrac;
};
SigmoidScales sigmoidScales(int f) {
  return {std::min(f, 16), std::min(19, (kSafeBits - 3 - f) / 2)};
}
/// The exp gelu.sigmoid runs, at its sFrac.
ExpParams sigmoidExp(int f) {
  ExpParams ep = expParams(Approximation::ExpCubes);
  ep.frac = sigmoidScales(f).sFrac;
  return ep;
}

/// gelu.sigmoid: x sigma(t) with t = c1 x + c3 x^3 and breakpoints
/// -B, 0, B (geluSigmoid). Stages:
///   0            open (or truncate) x
///   1, 2         x^2 truncated; t = c1 x + c3 x^2 x truncated, alongside
///                the comparisons [x < -B], [x < 0], [x < B] (from x's
///                opening, against its premask, as the pieces do)
///   split        open the bits; [x < 0] is t's sign (t is odd, increasing)
///   exp          e = exp(u), u = -|t| = (2 [x < 0] - 1) t in [-13.7, 0]
///   Goldschmidt  s = 1/(1 + e), 1 + e in [1, 2]: the normalised reciprocal
///                with its single bucket [1, 2) (no comparison)
///   last         x sigma(t) = x s on [0, B), x e s on [-B, 0) (sigma(t) =
///                e^t / (1 + e^t) there), one truncation; then + x above B.
/// Outside [-B, B] the powers, exp and reciprocal are garbage (narrow rings)
/// that the exact 0 of their selectors drops.
PiecewiseProgram buildGeluSigmoid(const Piecewise &pw, int64_t n,
                                  const GeluParams &p) {
  constexpr double c1 = 1.595769, c3 = 0.071355;
  assert(pw.breaks.size() == 3 && "gelu.sigmoid has breakpoints -B, 0, B");
  const double bound = pw.breaks[2];
  int f = p.frac;
  auto [tf, sf] = sigmoidScales(f);
  Builder b(n, p.exact);
  PiecewiseProgram pp =
      beginPiecewise(b, pw.breaks.size(), p.compareBits, p.inputTruncBits);
  int xm = pp.xm;
  b.nextStage();
  Expr x = b.var(xm, f);
  double log2B = std::log2(bound);
  int x2 = b.trunc(b.local(x * x), f, Builder::ringFor(2 * log2B, 2 * f));
  b.nextStage();
  // x^3 as x^2 x (scale 2f), so c3 keeps ~24 bits at the sum's scale
  // where x^3 read at 3f would leave it 8.
  Powers pw3;
  pw3.pow[1] = x;
  pw3.pow[3] = b.var(x2, f) * x;
  const std::vector<double> tc = {0, c1, 0, c3};
  double tMag = polyMagnitude(tc, bound);
  Expr tSum = polySum(pw3, tc, tMag, f);
  int tm = b.trunc(b.local(tSum), tSum.scale - tf,
                   Builder::ringFor(std::log2(tMag), tSum.scale));
  b.nextStage();
  std::vector<int> bits =
      openComparisonBits(b, pp, compareRounds(n, pw, p.compareBits));
  Expr below = b.var(bits[0], 0), neg = b.var(bits[1], 0),
       inside = b.var(bits[2], 0);
  Expr t = b.var(tm, tf);
  int e = buildExp(b, Builder::mulInt(neg * t, 2) - t, sigmoidExp(f),
                   /*narrow=*/true);
  int s = buildGoldschmidt(
      b, b.var(e, sf) + Builder::constant(1, sf), {}, 0, 1,
      reciprocalIters(Approximation::ReciprocalGoldschmidt), sf, sf);
  Expr sv = b.var(s, sf);
  Expr w = (neg - below) * x * b.var(e, sf) * sv +
           Builder::alignTo((inside - neg) * x * sv, f + 2 * sf);
  int wm = b.trunc(b.local(w), 2 * sf);
  b.nextStage();
  pp.out = b.local(b.var(wm, f) + (Builder::constant(1, 0) - inside) * x);
  pp.prog = b.finish();
  return pp;
}

/// gelu.secformer's sine series: its phase is z / 20 turns (the series'
/// period), i.e. x / (20 sqrt2), read from x's shares at scale s as
/// y = M x mod 2^L with L = s + g and M = round(2^g / (20 sqrt2)): a local
/// product, exact modulo 2^L (a whole number of periods). M's relative
/// error, below 14 / 2^g, moves the phase by < 2^-(g+2) turns on the
/// series' segment |x| < 2.5 sqrt2 (2e-9 at g = 30, where the phase
/// resolution 2^-L is finer still): negligible. The opening is L bits each
/// way; g = 30 when s + 30 fits the ring the input's shares hold, else
/// down to kMinPhaseBits, else the phase is read from the opened x at frac
/// (one stage later): a truncated input (inputTruncBits) holds x modulo
/// 2^(compareBits + 1 + inputTruncBits) only, which leaves the phase
/// rangeBits + 2 bits at the compiler's compareBits.
constexpr int kPhaseBits = 30, kMinPhaseBits = 24;
/// Scale of the series' public factors and dealt masks (each), and of the
/// truncated series: 4 bits finer than frac, so the 14 roundings stay
/// below an ulp (frac <= 20: the series at 2 (frac + 4) <= 48 bits).
int sineScale(int f) { return f + 4; }

/// gelu.secformer: GeLU(x) = x (1/2 + H) on [-B, B), H = erf(x/sqrt2)/2 by
/// SecFormer's series; 0 below, x above (B = 2.5 sqrt2). Stages:
///   0      open (or truncate) x, and open the phase y + t (SineSpec):
///          the comparisons [x < -B], [x < B] start from x's opening
///   1      H (a raw share after the opening) truncated to fs: premasked
///   2      x (1/2 + H) truncated to frac, alongside the comparisons
///   split  open the bits; out = ([x < B] - [x < -B]) x (1/2 + H)
///          + (1 - [x < B]) x, local.
/// Outside [-B, B] the series is a bounded garbage phase and x (1/2 + H)
/// may leave its narrow ring: the selectors' exact 0 drops both.
PiecewiseProgram buildGeluFourier(const Piecewise &pw, int64_t n,
                                  const GeluParams &p) {
  assert(pw.breaks.size() == 2 && "gelu.secformer has breakpoints -B, B");
  const double bound = pw.breaks[1];
  int f = p.frac, s = f + p.inputTruncBits, fs = sineScale(f);
  Builder b(n, p.exact);
  PiecewiseProgram pp =
      beginPiecewise(b, pw.breaks.size(), p.compareBits, p.inputTruncBits);
  int xm = pp.xm;
  int inRing = geluInputRingBits(p.compareBits, p.inputTruncBits);
  fx::SineSpec spec;
  for (double beta : kSecformerBeta)
    spec.coef.push_back(beta / 2);
  spec.coefScale = spec.maskScale = fs;
  // The input's shares hold x modulo 2^inRing only when GeLU truncates it
  // (the plan may narrow the product's ring to that: Narrow.h).
  int inputRing = p.inputTruncBits > 0 ? inRing : kFullRingBits;
  auto phase = [&](const Expr &x, int scale, int ring) {
    int g = std::min(kPhaseBits, ring - scale);
    assert(g >= kMinPhaseBits && "frac <= 20 leaves the phase 24 bits");
    i64 m = std::llround(std::ldexp(1.0, g) / (20 * std::numbers::sqrt2));
    return b.sines(b.local(Builder::mulInt(x, m)), scale + g, spec);
  };
  int sines = -1;
  if (s + kMinPhaseBits <= inputRing) {
    sines = phase(b.var(pp.x, s), s, inputRing);
    b.nextStage();
  } else {
    b.nextStage();
    sines = phase(b.var(xm, f), f, kFullRingBits);
    b.nextStage();
  }
  double hMag = 0;
  for (double c : spec.coef)
    hMag += std::fabs(c);
  int hm = b.trunc(b.local(b.var(sines, 2 * fs)), fs,
                   Builder::ringFor(std::log2(hMag), 2 * fs));
  b.nextStage();
  Expr x = b.var(xm, f);
  Expr w = x * (Builder::constant(0.5, fs) + b.var(hm, fs));
  int wm = b.trunc(b.local(w), fs,
                   Builder::ringFor(std::log2(bound * (0.5 + hMag)), f + fs));
  b.nextStage();
  std::vector<int> bits =
      openComparisonBits(b, pp, compareRounds(n, pw, p.compareBits));
  Expr below = b.var(bits[0], 0), inside = b.var(bits[1], 0);
  pp.out = b.local((inside - below) * b.var(wm, f) +
                   (Builder::constant(1, 0) - inside) * x);
  pp.prog = b.finish();
  return pp;
}

/// The program of a GeLU entry that compares (Pieces, Sigmoid, Fourier).
PiecewiseProgram buildGeluPieces(const GeluForm &form, int64_t n,
                                 const GeluParams &p) {
  if (form.shape == GeluForm::Sigmoid)
    return buildGeluSigmoid(form.pieces, n, p);
  if (form.shape == GeluForm::Fourier)
    return buildGeluFourier(form.pieces, n, p);
  return buildPiecewise(form.pieces, n, p.frac, p.compareBits,
                        compareRounds(n, form.pieces, p.compareBits),
                        p.inputTruncBits, p.exact);
}

} // namespace

bool geluCompares(Approximation a) {
  GeluForm::Shape s = geluForm(a).shape;
  return s == GeluForm::Pieces || s == GeluForm::Sigmoid ||
         s == GeluForm::Fourier;
}

bool geluCanTruncateInput(int inputTruncBits, int compareBits) {
  return inputTruncBits >= 0 && inputTruncBits <= kGeluMaxInputTruncBits &&
         inputTruncBits + compareBits <= 63;
}

int geluInputRingBits(int compareBits, int inputTruncBits) {
  return std::min(kFullRingBits, compareBits + 1 + inputTruncBits);
}

llvm::Error nl::validateTanhForm(const TanhParams &p) {
  return validatePiecewise(tanhPieces(p.approx), p.frac, "tanh");
}

llvm::Error nl::validateGeluForm(const GeluParams &p) {
  GeluForm form = geluForm(p.approx);
  if (form.shape == GeluForm::Poly) {
    if (p.inputTruncBits != 0)
      return mpc::error("gelu: inputTruncBits {} must be 0 for {}",
                        p.inputTruncBits, approxInfo(p.approx).name);
    return validatePoly({1}, geluPoly(form, p));
  }
  if (form.shape == GeluForm::Quad) {
    if (p.inputTruncBits != 0)
      return mpc::error("gelu: inputTruncBits {} must be 0 for {}",
                        p.inputTruncBits, approxInfo(p.approx).name);
    return llvm::Error::success();
  }
  if (p.compareBits < p.frac + 4 || p.compareBits > kMaxCompareBits)
    return mpc::error("gelu: compareBits {} outside [frac + 4, {}]",
                      p.compareBits, kMaxCompareBits);
  if (form.shape == GeluForm::Pieces)
    if (llvm::Error e = validatePiecewise(form.pieces, p.frac, "gelu"))
      return e;
  if (form.shape == GeluForm::Sigmoid)
    if (llvm::Error e = validateExp(sigmoidExp(p.frac)))
      return e;
  // Its series rounds the dealer's cos/sin of the random phase mask, so
  // no floor makes it a function of the input alone: reruns would differ.
  if (form.shape == GeluForm::Fourier && p.exact)
    return mpc::error("gelu: {} has no exact-truncation mode: its sine "
                      "series rounds by the dealer's random mask, so reruns "
                      "would not be bit-identical",
                      approxInfo(p.approx).name);

  if (p.inputTruncBits < 0 || p.inputTruncBits > kGeluMaxInputTruncBits)
    return mpc::error("gelu: inputTruncBits {} must be in [0, {}]",
                      p.inputTruncBits, kGeluMaxInputTruncBits);
  if (!geluCanTruncateInput(p.inputTruncBits, p.compareBits))
    return mpc::error("gelu: inputTruncBits {} + compareBits {} must be at "
                      "most 63",
                      p.inputTruncBits, p.compareBits);
  return llvm::Error::success();
}

GeluMat dealGelu(Corr &c, llvm::ArrayRef<int64_t> shape, const GeluParams &p) {
  GeluMat m;
  int64_t n = numElements(shape);
  if (n == 0)
    return m;
  GeluForm form = geluForm(p.approx);
  if (form.shape == GeluForm::Poly) {
    m.prog = fx::dealProgram(
        c, buildPolyProgram(n, geluPoly(form, p), form.polyShift).prog);
    return m;
  }
  if (form.shape == GeluForm::Quad) {
    m.prog = fx::dealProgram(c, buildQuadGelu(n, p.frac, p.exact).prog);
    return m;
  }
  PiecewiseProgram pp = buildGeluPieces(form, n, p);
  m.prog = fx::dealProgram(c, pp.prog);
  m.cmp = dealPiecewiseCompare(c, form.pieces, pp, m.prog, p.compareBits);
  return m;
}

Proto<RingTensor> gelu(Party &p, RingTensor x, const GeluParams &params,
                       const GeluMat &m) {
  int64_t n = x.size();
  if (n == 0)
    co_return x;
  GeluForm form = geluForm(params.approx);
  if (form.shape == GeluForm::Poly) {
    PolyProgram pp =
        buildPolyProgram(n, geluPoly(form, params), form.polyShift);
    co_return co_await runUnaryProgram(p, m.prog, pp.x, pp.out, std::move(x));
  }
  if (form.shape == GeluForm::Quad) {
    QuadProgram qp = buildQuadGelu(n, params.frac, params.exact);
    co_return co_await runUnaryProgram(p, m.prog, qp.x, qp.out, std::move(x));
  }
  Shape shape = x.shape();
  RingTensor flat = x.reshaped({n});
  PiecewiseProgram pp = buildGeluPieces(form, n, params);
  RingTensor out =
      co_await runPiecewise(p, form.pieces, pp, m.prog, m.cmp, std::move(flat),
                            params.frac, params.compareBits);
  co_return out.reshaped(shape);
}

Cost geluCost(llvm::ArrayRef<int64_t> shape, const GeluParams &p) {
  int64_t n = numElements(shape);
  if (n == 0)
    return Cost();
  GeluForm form = geluForm(p.approx);
  if (form.shape == GeluForm::Poly)
    return fx::programCost(
        *buildPolyProgram(n, geluPoly(form, p), form.polyShift).prog);
  if (form.shape == GeluForm::Quad)
    return fx::programCost(*buildQuadGelu(n, p.frac, p.exact).prog);
  return piecewiseCost(buildGeluPieces(form, n, p), p.compareBits);
}

// --- tanh --------------------------------------------------------------------

TanhMat dealTanh(Corr &c, llvm::ArrayRef<int64_t> shape, const TanhParams &p) {
  TanhMat m;
  int64_t n = numElements(shape);
  if (n == 0)
    return m;
  Piecewise pw = tanhPieces(p.approx);
  PiecewiseProgram pp =
      buildPiecewise(pw, n, p.frac, p.compareBits,
                     compareRounds(n, pw, p.compareBits), 0, p.exact);
  m.prog = fx::dealProgram(c, pp.prog);
  m.cmp = dealPiecewiseCompare(c, pw, pp, m.prog, p.compareBits);
  return m;
}

Proto<RingTensor> tanhApprox(Party &p, RingTensor x, const TanhParams &params,
                             const TanhMat &m) {
  int64_t n = x.size();
  if (n == 0)
    co_return x;
  Shape shape = x.shape();
  Piecewise pw = tanhPieces(params.approx);
  PiecewiseProgram pp =
      buildPiecewise(pw, n, params.frac, params.compareBits,
                     compareRounds(n, pw, params.compareBits), 0, params.exact);
  RingTensor flat = x.reshaped(Shape{n});
  RingTensor out =
      co_await runPiecewise(p, pw, pp, m.prog, m.cmp, std::move(flat),
                            params.frac, params.compareBits);
  co_return out.reshaped(shape);
}

Cost tanhCost(llvm::ArrayRef<int64_t> shape, const TanhParams &p) {
  int64_t n = numElements(shape);
  if (n == 0)
    return Cost();
  Piecewise pw = tanhPieces(p.approx);
  return piecewiseCost(buildPiecewise(pw, n, p.frac, p.compareBits,
                                      compareRounds(n, pw, p.compareBits), 0,
                                      p.exact),
                       p.compareBits);
}

// --- Simulation --------------------------------------------------------------

namespace {

/// runPiecewise on clear x: the breakpoint comparisons read x as the first
/// stages leave it (truncated when the input comes at a finer scale).
RingTensor simulatePiecewise(const Piecewise &pw, const PiecewiseProgram &pp,
                             RingTensor x, int frac) {
  Shape shape = x.shape();
  const fx::Program &prog = *pp.prog;
  fx::Clear s(prog);
  s.val[pp.x] = x.reshaped({x.size()});
  fx::simulateStages(prog, s, 0, pp.cmpStart);
  for (size_t i = 0; i < pw.breaks.size(); ++i)
    s.val[pp.bitInputs[i]] =
        clearLess(s.val[pp.xm], encodeFixed(pw.breaks[i], frac));
  fx::simulateStages(prog, s, pp.cmpStart, prog.numStages());
  return s.val[pp.out].reshaped(shape);
}

} // namespace

RingTensor simulateGelu(RingTensor x, const GeluParams &p) {
  int64_t n = x.size();
  if (n == 0)
    return x;
  GeluForm form = geluForm(p.approx);
  if (form.shape == GeluForm::Poly) {
    PolyProgram pp = buildPolyProgram(n, geluPoly(form, p), form.polyShift);
    return simulateUnary(*pp.prog, pp.x, pp.out, std::move(x));
  }
  if (form.shape == GeluForm::Quad) {
    QuadProgram qp = buildQuadGelu(n, p.frac, p.exact);
    return simulateUnary(*qp.prog, qp.x, qp.out, std::move(x));
  }
  return simulatePiecewise(form.pieces, buildGeluPieces(form, n, p),
                           std::move(x), p.frac);
}

RingTensor simulateTanh(RingTensor x, const TanhParams &p) {
  int64_t n = x.size();
  if (n == 0)
    return x;
  Piecewise pw = tanhPieces(p.approx);
  PiecewiseProgram pp =
      buildPiecewise(pw, n, p.frac, p.compareBits,
                     compareRounds(n, pw, p.compareBits), 0, p.exact);
  return simulatePiecewise(pw, pp, std::move(x), p.frac);
}

} // namespace mpc::rt
