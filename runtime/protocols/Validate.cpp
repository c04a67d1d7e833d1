//===- runtime/protocols/Validate.cpp - Checks of nonlinear parameters ----===//
//
// The parameter ranges the nonlinear protocols support, as errors rather
// than the builders' assertions: a plan file is user input. Each condition
// mirrors an invariant asserted in Poly/Exp/Reciprocal/Activations/Softmax/
// LayerNorm.cpp; the magnitudes are those of FxProgram.h (a value truncated
// at scale s must stay below 2^61).
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/NonlinearBuild.h"

#include "support/Diag.h"

#include <cmath>

namespace mpc::rt {

using namespace nl;

namespace {

llvm::Error checkFrac(int frac, const char *op) {
  if (frac < 8 || frac > 20)
    return mpc::error("{}: frac {} outside [8, 20]", op, frac);
  return llvm::Error::success();
}

/// The normalisation shared by Goldschmidt and the normalised rsqrt.
llvm::Error checkBuckets(int frac, int lo, int hi, const char *op) {
  if (lo >= hi)
    return mpc::error("{}: minExp {} must be below maxBits {}", op, lo, hi);
  if (hi > 40 || lo < -40)
    return mpc::error("{}: domain [2^{}, 2^{}) too wide", op, lo, hi);
  if (hi + frac + 1 > kMaxCompareBits)
    return mpc::error("{}: maxBits {} too large for frac {}", op, hi, frac);
  if (frac + std::max(hi, 1) > kSafeBits)
    return mpc::error("{}: maxBits {} leaves no room to normalise", op, hi);
  return llvm::Error::success();
}

/// An error unless \p a is an entry of \p kind.
llvm::Error checkKind(Approximation a, ApproxKind kind) {
  if (approxInfo(a).kind == kind)
    return llvm::Error::success();
  return mpc::error("{}: '{}' is not a {} approximation",
                    approxKindName(kind).str(), approxInfo(a).name,
                    approxKindName(kind).str());
}

} // namespace

llvm::Error validatePoly(llvm::ArrayRef<int64_t> shape, const PolyParams &p) {
  if (auto e = checkFrac(p.frac, "poly"))
    return e;
  if (p.coeffs.empty() || p.coeffs.size() > 19)
    return mpc::error("poly: {} coefficients (1..19 supported)",
                      p.coeffs.size());
  for (double c : p.coeffs)
    if (!std::isfinite(c))
      return mpc::error("poly: a coefficient is not finite");
  if (!(p.bound > 0) || !std::isfinite(p.bound))
    return mpc::error("poly: bound must be positive");
  int degree = int(p.coeffs.size()) - 1;
  double log2B = std::log2(std::max(p.bound, 1.0));
  if (degree * log2B + 2 * p.frac > kSafeBits - 1)
    return mpc::error("poly: x^{} at |x| <= {} overflows the ring", degree,
                      p.bound);
  if (log2Ceil(polyMagnitude(p.coeffs, p.bound)) > kSafeBits - 1 - 3 * p.frac)
    return mpc::error("poly: |p(x)| may exceed 2^{} on |x| <= {}",
                      kSafeBits - 1 - 3 * p.frac, p.bound);
  return llvm::Error::success();
}

llvm::Error validateExp(const ExpParams &p) {
  if (auto e = checkFrac(p.frac, "exp"))
    return e;
  if (p.iters < 1 || p.iters > 20)
    return mpc::error("exp: iters {} outside [1, 20]", p.iters);
  if (p.order != 1 && p.order != 2)
    return mpc::error("exp: order {} (1 or 2)", p.order);
  if (p.cubes < 0 || p.cubes > p.iters)
    return mpc::error("exp: cubes {} outside [0, iters = {}]", p.cubes,
                      p.iters);
  if (p.fitted && (p.order != 2 || p.maxInput > 0))
    return mpc::error("exp: the fitted base needs order 2 and maxInput <= 0");
  if (!std::isfinite(p.maxInput) ||
      expWorkFrac(p, p.cubes > 0 ? 3 : 2) < p.frac)
    return mpc::error("exp: maxInput {} leaves no working precision",
                      p.maxInput);
  if (p.cubes == 0 && !p.fitted) {
    if (p.order == 2 && 2 * (p.frac + p.iters) + 1 > kSafeBits)
      return mpc::error("exp: order 2 needs frac + iters <= 30");
  } else if (expBaseScale(p) - p.order * p.frac - std::log2(expRadix(p)) < 14) {
    // The base's top coefficient is encoded with fewer than ~14 bits
    // relative to its term: its rounding would show in the result.
    return mpc::error("exp: base 1/{} too fine for frac {} (order {})",
                      expRadix(p), p.frac, p.order);
  }
  return llvm::Error::success();
}

llvm::Error validateReciprocal(const ReciprocalParams &p) {
  if (auto e = checkFrac(p.frac, "reciprocal"))
    return e;
  if (auto e = checkKind(p.approx, ApproxKind::Reciprocal))
    return e;
  // The entry's name, not its method: newton and secformer share a limit.
  const std::string &name = approxInfo(p.approx).name;
  if (!normalizes(p.approx)) {
    if (p.iters < 1 || p.iters > 30)
      return mpc::error("{}: iters {} outside [1, 30]", name, p.iters);
    return llvm::Error::success();
  }
  if (p.iters < 1 || p.iters > 8)
    return mpc::error("{}: iters {} outside [1, 8]", name, p.iters);
  if (auto e = checkBuckets(p.frac, p.minExp, p.maxBits, "reciprocal"))
    return e;
  if (-p.minExp + p.frac + std::max(p.maxBits, 1) > kSafeBits - 1)
    return mpc::error("reciprocal: 1/x up to 2^{} does not fit", -p.minExp);
  return llvm::Error::success();
}

llvm::Error validateRsqrt(const RsqrtParams &p) {
  if (auto e = checkFrac(p.frac, "rsqrt"))
    return e;
  if (auto e = checkKind(p.approx, ApproxKind::Rsqrt))
    return e;
  if (!normalizes(p.approx)) {
    if (p.iters < 1 || p.iters > 10)
      return mpc::error("rsqrt: Newton iters {} outside [1, 10]", p.iters);
    return llvm::Error::success();
  }
  // rsqrt.normalized's cubic guess needs a Newton step; SPU's quartic
  // takes any; its quadratic is fused with the output (none).
  int minIters = p.approx == Approximation::RsqrtNormalized ? 1 : 0;
  int maxIters = p.approx == Approximation::RsqrtSpulow ? 0 : 4;
  if (p.iters < minIters || p.iters > maxIters)
    return mpc::error("{}: Newton steps {} outside [{}, {}]",
                      approxInfo(p.approx).name, p.iters, minIters, maxIters);
  if (auto e = checkBuckets(p.frac, p.minExp, p.maxBits, "rsqrt"))
    return e;
  int fs = std::min(30, kSafeBits - 2 - 2 * p.frac -
                            (std::max(0, -p.minExp) + 1) / 2);
  if (fs < p.frac)
    return mpc::error("rsqrt: minExp {} too small for frac {}", p.minExp,
                      p.frac);
  return llvm::Error::success();
}

llvm::Error validateGelu(const GeluParams &p) {
  if (auto e = checkFrac(p.frac, "gelu"))
    return e;
  if (auto e = checkKind(p.approx, ApproxKind::Gelu))
    return e;
  return validateGeluForm(p);
}

llvm::Error validateTanh(const TanhParams &p) {
  if (auto e = checkFrac(p.frac, "tanh"))
    return e;
  if (auto e = checkKind(p.approx, ApproxKind::Tanh))
    return e;
  if (p.compareBits < p.frac + 4 || p.compareBits > kMaxCompareBits)
    return mpc::error("tanh: compareBits {} outside [frac + 4, {}]",
                      p.compareBits, kMaxCompareBits);
  return validateTanhForm(p);
}

llvm::Error validateSoftmax(llvm::ArrayRef<int64_t> shape,
                            const SoftmaxParams &p) {
  if (auto e = checkFrac(p.frac, "softmax"))
    return e;
  if (auto e = checkKind(p.approx, ApproxKind::Softmax))
    return e;
  bool quad = !softmaxUsesExp(p.approx);
  int64_t len = shape.empty() ? 1 : shape.back();
  ReciprocalParams rp = softmaxRecip(p, len);
  if (!quad) {
    ExpParams ep = softmaxExp(p);
    if (auto e = validateExp(ep))
      return mpc::addContext(std::move(e), "softmax: ");
    if (p.inputBits < p.frac + 5 || p.inputBits > kSoftmaxMaxInputBits)
      return mpc::error("softmax: inputBits {} outside [frac + 5, {}]",
                        p.inputBits, kSoftmaxMaxInputBits);
    if (!(p.clipBelow < 0) || p.clipBelow < -expRadix(ep))
      return mpc::error("softmax: clipBelow {} outside [-{}, 0) (exp's "
                        "2^(iters - cubes) 3^cubes)",
                        p.clipBelow, expRadix(ep));
    if (len >= (int64_t(1) << 30))
      return mpc::error("softmax: rows of {} elements", len);
    // A reciprocal without normalisation has a fixed domain, and the row
    // sums reach len.
    const ApproxInfo &recip = approxInfo(rp.approx);
    if (!normalizes(rp.approx) && double(len) > recip.hi)
      return mpc::error("softmax: rows of {} elements: {}'s row sums reach "
                        "{}, beyond {}'s domain [{}, {}]",
                        len, approxInfo(p.approx).name, len, recip.name,
                        recip.lo, recip.hi);
  }
  if (auto e = validateReciprocal(rp))
    return mpc::addContext(std::move(e), "softmax: ");
  // A deflated division (softmax.secformer) reads 1/s k bits finer than
  // its iterations: the final product must fit.
  if (int k = softmaxDeflateBits(p, len); k > kSoftmaxMaxDeflateBits)
    return mpc::error("softmax: rows of {} elements with c = {}: {} deflates "
                      "the row sums by 2^{}, beyond 2^{}",
                      len, p.quadC, approxInfo(p.approx).name, k,
                      kSoftmaxMaxDeflateBits);
  // q = 1/s is kept at frac + maxBits: the final product and the folded
  // un-normalisation must fit.
  if (2 * p.frac + rp.maxBits > kSafeBits - 1 ||
      -rp.minExp + 2 * p.frac + std::max(rp.maxBits, 1) > kSafeBits - 1)
    return mpc::error("softmax: recip domain [2^{}, 2^{}) too wide", rp.minExp,
                      rp.maxBits);
  return llvm::Error::success();
}

llvm::Error validateLayerNorm(llvm::ArrayRef<int64_t> shape,
                              const LayerNormParams &p) {
  if (auto e = checkFrac(p.frac, "layernorm"))
    return e;
  int64_t d = shape.empty() ? 1 : shape.back();
  if (d < 1 || d > (int64_t(1) << 20))
    return mpc::error("layernorm: last axis of {} elements", d);
  if (!(p.eps >= 0) || p.eps > 1)
    return mpc::error("layernorm: eps {} outside [0, 1]", p.eps);
  int fd = std::min(40, kSafeBits - 1 - p.frac - p.inputBits);
  if (p.inputBits < 1 || fd < log2Ceil(double(d)) + 16)
    return mpc::error("layernorm: inputBits {} too large for d = {}",
                      p.inputBits, d);
  RsqrtParams rs = p.rsqrt;
  rs.frac = p.frac;
  if (auto e = validateRsqrt(rs))
    return mpc::addContext(std::move(e), "layernorm: ");
  if (normalizes(rs.approx)) {
    int ft = std::max(rs.maxBits, 1);
    // The variance tests run against the variance sum's truncation mask,
    // whose two candidates agree on the compared bits only when
    // frac + compare bits <= 63 (LayerNorm.cpp).
    int cmpBits = log2Ceil(double(d)) + rs.maxBits + p.frac + 1;
    if (cmpBits > kMaxCompareBits || p.frac + cmpBits > 63 ||
        kSafeBits - p.frac - ft < log2Ceil(double(d)) + 16)
      return mpc::error("layernorm: variance range 2^{} too wide for d = {}",
                        rs.maxBits, d);
  }
  if (p.affine == LayerNormParams::Private && p.gammaWeightId < 0)
    return mpc::error("layernorm: a private gamma needs a weight id");
  // A private gain's product y * gamma is truncated by gammaFrac before
  // the output's truncation (LayerNorm.cpp): that truncation needs a bit.
  if (p.affine == LayerNormParams::Private && p.gammaFrac < 1)
    return mpc::error("layernorm: a private gamma needs 1..24 fractional "
                      "bits, the plan gives {}",
                      p.gammaFrac);
  if (p.gammaFrac < 0 || p.gammaFrac > 24 || p.betaFrac < 0 ||
      p.betaFrac > 2 * p.frac)
    return mpc::error("layernorm: gammaFrac {} / betaFrac {} out of range",
                      p.gammaFrac, p.betaFrac);
  return llvm::Error::success();
}

} // namespace mpc::rt
