//===- runtime/protocols/Reciprocal.cpp - 1/x and 1/sqrt(x) ---------------===//
//
// Normalised Goldschmidt reciprocal (PUMA/SPU), normalised inverse square
// root, and CrypTen's Newton variants of both.
//
// Normalisation: one batched comparison gives b_j = [x < 2^j] for every
// threshold j in (lo, hi) (threshold-major, one lessThanZeroBits over
// (hi - lo - 1) n elements) while x is opened. The bits are opened
// premasked; bucket k (x in [2^k, 2^(k+1))) has the indicator
// b_(k+1) - b_k, so any public per-bucket coefficient is a local linear
// combination: t = 2^-(k+1) scales x into c in [0.5, 1), and the
// un-normalising factor (t again, or 2^-(k+1)/2 for rsqrt) is folded into
// the final truncation as one more premasked factor.
//
// Goldschmidt: w0 = 2.9142 - 2c, e0 = 1 - c w0, then r <- r (1 + e),
// e <- e^2; each iteration is one truncation round (r and e together), and
// |e0| <= 0.0858 gives relative error e0^(2^iters).
//
// Rsqrt: c truncated twice (frac f for the Newton step, 13 bits for the
// guess so its cube leaves room for precise coefficients), the degree-3
// minimax guess p(c) on [0.5, 1) (relative error 4.8e-4), then Newton
// y <- y (3 - c y^2)/2 in two rounds per step (c y^2, then the product).
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/NonlinearBuild.h"
#include "runtime/protocols/Parallel.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>

namespace mpc::rt {

using namespace nl;

namespace nl {

namespace {

/// Minimax degree-3 fit of 1/sqrt(c) on [0.5, 1] (relative error 4.8e-4).
constexpr double kRsqrtGuess[4] = {2.605307851321697, -3.639631028607458,
                                   2.990506167513526, -0.9566619221528789};

/// SPU's f_rsqrt (papers.md A.2): r(u) ~ 1/sqrt(u) on u in [0.25, 0.5),
/// with no Newton step after it (relative error 8.2e-5).
constexpr double kSpuRsqrt[5] = {4.14285016, -15.47994394, 38.4714796,
                                 -49.86605845, 26.02942339};
/// SPU's low-accuracy r(u) (papers.md A.2), relative error 5.0e-3.
constexpr double kSpuRsqrtLow[3] = {3.1855, -5.9417, 4.7979};
/// Where SPU's polynomials are re-expanded (the middle of c's range).
constexpr double kSpuCentre = 0.75;

/// SPU's r(u) (coefficients \p a) as p(c) ~ 1/sqrt(c) on c = 2u in
/// [0.5, 1): p(c) = r(c/2)/sqrt(2), in powers of v = c - kSpuCentre. The
/// same polynomial; in v its top powers are small (|v| <= 0.25), so their
/// coefficients, quantised where the coarse c's powers leave few bits,
/// cost little.
template <size_t N> std::array<double, N> spuCentred(const double (&a)[N]) {
  std::array<double, N> out{};
  for (size_t k = 0; k < N; ++k) {
    double ak = a[k] / std::ldexp(std::sqrt(2.0), int(k));
    // ak c^k = ak (v + centre)^k = sum_j ak C(k, j) centre^(k-j) v^j.
    double binom = 1;
    for (size_t j = 0; j <= k; ++j) {
      out[j] += ak * binom * std::pow(kSpuCentre, double(k - j));
      binom = binom * double(k - j) / double(j + 1);
    }
  }
  return out;
}

} // namespace

Expr bucketSum(const Builder &b, llvm::ArrayRef<int> bits, int lo, int hi,
               const std::function<double(int)> &coef, int fc) {
  Expr sum = Builder::constant(0, fc);
  for (int k = lo; k < hi; ++k)
    sum = sum +
          Builder::mulConst(bucketIndicator(b, bits, lo, hi, k), coef(k), fc);
  return sum;
}

Expr bucketIndicator(const Builder &b, llvm::ArrayRef<int> bits, int lo, int hi,
                     int k) {
  assert(int(bits.size()) == numThresholds(lo, hi) && "one bit per threshold");
  // [bucket k] = b_(k+1) - b_k with b_lo = 0 and b_hi = 1.
  auto bit = [&](int j) {
    if (j <= lo)
      return Builder::constant(0, 0);
    if (j >= hi)
      return Builder::constant(1, 0);
    return b.var(bits[j - lo - 1], 0);
  };
  return bit(k + 1) - bit(k);
}

namespace {

/// The lanes a normalised body runs: one whose factors are bucket sums of
/// the opened bits, or one per bucket with constant factors (Buckets).
struct Lanes {
  const Builder &b;
  const Buckets &bk;
  int lo, hi;

  int size() const { return bk.perBucket() ? hi - lo : 1; }
  /// sum_k coef(k) [bucket k] for lane \p l, at scale fc.
  Expr factor(int l, const std::function<double(int)> &coef, int fc) const {
    if (bk.perBucket())
      return Builder::constant(coef(lo + l), fc);
    return bucketSum(b, bk.bits, lo, hi, coef, fc);
  }
  /// The input's own lane of \p perLane: the one lane, or the sum of each
  /// bucket's lane times its indicator (the bits opened by now).
  Expr select(Builder &bd, const std::vector<Expr> &perLane) const {
    if (!bk.perBucket())
      return perLane[0];
    std::vector<int> bits = bk.bitsAt(bd);
    Expr sum = bucketIndicator(b, bits, lo, hi, lo) * perLane[0];
    for (int l = 1; l < size(); ++l)
      sum = sum + bucketIndicator(b, bits, lo, hi, lo + l) * perLane[l];
    return sum;
  }
};

} // namespace

int buildGoldschmidt(Builder &b, const Expr &x, const Buckets &bk, int lo,
                     int hi, int iters, int f, int outFrac) {
  assert(iters >= 1 && "Goldschmidt needs an iteration");
  Lanes lanes{b, bk, lo, hi};
  int n = lanes.size();
  int ft = std::max(hi, 1);
  auto tOf = [&](int l) {
    return lanes.factor(
        l, [](int k) { return std::ldexp(1.0, -(k + 1)); }, ft);
  };
  std::vector<Expr> t(n), e(n), r(n);
  std::vector<int> cm(n);
  for (int l = 0; l < n; ++l) {
    t[l] = tOf(l);
    Expr c = x * t[l];
    assert(c.scale <= kSafeBits && "normalised input too fine");
    cm[l] = b.trunc(b.local(c), c.scale - f);
  }
  b.nextStage();
  for (int l = 0; l < n; ++l) {
    Expr cv = b.var(cm[l], f);
    Expr w0 = Builder::constant(2.9142, f) - Builder::mulInt(cv, 2);
    e[l] = Builder::constant(1, 2 * f) - cv * w0; // scale 2f
    r[l] = w0;                                    // scale f
  }
  bool rPending = false;
  for (int i = 1; i <= iters; ++i) {
    std::vector<int> em(n), rm(n, -1);
    for (int l = 0; l < n; ++l) {
      em[l] = b.trunc(b.local(e[l]), f);
      if (rPending)
        rm[l] = b.trunc(b.local(r[l]), f);
    }
    b.nextStage();
    for (int l = 0; l < n; ++l) {
      if (rPending)
        r[l] = b.var(rm[l], f);
      Expr ev = b.var(em[l], f);
      Expr rn = r[l] * (Builder::constant(1, f) + ev);
      if (i < iters)
        e[l] = ev * ev;
      r[l] = rn;
    }
    rPending = true;
  }
  // r is 1/c at scale 2f; 1/x = r t.
  std::vector<Expr> rt(n);
  if (-lo + 2 * f + ft <= kSafeBits - 1) {
    for (int l = 0; l < n; ++l)
      rt[l] = r[l] * t[l];
  } else {
    std::vector<int> rm(n);
    for (int l = 0; l < n; ++l)
      rm[l] = b.trunc(b.local(r[l]), f);
    b.nextStage();
    for (int l = 0; l < n; ++l)
      rt[l] = b.var(rm[l], f) * t[l];
  }
  Expr out = lanes.select(b, rt);
  assert(out.scale > outFrac && "output scale too fine");
  int id = b.trunc(b.local(out), out.scale - outFrac);
  b.nextStage();
  return id;
}

int buildRsqrtNormalized(Builder &b, Approximation a, const Expr &x,
                         const Buckets &bk, int lo, int hi, int iters, int f,
                         int outFrac) {
  bool spu = a == Approximation::RsqrtSpu;
  assert((iters >= 1 || a != Approximation::RsqrtNormalized) &&
         "the cubic guess needs a Newton step");
  Lanes lanes{b, bk, lo, hi};
  int n = lanes.size();
  int ft = std::max(hi, 1);
  std::vector<Expr> c(n);
  std::vector<int> craw(n);
  for (int l = 0; l < n; ++l) {
    c[l] = x * lanes.factor(
                   l, [](int k) { return std::ldexp(1.0, -(k + 1)); }, ft);
    assert(c[l].scale <= kSafeBits && "normalised input too fine");
    craw[l] = b.local(c[l]);
  }
  auto sOf = [&](int l, int fs) {
    return lanes.factor(
        l, [](int k) { return std::pow(2.0, -(k + 1) / 2.0); }, fs);
  };
  if (a == Approximation::RsqrtSpulow) {
    // SPU's quadratic times the un-normalising factor in one truncation,
    // in v = c - centre: c at 13 bits (half-ulp offset: < 6e-5), the
    // factor at 20 (2.4e-4 at its smallest, 2^-8).
    const int fq = std::min(f, 13), fsq = 20;
    std::vector<int> cq(n);
    for (int l = 0; l < n; ++l)
      cq[l] = b.trunc(craw[l], c[l].scale - fq);
    b.nextStage();
    std::array<double, 3> coef = spuCentred(kSpuRsqrtLow);
    // |p| < 4 for c in [0, 1] (the lowest bucket's c may be below 0.5),
    // and s <= 2^(-(lo+1)/2): the scale that keeps p s in range.
    int scale = kSafeBits - 1 - log2Ceil(4 * std::pow(2.0, -(lo + 1) / 2.0));
    std::vector<Expr> sums(n);
    for (int l = 0; l < n; ++l) {
      Expr cv = b.var(cq[l], fq) -
                Builder::constant(kSpuCentre - std::ldexp(1.0, -fq - 1), fq);
      Expr sum = Builder::constant(0, scale);
      Expr power = sOf(l, fsq);
      for (int k = 0; k < 3; ++k, power = power * cv)
        sum = sum + Builder::mulConst(power, coef[k], scale - power.scale);
      sums[l] = sum;
    }
    Expr sum = lanes.select(b, sums);
    assert(sum.scale > outFrac && "output scale too fine");
    int out = b.trunc(b.local(sum), sum.scale - outFrac);
    b.nextStage();
    return out;
  }
  int fl = std::min(f, 13);
  std::vector<int> cm(n, -1), cl(n);
  for (int l = 0; l < n; ++l) {
    if (iters > 0)
      cm[l] = b.trunc(craw[l], c[l].scale - f);
    cl[l] = b.trunc(craw[l], c[l].scale - fl);
  }
  b.nextStage();

  // y0 = p(c) on the coarse copy, coefficients as precise as fits. SPU's
  // quartic runs in v = c - centre; the coarse copy's floor is offset by
  // half its ulp, which halves the error it adds.
  std::array<double, 5> coef{};
  std::copy(std::begin(kRsqrtGuess), std::end(kRsqrtGuess), coef.begin());
  if (spu)
    coef = spuCentred(kSpuRsqrt);
  // A bound on |p| for c in [0, 1] (the lowest bucket's c may be below
  // 0.5): sum |coef_k| |v|^k, |v| <= 1 (cubic) or <= centre (quartic).
  double mag = 0, vmax = spu ? kSpuCentre : 1.0;
  for (size_t k = 0; k < coef.size(); ++k)
    mag += std::fabs(coef[k]) * std::pow(vmax, double(k));
  int scale = kSafeBits - 1 - log2Ceil(mag);
  std::vector<int> y(n);
  for (int l = 0; l < n; ++l) {
    Expr clv = b.var(cl[l], fl);
    if (spu)
      clv = clv - Builder::constant(kSpuCentre - std::ldexp(1.0, -fl - 1), fl);
    Expr guess = Builder::constant(coef[0], scale);
    Expr power = clv;
    for (int k = 1; k < int(coef.size()); ++k, power = power * clv)
      if (coef[k] != 0)
        guess = guess + Builder::mulConst(power, coef[k], scale - power.scale);
    y[l] = b.trunc(b.local(guess), scale - f);
  }
  b.nextStage();

  int fs = std::min(30, kSafeBits - 2 - 2 * f - (std::max(0, -lo) + 1) / 2);
  assert(fs >= f && "rsqrt domain too wide for the un-normalising factor");
  std::vector<Expr> ys(n);
  if (iters == 0) {
    for (int l = 0; l < n; ++l)
      ys[l] = b.var(y[l], f) * sOf(l, fs);
    Expr out = lanes.select(b, ys);
    assert(out.scale > outFrac && "output scale too fine");
    int id = b.trunc(b.local(out), out.scale - outFrac);
    b.nextStage();
    return id;
  }
  int out = -1;
  for (int i = 1; i <= iters; ++i) {
    std::vector<int> q(n);
    for (int l = 0; l < n; ++l) {
      Expr yv = b.var(y[l], f);
      q[l] = b.trunc(b.local(b.var(cm[l], f) * yv * yv), 2 * f);
    }
    b.nextStage();
    std::vector<Expr> yn(n);
    for (int l = 0; l < n; ++l) {
      Expr yv = b.var(y[l], f);
      // 2 y' = 3 y - y (c y^2), read at scale 2f + 1 as y'.
      yn[l] = Builder::reinterpret(
          Builder::alignTo(Builder::mulInt(yv, 3), 2 * f) - yv * b.var(q[l], f),
          1);
    }
    if (i == iters) {
      for (int l = 0; l < n; ++l)
        ys[l] = yn[l] * sOf(l, fs);
      Expr sel = lanes.select(b, ys);
      assert(sel.scale > outFrac && "output scale too fine");
      out = b.trunc(b.local(sel), sel.scale - outFrac);
    } else {
      for (int l = 0; l < n; ++l)
        y[l] = b.trunc(b.local(yn[l]), yn[l].scale - f);
    }
    b.nextStage();
  }
  return out;
}

int buildReciprocalNewton(Builder &b, int x, int iters, int f) {
  Expr xv = b.var(x, f);
  ExpParams ep;
  ep.frac = f;
  ep.maxInput = 1;
  int e = buildExp(b, Builder::constant(1, f) - Builder::mulInt(xv, 2), ep);
  Expr y = Builder::mulInt(b.var(e, f), 3) + Builder::constant(0.003, f);
  int out = -1;
  for (int i = 1; i <= iters; ++i) {
    Expr z = Builder::alignTo(Builder::mulInt(y, 2), 3 * f) - xv * y * y;
    out = b.trunc(b.local(z), 2 * f);
    b.nextStage();
    y = b.var(out, f);
  }
  return out;
}

int buildRsqrtNewton(Builder &b, int x, int iters, int f) {
  Expr xv = b.var(x, f);
  ExpParams ep;
  ep.frac = f;
  ep.maxInput = 0;
  Expr u = -(Builder::reinterpret(xv, 1) + Builder::constant(0.2, f + 1));
  int e = buildExp(b, u, ep);
  Expr y0 = Builder::mulConst(b.var(e, f), 2.2, 10) +
            Builder::constant(0.2, f + 10) - Builder::reinterpret(xv, 10);
  int y = b.trunc(b.local(y0), 10);
  b.nextStage();
  for (int i = 1; i <= iters; ++i) {
    Expr yv = b.var(y, f);
    int q = b.trunc(b.local(xv * yv * yv), 2 * f);
    b.nextStage();
    Expr yn =
        Builder::alignTo(Builder::mulInt(yv, 3), 2 * f) - yv * b.var(q, f);
    y = b.trunc(b.local(yn), f + 1);
    b.nextStage();
  }
  return y;
}

/// SecFormer: r = 1, then m = 2 - y, r <- r m, y <- y m; 1 - y squares
/// each time, so r -> 1/y for y in (0, 2). The two products of an
/// iteration are truncated together (one round); the last needs only r.
/// Every m is in (0, 2], so r <= 2^iters whatever y.
int buildGoldschmidtNoGuess(Builder &b, Expr y, int iters, int f) {
  assert(iters >= 1 && "Goldschmidt needs an iteration");
  Expr r = Builder::constant(1, f);
  int out = -1;
  for (int i = 1; i <= iters; ++i) {
    Expr m = Builder::constant(2, y.scale) - y;
    Expr rn = i == 1 ? Builder::alignTo(m, std::max(m.scale, 2 * f)) : r * m;
    int rm = b.trunc(b.local(rn), rn.scale - f);
    int ym = i < iters ? b.trunc(b.local(y * m), 2 * y.scale - f) : -1;
    b.nextStage();
    out = rm;
    r = b.var(rm, f);
    if (i < iters)
      y = b.var(ym, f);
  }
  return out;
}

// --- Programs with a normalisation comparison --------------------------------

Buckets bucketsOpenedAt(std::vector<int> bitInputs, int split) {
  Buckets bk;
  bk.bitsAt = [ids = std::move(bitInputs), split](Builder &b) {
    while (b.stage() <= split)
      b.nextStage();
    std::vector<int> bits;
    for (int id : ids)
      bits.push_back(b.openBitsIn(id, split));
    return bits;
  };
  return bk;
}

NormProgram buildNormProgram(int64_t n, int frac, int lo, int hi, int cmpRounds,
                             bool exact, const NormBody &body, bool perBucket) {
  Builder b(n, exact);
  NormProgram np;
  np.lo = lo, np.hi = hi, np.frac = frac, np.exact = exact;
  np.x = b.arithInput();
  int T = numThresholds(lo, hi);
  for (int j = 0; j < T; ++j)
    np.bitInputs.push_back(b.bitsInput());
  int xm = b.open(np.x);
  np.split = T > 0 ? std::max(cmpRounds, 1) : 1;
  Buckets bk;
  if (perBucket && T > 0) {
    b.nextStage();
    bk = bucketsOpenedAt(np.bitInputs, np.split);
  } else {
    while (b.stage() < np.split)
      b.nextStage();
    for (int id : np.bitInputs)
      bk.bits.push_back(b.openBits(id));
    if (T > 0)
      b.nextStage();
  }
  np.out = body(b, xm, bk);
  np.prog = b.finish();
  return np;
}

int normCompareBits(int frac, int hi) {
  int bits = hi + frac + 1;
  assert(bits <= kMaxCompareBits && "normalisation range too wide");
  return std::max(bits, 1);
}

int normCompareSkip(int frac, int lo, int hi, bool exact) {
  constexpr int kOneLevelBits = 24, kBlurBits = 10;
  if (exact)
    return 0;
  int bits = normCompareBits(frac, hi);
  int skip = bits - kOneLevelBits;
  return skip > 0 && skip <= frac + lo + 1 - kBlurBits ? skip : 0;
}

RingTensor normCompareInput(const Party &p, const RingTensor &x, int frac,
                            int lo, int hi) {
  int64_t n = x.size();
  int T = numThresholds(lo, hi);
  RingTensor in(Shape{int64_t(T) * n});
  for (int j = lo + 1, q = 0; j < hi; ++j, ++q) {
    u64 thr = p.id() == 0 ? encodeFixed(std::ldexp(1.0, j), frac) : 0;
    for (int64_t i = 0; i < n; ++i)
      in[q * n + i] = x[i] - thr;
  }
  return in;
}

Proto<int> runNormProgram(Party &p, const fx::Mat &m, const LtzBitsMat &cmp,
                          const NormProgram &np, fx::State &st,
                          RingTensor cmpInput, int cmpBits) {
  int T = int(np.bitInputs.size());
  int64_t n = m.prog->n;
  if (T == 0) {
    co_await fx::runStages(p, m, st, 0, m.prog->numStages());
    co_return 0;
  }
  auto both = co_await whenBoth(
      p, [&](Party &q) { return fx::runStages(q, m, st, 0, np.split); },
      [&](Party &q) {
        return lessThanZeroBits(q, std::move(cmpInput), cmp, cmpBits);
      });
  for (int j = 0; j < T; ++j)
    fx::setBits(st, np.bitInputs[j], sliceBits(both.second, j * n, n));
  co_await fx::runStages(p, m, st, np.split, m.prog->numStages());
  co_return 0;
}

Cost normProgramCost(const NormProgram &np, int cmpBits) {
  const fx::Program &pg = *np.prog;
  int T = int(np.bitInputs.size());
  Cost c = fx::materialCost(pg);
  if (T == 0)
    return c.then(fx::stagesCost(pg, 0, pg.numStages()));
  Cost head = fx::stagesCost(pg, 0, np.split);
  head.alongside(lessThanZeroBitsCost(
      int64_t(T) * pg.n, cmpBits,
      TreeForm(normCompareSkip(np.frac, np.lo, np.hi, np.exact))));
  c.then(head);
  c.then(fx::stagesCost(pg, np.split, pg.numStages()));
  return c;
}

SharedBits sliceBits(const SharedBits &b, int64_t start, int64_t count) {
  SharedBits out;
  out.shape = Shape{count};
  out.words.assign((count + 63) / 64, 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t s = start + i;
    u64 bit = (b.words[s / 64] >> (s % 64)) & 1;
    out.words[i / 64] |= bit << (i % 64);
  }
  return out;
}

Proto<RingTensor> runUnaryNorm(Party &p, const NormProgram &np,
                               const fx::Mat &m, const LtzBitsMat &cmp,
                               RingTensor x, int frac, int cmpBits) {
  Shape shape = x.shape();
  fx::State st(*m.prog);
  RingTensor flat = x.reshaped({x.size()});
  RingTensor cmpIn = normCompareInput(p, flat, frac, np.lo, np.hi);
  fx::setArith(st, np.x, std::move(flat));
  co_await runNormProgram(p, m, cmp, np, st, std::move(cmpIn), cmpBits);
  co_return st.share[np.out].reshaped(shape);
}

void dealNorm(Corr &c, const NormProgram &np, int64_t n, int cmpBits,
              fx::Mat &prog, LtzBitsMat &cmp) {
  prog = fx::dealProgram(c, np.prog);
  if (!np.bitInputs.empty())
    cmp = dealLessThanZeroBits(
        c, {int64_t(np.bitInputs.size()) * n}, cmpBits,
        TreeForm(normCompareSkip(np.frac, np.lo, np.hi, np.exact)));
}

} // namespace nl

// --- Reciprocal --------------------------------------------------------------

namespace {

/// What a reciprocal or rsqrt entry runs: top-bit normalisation (one
/// batched comparison) and then its iterations, or, unnormalised, its own
/// iterations on x (build); and how many iterations by default.
struct NormForm {
  bool normalized;
  int iters;
  /// Unnormalised forms: (builder, premasked x, iters, frac) -> result.
  int (*build)(Builder &, int, int, int) = nullptr;
};

// One implementation per reciprocal and rsqrt entry of Approximations.def.
#define MPC_RECIPROCAL_APPROX(Id, ...) NormForm reciprocal##Id();
#define MPC_RSQRT_APPROX(Id, ...) NormForm rsqrt##Id();
#include "runtime/protocols/Approximations.def"

NormForm normForm(Approximation a) {
  switch (a) {
#define MPC_RECIPROCAL_APPROX(Id, ...)                                         \
  case Approximation::Reciprocal##Id:                                          \
    return reciprocal##Id();
#define MPC_RSQRT_APPROX(Id, ...)                                              \
  case Approximation::Rsqrt##Id:                                               \
    return rsqrt##Id();
#include "runtime/protocols/Approximations.def"
  default:
    break;
  }
  llvm_unreachable("not a reciprocal or rsqrt approximation");
}

/// PUMA/SPU: normalise, w0 = 2.9142 - 2c, Goldschmidt.
NormForm reciprocalGoldschmidt() { return {true, 2}; }
/// CrypTen: y0 = 3 exp(1 - 2x) + 0.003, Newton.
NormForm reciprocalNewton() { return {false, 10, buildReciprocalNewton}; }

/// SecFormer: 1/x by Goldschmidt without an initial guess.
int buildReciprocalSecformer(Builder &b, int x, int iters, int f) {
  return buildGoldschmidtNoGuess(b, b.var(x, f), iters, f);
}
NormForm reciprocalSecformer() { return {false, 7, buildReciprocalSecformer}; }
/// Normalise, minimax guess, Newton steps.
NormForm rsqrtNormalized() { return {true, 1}; }
/// Normalise, SPU's quartic guess, no Newton step.
NormForm rsqrtSpu() { return {true, 0}; }
/// Normalise, SPU's low-accuracy quadratic, no Newton step.
NormForm rsqrtSpulow() { return {true, 0}; }
/// CrypTen: y0 = 2.2 exp(-(x/2 + 0.2)) + 0.2 - x/1024, Newton.
NormForm rsqrtNewton() { return {false, 3, buildRsqrtNewton}; }

/// SecFormer: deflate x by 4 (a public factor: its rsqrt, 1/2, is folded
/// into the last truncation), then y = 1 and m = (3 - x)/2, x <- x m^2,
/// y <- y m: x -> 1 and y -> 1/sqrt(x) for x in (0, 3). The two products of
/// an iteration are truncated together (one round); the last needs only y.
int buildRsqrtSecformer(Builder &b, int x, int iters, int f) {
  // x/4 is x's ring value read 2 bits finer.
  Expr xv = Builder::reinterpret(b.var(x, f), 2);
  Expr y = Builder::constant(1, 0);
  int out = -1;
  for (int i = 1; i <= iters; ++i) {
    Expr m = Builder::reinterpret(Builder::constant(3, xv.scale) - xv, 1);
    Expr yn = y * m;
    // The last y also takes the deflation's 1/2: one bit more.
    int ym = b.trunc(b.local(yn), yn.scale - f + (i == iters ? 1 : 0));
    Expr xn = xv * m * m;
    int xm = i < iters ? b.trunc(b.local(xn), xn.scale - f) : -1;
    b.nextStage();
    out = ym;
    y = b.var(ym, f);
    if (i < iters)
      xv = b.var(xm, f);
  }
  return out;
}
NormForm rsqrtSecformer() { return {false, 7, buildRsqrtSecformer}; }

} // namespace

bool nl::normalizes(Approximation a) { return normForm(a).normalized; }
int nl::buildRsqrtUnnormalized(Builder &b, Approximation a, int x, int iters,
                               int frac) {
  NormForm form = normForm(a);
  assert(!form.normalized && form.build && "a normalising rsqrt entry");
  return form.build(b, x, iters, frac);
}
int reciprocalIters(Approximation a) { return normForm(a).iters; }
int rsqrtIters(Approximation a) { return normForm(a).iters; }

namespace nl {

NormProgram buildReciprocalProgram(int64_t n, const ReciprocalParams &p,
                                   int outFrac, bool perBucket) {
  int f = p.frac;
  if (outFrac < 0)
    outFrac = f;
  if (!normalizes(p.approx))
    return buildNormProgram(n, f, p.maxBits - 1, p.maxBits, 0, p.exact,
                            [&](Builder &b, int xm, const Buckets &) {
                              return normForm(p.approx).build(b, xm, p.iters,
                                                              f);
                            });
  int T = numThresholds(p.minExp, p.maxBits);
  int rounds =
      int(lessThanZeroBitsCost(
              int64_t(T) * n, reciprocalCompareBits(p),
              TreeForm(normCompareSkip(f, p.minExp, p.maxBits, p.exact)))
              .rounds);
  return buildNormProgram(
      n, f, p.minExp, p.maxBits, rounds, p.exact,
      [&](Builder &b, int xm, const Buckets &bk) {
        return buildGoldschmidt(b, b.var(xm, f), bk, p.minExp, p.maxBits,
                                p.iters, f, outFrac);
      },
      perBucket);
}

} // namespace nl

int reciprocalCompareBits(const ReciprocalParams &p) {
  return normCompareBits(p.frac, p.maxBits);
}

ReciprocalMat dealReciprocal(Corr &c, llvm::ArrayRef<int64_t> shape,
                             const ReciprocalParams &p) {
  ReciprocalMat m;
  int64_t n = numElements(shape);
  if (n == 0)
    return m;
  dealNorm(c, buildReciprocalProgram(n, p), n, reciprocalCompareBits(p), m.prog,
           m.cmp);
  return m;
}

Proto<RingTensor> reciprocal(Party &p, RingTensor x,
                             const ReciprocalParams &params,
                             const ReciprocalMat &m) {
  if (x.size() == 0)
    co_return x;
  NormProgram np = buildReciprocalProgram(x.size(), params);
  co_return co_await runUnaryNorm(p, np, m.prog, m.cmp, std::move(x),
                                  params.frac, reciprocalCompareBits(params));
}

Cost reciprocalCost(llvm::ArrayRef<int64_t> shape, const ReciprocalParams &p) {
  int64_t n = numElements(shape);
  if (n == 0)
    return Cost();
  return normProgramCost(buildReciprocalProgram(n, p),
                         reciprocalCompareBits(p));
}

// --- Rsqrt -------------------------------------------------------------------

namespace {

int rsqrtCompareBits(const RsqrtParams &p) {
  return normCompareBits(p.frac, p.maxBits);
}

NormProgram buildRsqrtProgram(int64_t n, const RsqrtParams &p) {
  int f = p.frac;
  if (!normalizes(p.approx))
    return buildNormProgram(n, f, p.maxBits - 1, p.maxBits, 0, p.exact,
                            [&](Builder &b, int xm, const Buckets &) {
                              return normForm(p.approx).build(b, xm, p.iters,
                                                              f);
                            });
  int T = numThresholds(p.minExp, p.maxBits);
  int rounds =
      int(lessThanZeroBitsCost(
              int64_t(T) * n, rsqrtCompareBits(p),
              TreeForm(normCompareSkip(f, p.minExp, p.maxBits, p.exact)))
              .rounds);
  return buildNormProgram(n, f, p.minExp, p.maxBits, rounds, p.exact,
                          [&](Builder &b, int xm, const Buckets &bk) {
                            return buildRsqrtNormalized(
                                b, p.approx, b.var(xm, f), bk, p.minExp,
                                p.maxBits, p.iters, f, f);
                          });
}

} // namespace

RsqrtMat dealRsqrt(Corr &c, llvm::ArrayRef<int64_t> shape,
                   const RsqrtParams &p) {
  RsqrtMat m;
  int64_t n = numElements(shape);
  if (n == 0)
    return m;
  dealNorm(c, buildRsqrtProgram(n, p), n, rsqrtCompareBits(p), m.prog, m.cmp);
  return m;
}

Proto<RingTensor> rsqrt(Party &p, RingTensor x, const RsqrtParams &params,
                        const RsqrtMat &m) {
  if (x.size() == 0)
    co_return x;
  NormProgram np = buildRsqrtProgram(x.size(), params);
  co_return co_await runUnaryNorm(p, np, m.prog, m.cmp, std::move(x),
                                  params.frac, rsqrtCompareBits(params));
}

Cost rsqrtCost(llvm::ArrayRef<int64_t> shape, const RsqrtParams &p) {
  int64_t n = numElements(shape);
  if (n == 0)
    return Cost();
  return normProgramCost(buildRsqrtProgram(n, p), rsqrtCompareBits(p));
}

// --- Simulation --------------------------------------------------------------

void nl::setNormBits(const NormProgram &np, fx::Clear &s, const RingTensor &x) {
  for (int j = np.lo + 1, q = 0; j < np.hi; ++j, ++q)
    s.val[np.bitInputs[q]] =
        clearLess(x, encodeFixed(std::ldexp(1.0, j), np.frac));
}

RingTensor nl::simulateUnaryNorm(const NormProgram &np, RingTensor x) {
  Shape shape = x.shape();
  RingTensor flat = x.reshaped({x.size()});
  fx::Clear s(*np.prog);
  setNormBits(np, s, flat);
  s.val[np.x] = std::move(flat);
  fx::simulateProgram(*np.prog, s);
  return s.val[np.out].reshaped(shape);
}

RingTensor simulateReciprocal(RingTensor x, const ReciprocalParams &p) {
  if (x.size() == 0)
    return x;
  NormProgram np = buildReciprocalProgram(x.size(), p);
  return simulateUnaryNorm(np, std::move(x));
}

RingTensor simulateRsqrt(RingTensor x, const RsqrtParams &p) {
  if (x.size() == 0)
    return x;
  NormProgram np = buildRsqrtProgram(x.size(), p);
  return simulateUnaryNorm(np, std::move(x));
}

} // namespace mpc::rt
