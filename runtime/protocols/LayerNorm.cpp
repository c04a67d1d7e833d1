//===- runtime/protocols/LayerNorm.cpp - LayerNorm over the last axis -----===//
//
// Three programs:
//   1. (n elements) y = x - mean as ONE truncation: the local d x - sum(x)
//      is an exact multiple of d (x - mean), multiplied by round(2^fd / d)
//      and truncated by fd (in the ring |x - mean| < 2^(inputBits+1)
//      needs); then y^2 locally.
//   2. (rows) Q = sum y^2 truncated to frac (Q = d var). The rsqrt input
//      var + eps = Q/d + eps is an affine function of the premasked Q, so
//      it is never opened; the normalisation comparisons test
//      Q < d (2^j - eps) directly (no division before them). Then the
//      normalised rsqrt (Reciprocal.cpp) gives rho. With an rsqrt that
//      does not normalise (CrypTen's Newton, SecFormer's Goldschmidt),
//      var + eps is truncated to frac instead and no comparison is made.
//   3. (n) out = y rho (gamma) + beta, one truncation (in the ring
//      |out| < 2^inputBits needs); rho is broadcast along the row as a
//      premasked value.
// With a private gamma, y gamma is local (y is premasked: no message, see
// Nonlinear.h) and its truncation runs while program 2 does (whenBoth),
// so it adds no round.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/NonlinearBuild.h"
#include "runtime/protocols/Parallel.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace mpc::rt {

using namespace nl;

namespace {

using Affine = LayerNormParams::Affine;

using Dims = RowDims;

struct CentreProgram {
  std::shared_ptr<const fx::Program> prog;
  int cx = -1, y = -1, sq = -1;
};

CentreProgram buildCentre(const Dims &dm, const LayerNormParams &p) {
  int f = p.frac;
  // round(2^fd / d) is within d / 2^(fd+1) of 2^fd / d relatively: fd =
  // log2(d) + 17 keeps y's relative error under 2^-18, and every bit less
  // narrows the truncation's ring.
  int fd = std::min(
      {40, kSafeBits - 1 - f - p.inputBits, log2Ceil(double(dm.len)) + 17});
  assert(fd >= log2Ceil(double(dm.len)) + 16 &&
         "LayerNorm inputBits too large");
  Builder b(dm.n, p.exact);
  CentreProgram cp;
  cp.cx = b.arithInput();
  Expr c = Builder::mulConst(b.var(cp.cx, f), 1.0 / double(dm.len), fd);
  // |x - mean| < 2^(inputBits + 1).
  cp.y = b.trunc(b.local(c), fd, Builder::ringFor(p.inputBits + 1, f + fd));
  b.nextStage();
  Expr y = b.var(cp.y, f);
  cp.sq = b.local(y * y);
  cp.prog = b.finish();
  return cp;
}

/// Whether the rsqrt iterates on its fixed domain (CrypTen's Newton,
/// SecFormer's Goldschmidt), with no normalisation.
bool isUnnormalized(const LayerNormParams &p) {
  return !normalizes(p.rsqrt.approx);
}

/// The scale of rho = rsqrt(var + eps): finer than frac by half the
/// variance range, so that rho keeps frac bits of relative precision.
int rhoFrac(const LayerNormParams &p) {
  if (isUnnormalized(p))
    return p.frac;
  return p.frac + (std::max(p.rsqrt.maxBits, 0) + 1) / 2;
}

struct VarProgram {
  std::shared_ptr<const fx::Program> prog;
  int s2 = -1, q = -1, rho = -1;
  std::vector<int> bitInputs;
  /// Stages [1, split) run alongside the variance tests; the bits are
  /// opened at split.
  int split = 1;
};

int varCompareBits(const Dims &dm, const LayerNormParams &p) {
  int bits = log2Ceil(double(dm.len)) + p.rsqrt.maxBits + p.frac + 1;
  assert(bits <= kMaxCompareBits && "LayerNorm variance range too wide");
  return bits;
}

/// The variance tests are few (rows times thresholds) and wait for
/// nothing else: a wide tree (Compare.h) takes their 43 bits (d = 768) in
/// one level, a round fewer, for 89 dealer bytes a test instead of 26.
const TreeForm kVarTree(0, /*wide=*/true);

/// The normalisation tests var + eps < 2^j as Q < d (2^j - eps).
double varThreshold(const Dims &dm, const LayerNormParams &p, int j) {
  return double(dm.len) * (std::ldexp(1.0, j) - p.eps);
}

VarProgram buildVar(const Dims &dm, const LayerNormParams &p) {
  int f = p.frac, lo = p.rsqrt.minExp, hi = p.rsqrt.maxBits;
  Builder b(dm.rows, p.exact);
  VarProgram vp;
  vp.s2 = b.arithInput();
  if (isUnnormalized(p)) {
    // The rsqrt's own iterations on var + eps truncated to frac (their
    // domains, [0.1, 100] or [0.2, 10], need no finer scale).
    vp.q = b.trunc(vp.s2, f);
    b.nextStage();
    int fv = kSafeBits - 1 - f - 8;
    Expr x = Builder::mulConst(b.var(vp.q, f), 1.0 / double(dm.len), fv) +
             Builder::constant(p.eps, f + fv);
    int v = b.trunc(b.local(x), fv);
    b.nextStage();
    vp.rho = buildRsqrtUnnormalized(b, p.rsqrt.approx, v, p.rsqrt.iters, f);
    vp.prog = b.finish();
    return vp;
  }
  for (int j = 0; j < numThresholds(lo, hi); ++j)
    vp.bitInputs.push_back(b.bitsInput());
  vp.q = b.trunc(vp.s2, f);
  b.nextStage();
  // On long rows the rsqrt runs per bucket (NonlinearBuild.h, Buckets)
  // from stage 1, alongside the comparison of Q's opening, and the bits are
  // opened at split; otherwise the comparison runs before stage 1 (split
  // 1), which opens the bits.
  Buckets bk;
  if (!vp.bitInputs.empty() && rowsPerBucket(dm.len, lo, hi)) {
    vp.split =
        1 +
        int(lessThanZeroBitsOfPublicCost(int64_t(vp.bitInputs.size()) * dm.rows,
                                         varCompareBits(dm, p), kVarTree)
                .rounds);
    bk = bucketsOpenedAt(vp.bitInputs, vp.split);
  } else if (!vp.bitInputs.empty()) {
    for (int id : vp.bitInputs)
      bk.bits.push_back(b.openBits(id));
    b.nextStage();
  }
  // var + eps = Q/d + eps at scale f + fv, with c = (var + eps) t < 1.
  int ft = std::max(hi, 1);
  int fv = kSafeBits - f - ft;
  Expr x = Builder::mulConst(b.var(vp.q, f), 1.0 / double(dm.len), fv) +
           Builder::constant(p.eps, f + fv);
  vp.rho = buildRsqrtNormalized(b, p.rsqrt.approx, x, bk, lo, hi, p.rsqrt.iters,
                                f, rhoFrac(p));
  vp.prog = b.finish();
  return vp;
}

struct OutProgram {
  std::shared_ptr<const fx::Program> prog;
  int y = -1, yg = -1, ygm = -1, rho = -1, out = -1;
  int gammaSlot = -1, betaSlot = -1;
  int split = 0; ///< Private: stages before this run alongside program 2.
};

OutProgram buildOut(const Dims &dm, const LayerNormParams &p) {
  int f = p.frac, gf = p.gammaFrac, rf = rhoFrac(p);
  Builder b(dm.n, p.exact);
  OutProgram op;
  // The output is an activation in LayerNorm's domain, |out| < 2^inputBits
  // (--calibrate checks it): its truncation opens in that ring.
  auto outRing = [&](int scale) {
    return Builder::ringFor(p.inputBits, scale);
  };
  op.rho = b.maskedInput(2);
  Expr rho = b.var(op.rho, rf);
  switch (p.affine) {
  case Affine::None:
    op.y = b.maskedInput(2);
    op.out = b.trunc(b.local(b.var(op.y, f) * rho), rf, outRing(f + rf));
    break;
  case Affine::Public:
    op.y = b.maskedInput(2);
    op.gammaSlot = b.publicSlot();
    op.betaSlot = b.publicSlot();
    op.out = b.trunc(b.local(b.var(op.y, f) * rho, op.gammaSlot, op.betaSlot),
                     rf + gf, outRing(f + rf + gf));
    break;
  case Affine::Private:
    op.yg = b.arithInput();
    op.betaSlot = b.publicSlot();
    op.ygm = b.trunc(op.yg, gf);
    b.nextStage();
    op.split = 1;
    op.out =
        b.trunc(b.local(b.var(op.ygm, f) * rho, /*elemFactor=*/-1, op.betaSlot),
                rf, outRing(f + rf));
    break;
  }
  b.nextStage();
  op.prog = b.finish();
  return op;
}

/// beta at scale `scale`, broadcast to the input, for party 0's share.
RingTensor betaAt(const RingTensor *beta, int betaFrac, int scale,
                  llvm::ArrayRef<int64_t> shape) {
  RingTensor b = broadcastTo(*beta, shape);
  assert(scale >= betaFrac && "beta finer than the output scale");
  return mulScalar(b, u64(1) << (scale - betaFrac))
      .reshaped(Shape{numElements(shape)});
}

/// This party's share of y gamma for the premasked y = D + A (see
/// Nonlinear.h): party 0 D gamma + A_0 (gamma - B) + [A B]_0, party 1
/// A_1 (gamma - B) + [A B]_1, with A the candidate y's opening selected.
RingTensor privateGain(const Party &p, const fx::MaskedView &y,
                       const RingTensor *gamma, const LayerNormMat &m,
                       llvm::ArrayRef<int64_t> shape) {
  bool p0 = p.id() == 0;
  assert((!p0 || gamma) && "party 0 needs gamma");
  int64_t n = y.d.size(), d = shape.back();
  RingTensor wMinusB = p0 ? sub(*gamma, m.gammaMask) : m.gammaMask;
  const RingTensor &ab0 = m.gammaAB[0].mine(p.id()),
                   &ab1 = m.gammaAB[1].mine(p.id());
  RingTensor out(Shape{n});
  for (int64_t i = 0; i < n; ++i) {
    int sel = y.ncand == 2 ? y.sel[i] : 0;
    u64 v = y.cand[sel][i] * wMinusB[i % d] + (sel ? ab1[i] : ab0[i]);
    if (p0)
      v += y.d[i] * (*gamma)[i % d];
    out[i] = v;
  }
  return out;
}

/// The rsqrt each LayerNorm entry of Approximations.def runs.
#define MPC_LAYERNORM_APPROX(Id, ...) Approximation layerNorm##Id();
#include "runtime/protocols/Approximations.def"

/// Top-bit normalisation of var + eps, minimax guess, a Newton step.
Approximation layerNormNormalized() { return Approximation::RsqrtNormalized; }
/// PUMA's LayerNorm is SPU's f_rsqrt: normalisation and a quartic guess.
Approximation layerNormPuma() { return Approximation::RsqrtSpu; }
/// SPU's low-accuracy f_rsqrt: normalisation and a quadratic.
Approximation layerNormSpulow() { return Approximation::RsqrtSpulow; }
/// CrypTen's LayerNorm is its inv_sqrt (the Newton rsqrt) on var + eps
/// truncated to frac.
Approximation layerNormCrypten() { return Approximation::RsqrtNewton; }
/// SecFormer's Goldschmidt rsqrt (deflated) on var + eps truncated to frac.
Approximation layerNormSecformer() { return Approximation::RsqrtSecformer; }

} // namespace

Approximation layerNormRsqrt(Approximation a) {
  switch (a) {
#define MPC_LAYERNORM_APPROX(Id, ...)                                          \
  case Approximation::LayerNorm##Id:                                           \
    return layerNorm##Id();
#include "runtime/protocols/Approximations.def"
  default:
    break;
  }
  llvm_unreachable("not a layernorm approximation");
}

LayerNormDomain layerNormDomain() {
  LayerNormParams p;
  return {p.inputBits, p.rsqrt.maxBits};
}

LayerNormMat dealLayerNorm(Corr &c, llvm::ArrayRef<int64_t> shape,
                           const LayerNormParams &p, const WeightMasks *masks) {
  LayerNormMat m;
  Dims dm = dimsOf(shape);
  if (dm.n == 0)
    return m;
  CentreProgram cp = buildCentre(dm, p);
  m.centre = fx::dealProgram(c, cp.prog);
  VarProgram vp = buildVar(dm, p);
  m.var = fx::dealProgram(c, vp.prog);
  if (!vp.bitInputs.empty()) {
    // Against Q's mask (Q = D + A, truncated by frac: its two candidates
    // agree on the compared bits, frac + compare bits <= 63).
    int64_t T = int64_t(vp.bitInputs.size());
    assert(p.frac + varCompareBits(dm, p) <= 63 && "variance range too wide");
    m.cmp = dealLessThanZeroBitsKnown(
        c, {T * dm.rows}, varCompareBits(dm, p),
        [&] {
          const RingTensor &a = m.var.candValues[vp.q][0];
          RingTensor r(Shape{T * dm.rows});
          for (int64_t t = 0; t < T; ++t)
            for (int64_t i = 0; i < dm.rows; ++i)
              r[t * dm.rows + i] = u64(0) - a[i];
          return r;
        },
        kVarTree);
  }
  if (p.affine == Affine::Private) {
    assert(masks && "a private gamma needs the weight masks");
    Shape g{dm.len};
    if (c.role() == Role::P1)
      m.gammaMask = masks->masked(p.gammaWeightId);
    else
      m.gammaMask = masks->mask(p.gammaWeightId, g);
    // An exact y has one candidate: both products are of it.
    const std::array<RingTensor, 2> &cands = m.centre.candValues[cp.y];
    for (int j = 0; j < 2; ++j)
      m.gammaAB[j] = c.shareOf(shape, [&] {
        const RingTensor &a = cands[j].empty() ? cands[0] : cands[j];
        return mul(a.reshaped(shape), broadcastTo(m.gammaMask, shape));
      });
  }
  OutProgram op = buildOut(dm, p);
  std::vector<std::array<RingTensor, 2>> ins;
  if (c.isDealer()) {
    ins.push_back(fx::broadcastCands(m.var.candValues[vp.rho], {dm.rows, 1},
                                     {dm.rows, dm.len}));
    if (p.affine != Affine::Private)
      ins.push_back(m.centre.candValues[cp.y]);
  }
  m.out = fx::dealProgram(c, op.prog, ins);
  return m;
}

Proto<RingTensor> layerNorm(Party &p, RingTensor x,
                            const LayerNormParams &params,
                            const LayerNormMat &m, const RingTensor *gamma,
                            const RingTensor *beta) {
  Shape shape = x.shape();
  Dims dm = dimsOf(shape);
  if (dm.n == 0)
    co_return x;
  int f = params.frac;
  Shape rowShape{dm.rows, dm.len};

  // 1. y = x - mean, y^2.
  CentreProgram cp = buildCentre(dm, params);
  fx::State st1(*m.centre.prog);
  {
    RingTensor xr = x.reshaped(rowShape);
    RingTensor sum = reduceSum(xr, {1}, true);
    RingTensor cx = subBroadcast(mulScalar(xr, u64(dm.len)), sum);
    fx::setArith(st1, cp.cx, cx.reshaped(Shape{dm.n}));
  }
  co_await fx::runStages(p, m.centre, st1, 0, m.centre.prog->numStages());
  RingTensor s2 = reduceSum(st1.share[cp.sq].reshaped(rowShape), {1}, false);

  // 2. rho = rsqrt(var + eps) per row; 3a (private gamma) alongside.
  VarProgram vp = buildVar(dm, params);
  OutProgram op = buildOut(dm, params);
  fx::State st2(*m.var.prog), st3(*m.out.prog);
  fx::setArith(st2, vp.s2, std::move(s2));
  auto varPart = [&](Party &q) -> Proto<int> {
    co_await fx::runStages(q, m.var, st2, 0, 1);
    int T = int(vp.bitInputs.size());
    if (T > 0) {
      // Q = D + A is open: Q - thr_j is compared from D - thr_j + 2^K.
      int cmpBits = varCompareBits(dm, params);
      const RingTensor &dq = st2.masked[vp.q].d;
      std::vector<u64> in(size_t(T) * dm.rows);
      for (int j = params.rsqrt.minExp + 1, t = 0; j < params.rsqrt.maxBits;
           ++j, ++t) {
        double thr = varThreshold(dm, params, j);
        u64 k = (u64(1) << cmpBits) - encodeFixed(thr, f);
        for (int64_t i = 0; i < dm.rows; ++i)
          in[t * dm.rows + i] = dq[i] + k;
      }
      // (Not a braced temporary inside co_await: GCC 12 rejects it.)
      Shape cmpShape(1, int64_t(T) * dm.rows);
      auto both = co_await whenBoth(
          q,
          [&](Party &r) { return fx::runStages(r, m.var, st2, 1, vp.split); },
          [&](Party &r) {
            return lessThanZeroBitsOfPublic(
                r, std::move(in), std::move(cmpShape), m.cmp, cmpBits);
          });
      for (int t = 0; t < T; ++t)
        fx::setBits(st2, vp.bitInputs[t],
                    sliceBits(both.second, t * dm.rows, dm.rows));
    }
    co_await fx::runStages(q, m.var, st2, vp.split, m.var.prog->numStages());
    co_return 0;
  };
  if (params.affine == Affine::Private) {
    fx::setArith(st3, op.yg,
                 privateGain(p, fx::viewOf(st1, cp.y), gamma, m, shape));
    auto gainPart = [&](Party &q) -> Proto<int> {
      co_await fx::runStages(q, m.out, st3, 0, op.split);
      co_return 0;
    };
    co_await whenBoth(p, gainPart, varPart);
    fx::setPublic(st3, op.betaSlot,
                  p.id() == 0 && beta ? betaAt(beta, params.betaFrac,
                                               f + rhoFrac(params), shape)
                                      : RingTensor(Shape{dm.n}));
  } else {
    co_await varPart(p);
    fx::setMasked(st3, op.y, fx::viewOf(st1, cp.y));
    if (params.affine == Affine::Public) {
      assert(gamma && beta && "public affine needs gamma and beta");
      fx::setPublic(st3, op.gammaSlot,
                    broadcastTo(*gamma, shape).reshaped(Shape{dm.n}));
      fx::setPublic(st3, op.betaSlot,
                    betaAt(beta, params.betaFrac,
                           f + rhoFrac(params) + params.gammaFrac, shape));
    }
  }

  // 3. out = y rho (gamma) + beta.
  fx::setMasked(
      st3, op.rho,
      fx::broadcastView(fx::viewOf(st2, vp.rho), {dm.rows, 1}, rowShape));
  co_await fx::runStages(p, m.out, st3, op.split, m.out.prog->numStages());
  co_return st3.share[op.out].reshaped(shape);
}

Cost layerNormCost(llvm::ArrayRef<int64_t> shape, const LayerNormParams &p) {
  Dims dm = dimsOf(shape);
  if (dm.n == 0)
    return Cost();
  CentreProgram cp = buildCentre(dm, p);
  VarProgram vp = buildVar(dm, p);
  OutProgram op = buildOut(dm, p);
  const fx::Program &vg = *vp.prog, &og = *op.prog;
  Cost c = fx::programCost(*cp.prog);
  Cost var = fx::materialCost(vg);
  var.then(fx::stagesCost(vg, 0, 1));
  if (!vp.bitInputs.empty()) {
    Cost head = fx::stagesCost(vg, 1, vp.split);
    head.alongside(
        lessThanZeroBitsOfPublicCost(int64_t(vp.bitInputs.size()) * dm.rows,
                                     varCompareBits(dm, p), kVarTree));
    var.then(head);
  }
  var.then(fx::stagesCost(vg, vp.split, vg.numStages()));
  if (p.affine == Affine::Private) {
    Cost gain = fx::stagesCost(og, 0, op.split);
    gain.dealerBytes1 += 2 * wordBytes(uint64_t(dm.n)); // A_j B
    var.alongside(gain);
  }
  c.then(var);
  c.then(fx::materialCost(og));
  c.then(fx::stagesCost(og, op.split, og.numStages()));
  return c;
}

RingTensor simulateLayerNorm(RingTensor x, const LayerNormParams &params,
                             const RingTensor *gamma, const RingTensor *beta) {
  Shape shape = x.shape();
  Dims dm = dimsOf(shape);
  if (dm.n == 0)
    return x;
  int f = params.frac;
  Shape rowShape{dm.rows, dm.len};

  CentreProgram cp = buildCentre(dm, params);
  fx::Clear s1(*cp.prog);
  RingTensor xr = x.reshaped(rowShape);
  RingTensor sum = reduceSum(xr, {1}, true);
  s1.val[cp.cx] =
      subBroadcast(mulScalar(xr, u64(dm.len)), sum).reshaped(Shape{dm.n});
  fx::simulateProgram(*cp.prog, s1);

  VarProgram vp = buildVar(dm, params);
  fx::Clear s2(*vp.prog);
  s2.val[vp.s2] = reduceSum(s1.val[cp.sq].reshaped(rowShape), {1}, false);
  fx::simulateStages(*vp.prog, s2, 0, 1);
  for (int j = params.rsqrt.minExp + 1, t = 0; t < int(vp.bitInputs.size());
       ++j, ++t) {
    double thr = varThreshold(dm, params, j);
    s2.val[vp.bitInputs[t]] = clearLess(s2.val[vp.q], encodeFixed(thr, f));
  }
  fx::simulateStages(*vp.prog, s2, 1, vp.prog->numStages());

  OutProgram op = buildOut(dm, params);
  fx::Clear s3(*op.prog);
  const RingTensor &y = s1.val[cp.y];
  switch (params.affine) {
  case Affine::None:
    s3.val[op.y] = y;
    break;
  case Affine::Public:
    assert(gamma && beta && "public affine needs gamma and beta");
    s3.val[op.y] = y;
    s3.publics[op.gammaSlot] = broadcastTo(*gamma, shape).reshaped({dm.n});
    s3.publics[op.betaSlot] = betaAt(
        beta, params.betaFrac, f + rhoFrac(params) + params.gammaFrac, shape);
    break;
  case Affine::Private:
    assert(gamma && "private affine needs gamma");
    s3.val[op.yg] =
        mul(y.reshaped(shape), broadcastTo(*gamma, shape)).reshaped({dm.n});
    s3.publics[op.betaSlot] =
        beta ? betaAt(beta, params.betaFrac, f + rhoFrac(params), shape)
             : RingTensor(Shape{dm.n});
    break;
  }
  s3.val[op.rho] = broadcastTo(s2.val[vp.rho].reshaped({dm.rows, 1}), rowShape)
                       .reshaped({dm.n});
  fx::simulateProgram(*op.prog, s3);
  return s3.val[op.out].reshaped(shape);
}

} // namespace mpc::rt
