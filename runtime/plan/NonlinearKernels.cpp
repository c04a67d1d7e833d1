//===- runtime/plan/NonlinearKernels.cpp - Comparisons and approximations -===//
//
// The interactive non-linear kernels: relu and max (Compare.h), and gelu,
// softmax, layernorm, tanh, exp, reciprocal and rsqrt (Nonlinear.h). Each
// turns its attributes into the protocol's parameter struct (the output's
// frac is the input's), checks the attributes' kinds and choices, then the
// parameters with the protocol's own validate*() (Nonlinear.h: deal, run
// and cost assert on unsupported combinations, so no plan may reach them),
// and wraps deal / run / cost. Attribute names and defaults are documented
// in Kernels.def.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/KernelUtil.h"
#include "runtime/protocols/Compare.h"
#include "runtime/protocols/Nonlinear.h"

#include <cmath>

using namespace mpc;
using namespace mpc::rt;

namespace {

/// Attaches the op to a protocol validator's error.
llvm::Error validated(const OpDesc &op, llvm::Error e) {
  if (!e)
    return e;
  return opError(op, "{}", llvm::toString(std::move(e)));
}

std::vector<RingTensor> one(RingTensor t) {
  std::vector<RingTensor> v;
  v.push_back(std::move(t));
  return v;
}

/// The approximation the attribute `approx` names (the kind's default
/// when absent); check() has rejected unknown names.
Approximation approxOf(const OpDesc &op, ApproxKind kind) {
  return findApprox(kind, op.attrStr("approx")).value_or(defaultApprox(kind));
}

/// Rejects an `approx` that is not an entry of \p kind.
llvm::Error checkApprox(const OpDesc &op, ApproxKind kind) {
  if (!op.hasAttr("approx"))
    return llvm::Error::success();
  llvm::Expected<Approximation> a = parseApprox(kind, op.attrStr("approx"));
  if (!a)
    return validated(op, a.takeError());
  return llvm::Error::success();
}

/// x secret (shared or private, share form), output shared of shape
/// \p outShape (x's when empty) at x's frac minus \p fracDrop, a
/// fixed-point input.
llvm::Error checkSecretMap(const OpDesc &op, size_t nin,
                           llvm::ArrayRef<AttrSpec> attrs,
                           std::optional<Shape> outShape = std::nullopt,
                           int fracDrop = 0) {
  if (llvm::Error e = checkArity(op, nin, 1))
    return e;
  if (llvm::Error e = checkAttrs(op, attrs))
    return e;
  const ValueDesc &x = *op.in[0], &y = *op.out[0];
  if (llvm::Error e = checkSecret(op, x, inName(0)))
    return e;
  if (llvm::Error e = checkVis(op, y, {Vis::Shared}, outName(0)))
    return e;
  if (llvm::Error e =
          checkShape(op, y, outShape ? *outShape : x.shape, outName(0)))
    return e;
  return checkFrac(op, y, x.frac - fracDrop, outName(0));
}

llvm::Error checkNonlinearFrac(const OpDesc &op) {
  return checkFixed(op, *op.in[0], inName(0));
}

/// Kernels that reduce over the last axis (max, softmax, layernorm).
llvm::Error checkLastAxis(const OpDesc &op, const Shape &x) {
  if (x.empty() || x.back() < 1)
    return opError(op, "input must have rank >= 1 and a non-empty last "
                       "axis");
  return llvm::Error::success();
}

/// Helper for the element-wise approximations: params from attributes,
/// then deal / run / cost through the protocol's functions.
template <typename Params, typename Mat> struct ApproxFns {
  using DealFn = Mat (*)(Corr &, llvm::ArrayRef<int64_t>, const Params &);
  using RunFn = Proto<RingTensor> (*)(Party &, RingTensor, const Params &,
                                      const Mat &);
  using CostFn = Cost (*)(llvm::ArrayRef<int64_t>, const Params &);
};

// --- Comparisons
// ----------------------------------------------------------------

class ReluKernel final : public Kernel {
public:
  static int bits(const OpDesc &op) {
    return int(op.attrInt("bits", kFullCompareBits));
  }
  llvm::Error check(const OpDesc &op) const override {
    return checkSecretMap(
        op, 1, {{"bits", AttrKind::Int, false, 1, kFullCompareBits}});
  }
  Cost cost(const OpDesc &op) const override {
    return reluCost(op.in[0]->numElements(), bits(op));
  }
  std::any deal(Corr &c, const OpDesc &op, Session &s) const override {
    return dealRelu(c, op.in[0]->shape, bits(op));
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    RingTensor y = co_await relu(p, shareForm(*op.in[0], *in[0], p.id()),
                                 std::any_cast<const ReluMat &>(m), bits(op));
    co_return one(std::move(y));
  }
};

class MaxKernel final : public Kernel {
public:
  static int bits(const OpDesc &op) {
    return int(op.attrInt("bits", kFullCompareBits));
  }
  llvm::Error check(const OpDesc &op) const override {
    const Shape &x = op.in.empty() ? Shape() : op.in[0]->shape;
    if (llvm::Error e = checkLastAxis(op, x))
      return e;
    Shape out = x;
    out.back() = 1;
    return checkSecretMap(
        op, 1, {{"bits", AttrKind::Int, false, 1, kMaxCompareBits - 1}}, out);
  }
  Cost cost(const OpDesc &op) const override {
    return maxCost(op.in[0]->shape, bits(op));
  }
  std::any deal(Corr &c, const OpDesc &op, Session &s) const override {
    return dealMax(c, op.in[0]->shape, bits(op));
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    RingTensor y =
        co_await maxLastAxis(p, shareForm(*op.in[0], *in[0], p.id()),
                             std::any_cast<const MaxMat &>(m), bits(op));
    co_return one(std::move(y));
  }
};

// --- Element-wise approximations
// ---------------------------------------------------

/// An element-wise approximation f(x) with parameters from attributes.
template <typename Params, typename Mat> class ApproxKernel : public Kernel {
public:
  using A = ApproxFns<Params, Mat>;
  ApproxKernel(ApproxKind kind, std::vector<AttrSpec> attrs,
               typename A::DealFn deal, typename A::RunFn run,
               typename A::CostFn cost)
      : kind_(kind), attrs_(std::move(attrs)), deal_(deal), run_(run),
        cost_(cost) {
    attrs_.push_back(kExactTruncAttr);
  }
  /// Its programs truncate (FxProgram.h): exact with `exact`.
  bool truncates() const override { return true; }
  llvm::Error check(const OpDesc &op) const override {
    // The attributes first: the frac check below reads trunc_bits.
    if (llvm::Error e = checkAttrs(op, attrs_))
      return e;
    if (llvm::Error e = checkSecretMap(op, 1, attrs_, std::nullopt,
                                       int(inputTruncBits(op))))
      return e;
    if (llvm::Error e = checkNonlinearFrac(op))
      return e;
    if (llvm::Error e = checkApprox(op, kind_))
      return e;
    return checkParams(op, params(op));
  }
  Cost cost(const OpDesc &op) const override {
    return cost_(op.in[0]->shape, params(op));
  }
  std::any deal(Corr &c, const OpDesc &op, Session &s) const override {
    return deal_(c, op.in[0]->shape, params(op));
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    Params prm = params(op);
    RingTensor y = co_await run_(p, shareForm(*op.in[0], *in[0], p.id()), prm,
                                 std::any_cast<const Mat &>(m));
    co_return one(std::move(y));
  }

protected:
  Approximation approxAttr(const OpDesc &op) const {
    return approxOf(op, kind_);
  }
  virtual Params params(const OpDesc &op) const = 0;
  /// Bits the kernel truncates its input by first (the input is at the
  /// output's frac plus these); 0 by default.
  virtual int64_t inputTruncBits(const OpDesc &op) const { return 0; }
  virtual llvm::Error checkParams(const OpDesc &op, const Params &p) const {
    return llvm::Error::success();
  }

private:
  ApproxKind kind_;
  std::vector<AttrSpec> attrs_;
  typename A::DealFn deal_;
  typename A::RunFn run_;
  typename A::CostFn cost_;
};

class GeluKernel final : public ApproxKernel<GeluParams, GeluMat> {
public:
  GeluKernel()
      : ApproxKernel(
            ApproxKind::Gelu,
            {{"approx", AttrKind::Str},
             {"compare_bits", AttrKind::Int},
             {"trunc_bits", AttrKind::Int, false, 0, kGeluMaxInputTruncBits}},
            dealGelu, gelu, geluCost) {}

  /// GeLU truncates its input first, in its input ring (Narrow.h).
  OperandRing operandRing(RingAttrFn attr) const override {
    if (attr("trunc_bits", 0) <= 0)
      return {};
    return {OperandRing::Reads,
            geluInputRingBits(int(attr("compare_bits", kFullCompareBits)),
                              int(attr("trunc_bits", 0)))};
  }

protected:
  int64_t inputTruncBits(const OpDesc &op) const override {
    return op.attrInt("trunc_bits", 0);
  }
  GeluParams params(const OpDesc &op) const override {
    GeluParams p;
    p.approx = approxAttr(op);
    p.frac = op.out[0]->frac;
    p.compareBits = int(op.attrInt("compare_bits", kFullCompareBits));
    p.inputTruncBits = int(inputTruncBits(op));
    p.exact = exactTrunc(op);
    return p;
  }
  llvm::Error checkParams(const OpDesc &op,
                          const GeluParams &p) const override {
    return validated(op, validateGelu(p));
  }
};

class TanhKernel final : public ApproxKernel<TanhParams, TanhMat> {
public:
  TanhKernel()
      : ApproxKernel(
            ApproxKind::Tanh,
            {{"approx", AttrKind::Str}, {"compare_bits", AttrKind::Int}},
            dealTanh, tanhApprox, tanhCost) {}

protected:
  TanhParams params(const OpDesc &op) const override {
    TanhParams p;
    p.approx = approxAttr(op);
    p.frac = op.in[0]->frac;
    p.compareBits = int(op.attrInt("compare_bits", kFullCompareBits));
    p.exact = exactTrunc(op);
    return p;
  }
  llvm::Error checkParams(const OpDesc &op,
                          const TanhParams &p) const override {
    return validated(op, validateTanh(p));
  }
};

class ExpKernel final : public ApproxKernel<ExpParams, ExpMat> {
public:
  ExpKernel()
      : ApproxKernel(ApproxKind::Exp,
                     {{"approx", AttrKind::Str},
                      {"iters", AttrKind::Int},
                      {"max_input", AttrKind::Float},
                      {"order", AttrKind::Int},
                      {"cubes", AttrKind::Int, false, 0, 20},
                      {"fitted", AttrKind::Int, false, 0, 1}},
                     dealExp, expApprox, expCost) {}

protected:
  ExpParams params(const OpDesc &op) const override {
    ExpParams p = expParams(approxAttr(op));
    p.iters = int(op.attrInt("iters", p.iters));
    p.frac = op.in[0]->frac;
    p.maxInput = op.attrFloat("max_input", p.maxInput);
    p.order = int(op.attrInt("order", p.order));
    p.cubes = int(op.attrInt("cubes", p.cubes));
    p.fitted = op.attrInt("fitted", p.fitted ? 1 : 0) != 0;
    p.exact = exactTrunc(op);
    return p;
  }
  llvm::Error checkParams(const OpDesc &op, const ExpParams &p) const override {
    if (!(p.maxInput >= 0 && p.maxInput <= 64))
      return opError(op, "attribute 'max_input' is {}; expected 0..64",
                     p.maxInput);
    return validated(op, validateExp(p));
  }
};

class ReciprocalKernel final
    : public ApproxKernel<ReciprocalParams, ReciprocalMat> {
public:
  ReciprocalKernel()
      : ApproxKernel(ApproxKind::Reciprocal,
                     {{"approx", AttrKind::Str},
                      {"iters", AttrKind::Int},
                      {"max_bits", AttrKind::Int},
                      {"min_exp", AttrKind::Int}},
                     dealReciprocal, reciprocal, reciprocalCost) {}

protected:
  ReciprocalParams params(const OpDesc &op) const override {
    ReciprocalParams p;
    p.approx = approxAttr(op);
    p.iters = int(op.attrInt("iters", reciprocalIters(p.approx)));
    p.maxBits = int(op.attrInt("max_bits", 16));
    p.minExp = int(op.attrInt("min_exp", -12));
    p.frac = op.in[0]->frac;
    p.exact = exactTrunc(op);
    return p;
  }
  llvm::Error checkParams(const OpDesc &op,
                          const ReciprocalParams &p) const override {
    return validated(op, validateReciprocal(p));
  }
};

class RsqrtKernel final : public ApproxKernel<RsqrtParams, RsqrtMat> {
public:
  RsqrtKernel()
      : ApproxKernel(ApproxKind::Rsqrt,
                     {{"approx", AttrKind::Str},
                      {"iters", AttrKind::Int},
                      {"max_bits", AttrKind::Int},
                      {"min_exp", AttrKind::Int}},
                     dealRsqrt, rsqrt, rsqrtCost) {}

protected:
  RsqrtParams params(const OpDesc &op) const override {
    RsqrtParams p;
    p.approx = approxAttr(op);
    p.iters = int(op.attrInt("iters", rsqrtIters(p.approx)));
    p.maxBits = int(op.attrInt("max_bits", 16));
    p.minExp = int(op.attrInt("min_exp", -12));
    p.frac = op.in[0]->frac;
    p.exact = exactTrunc(op);
    return p;
  }
  llvm::Error checkParams(const OpDesc &op,
                          const RsqrtParams &p) const override {
    return validated(op, validateRsqrt(p));
  }
};

// --- Softmax and LayerNorm
// ---------------------------------------------------------

class SoftmaxKernel final : public Kernel {
public:
  static SoftmaxParams params(const OpDesc &op) {
    SoftmaxParams p;
    p.approx = approxOf(op, ApproxKind::Softmax);
    p.frac = op.in[0]->frac;
    p.clipBelow = op.attrFloat("clip", p.clipBelow);
    p.exp.iters = int(op.attrInt("exp_iters", p.exp.iters));
    p.exp.order = int(op.attrInt("exp_order", p.exp.order));
    p.exp.cubes = int(op.attrInt("exp_cubes", p.exp.cubes));
    p.exp.fitted = op.attrInt("exp_fitted", p.exp.fitted ? 1 : 0) != 0;
    p.exp.frac = p.frac;
    p.recip.iters = int(op.attrInt("recip_iters", p.recip.iters));
    p.recip.maxBits = int(op.attrInt("recip_max_bits", p.recip.maxBits));
    p.recip.minExp = int(op.attrInt("recip_min_exp", p.recip.minExp));
    p.recip.frac = p.frac;
    p.quadC = op.attrFloat("c", p.quadC);
    p.inputBits = int(op.attrInt("input_bits", p.inputBits));
    p.exact = exactTrunc(op);
    return p;
  }
  /// Its programs truncate (FxProgram.h): exact with `exact`.
  bool truncates() const override { return true; }
  llvm::Error check(const OpDesc &op) const override {
    if (op.in.size() != 1 && op.in.size() != 2)
      return opError(op,
                     "takes x and an optional 0/1 mask, the plan gives "
                     "{} inputs",
                     op.in.size());
    if (llvm::Error e =
            checkSecretMap(op, op.in.size(),
                           {{"approx", AttrKind::Str},
                            {"clip", AttrKind::Float},
                            {"exp_iters", AttrKind::Int},
                            {"exp_order", AttrKind::Int},
                            {"exp_cubes", AttrKind::Int, false, 0, 20},
                            {"exp_fitted", AttrKind::Int, false, 0, 1},
                            {"recip_iters", AttrKind::Int},
                            {"recip_max_bits", AttrKind::Int},
                            {"recip_min_exp", AttrKind::Int},
                            {"c", AttrKind::Float},
                            {"input_bits", AttrKind::Int},
                            kExactTruncAttr}))
      return e;
    if (llvm::Error e = checkNonlinearFrac(op))
      return e;
    const Shape &x = op.in[0]->shape;
    if (llvm::Error e = checkLastAxis(op, x))
      return e;
    if (llvm::Error e = checkApprox(op, ApproxKind::Softmax))
      return e;
    SoftmaxParams p = params(op);
    if (op.in.size() == 2) {
      const ValueDesc &mask = *op.in[1];
      if (softmaxUsesExp(p.approx))
        return opError(op, "a mask input is only taken by form '2quad' (the "
                           "exact form takes the additive bias)");
      if (llvm::Error e = checkVis(op, mask, {Vis::Public}, inName(1)))
        return e;
      if (!mask.isInt || !broadcastsTo(mask.shape, x))
        return opError(op,
                       "{} ({}) must be a 0/1 integer mask that "
                       "broadcasts to {}",
                       inName(1), mask.describe(), shapeString(x));
    }
    if (!(p.clipBelow < 0 && p.clipBelow >= -64))
      return opError(op, "attribute 'clip' is {}; expected -64..0",
                     p.clipBelow);
    if (!std::isfinite(p.quadC))
      return opError(op, "attribute 'c' is not finite");
    return validated(op, validateSoftmax(x, p));
  }
  Cost cost(const OpDesc &op) const override {
    return softmaxCost(op.in[0]->shape, params(op));
  }
  std::any deal(Corr &c, const OpDesc &op, Session &s) const override {
    return dealSoftmax(c, op.in[0]->shape, params(op));
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    SoftmaxParams prm = params(op);
    RingTensor y = co_await softmax(p, shareForm(*op.in[0], *in[0], p.id()),
                                    prm, std::any_cast<const SoftmaxMat &>(m),
                                    in.size() > 1 ? in[1] : nullptr);
    co_return one(std::move(y));
  }
};

class LayerNormKernel final : public Kernel {
public:
  static LayerNormParams params(const OpDesc &op) {
    LayerNormParams p;
    p.eps = op.attrFloat("eps");
    p.frac = op.in[0]->frac;
    p.inputBits = int(op.attrInt("input_bits", p.inputBits));
    p.rsqrt.approx = layerNormRsqrt(approxOf(op, ApproxKind::LayerNorm));
    p.rsqrt.iters = int(op.attrInt("rsqrt_iters", rsqrtIters(p.rsqrt.approx)));
    p.rsqrt.maxBits = int(op.attrInt("max_bits", p.rsqrt.maxBits));
    p.rsqrt.minExp = int(op.attrInt("min_exp", p.rsqrt.minExp));
    p.rsqrt.frac = p.frac;
    if (op.in.size() == 3) {
      p.affine = LayerNormParams::Private;
      p.gammaFrac = op.in[1]->frac;
      p.betaFrac = op.in[2]->frac;
      p.gammaWeightId = op.in[1]->id;
    } else {
      p.affine = LayerNormParams::None;
    }
    p.exact = exactTrunc(op);
    return p;
  }
  /// Its programs truncate (FxProgram.h): exact with `exact`.
  bool truncates() const override { return true; }
  llvm::Error check(const OpDesc &op) const override {
    if (op.in.size() != 1 && op.in.size() != 3)
      return opError(op,
                     "takes x, or x, gamma and beta; the plan gives {} "
                     "inputs",
                     op.in.size());
    if (llvm::Error e =
            checkSecretMap(op, op.in.size(),
                           {{"eps", AttrKind::Float, /*required=*/true},
                            {"approx", AttrKind::Str},
                            {"rsqrt_iters", AttrKind::Int},
                            {"max_bits", AttrKind::Int},
                            {"min_exp", AttrKind::Int},
                            {"input_bits", AttrKind::Int},
                            kExactTruncAttr}))
      return e;
    if (llvm::Error e = checkNonlinearFrac(op))
      return e;
    const Shape &x = op.in[0]->shape;
    if (llvm::Error e = checkLastAxis(op, x))
      return e;
    if (op.in.size() == 3) {
      Shape d{x.back()};
      if (llvm::Error e = checkWeight(op, *op.in[1], inName(1)))
        return e;
      if (llvm::Error e = checkVis(op, *op.in[2], {Vis::Private0}, inName(2)))
        return e;
      for (int i = 1; i < 3; ++i) {
        if (llvm::Error e = checkShape(op, *op.in[i], d, inName(i)))
          return e;
        if (llvm::Error e = checkFixed(op, *op.in[i], inName(i)))
          return e;
      }
    }
    if (llvm::Error e = checkApprox(op, ApproxKind::LayerNorm))
      return e;
    LayerNormParams p = params(op);
    if (!(p.eps > 0 && p.eps < 1))
      return opError(op, "attribute 'eps' is {}; expected (0, 1)", p.eps);
    return validated(op, validateLayerNorm(x, p));
  }
  Cost cost(const OpDesc &op) const override {
    return layerNormCost(op.in[0]->shape, params(op));
  }
  std::vector<const ValueDesc *> setupWeights(const OpDesc &op) const override {
    if (op.in.size() == 3)
      return {op.in[1]};
    return {};
  }
  std::any deal(Corr &c, const OpDesc &op, Session &s) const override {
    return dealLayerNorm(c, op.in[0]->shape, params(op), &s.masks);
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    LayerNormParams prm = params(op);
    bool affine = in.size() == 3 && p.id() == 0;
    RingTensor y =
        co_await layerNorm(p, shareForm(*op.in[0], *in[0], p.id()), prm,
                           std::any_cast<const LayerNormMat &>(m),
                           affine ? in[1] : nullptr, affine ? in[2] : nullptr);
    co_return one(std::move(y));
  }
};

} // namespace

#define MPC_NONLINEAR_KERNEL(Id, Name) MPC_DEFINE_KERNEL(Id, Name)
#include "runtime/plan/Kernels.def"
