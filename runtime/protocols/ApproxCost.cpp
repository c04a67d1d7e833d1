//===- runtime/protocols/ApproxCost.cpp - What an approximation costs -----===//

#include "runtime/protocols/ApproxCost.h"

#include "runtime/protocols/Compare.h"
#include "runtime/protocols/Nonlinear.h"
#include "runtime/protocols/Trunc.h"
#include "support/Diag.h"

using namespace mpc::rt;

namespace {

/// approxParams without exact truncations.
ApproxParams defaultParams(Approximation a, int frac, int rangeBits) {
  // The element-wise kinds compare x with breakpoints at the range's width.
  auto elementwise = [&](auto p) -> ApproxParams {
    p.approx = a;
    p.frac = frac;
    p.compareBits = compareBitsForRange(frac, rangeBits);
    return p;
  };
  switch (approxInfo(a).kind) {
  case ApproxKind::Gelu:
    return elementwise(GeluParams());
  case ApproxKind::Tanh:
    return elementwise(TanhParams());
  case ApproxKind::Softmax: {
    SoftmaxParams p;
    p.approx = a;
    p.frac = frac;
    p.exp.frac = frac;
    p.recip.frac = frac;
    p.inputBits = softmaxInputBits(frac, rangeBits);
    return p;
  }
  case ApproxKind::LayerNorm: {
    LayerNormParams p;
    p.eps = 1e-5;
    p.frac = frac;
    p.rsqrt.approx = layerNormRsqrt(a);
    p.rsqrt.iters = rsqrtIters(p.rsqrt.approx);
    p.rsqrt.frac = frac;
    p.affine = LayerNormParams::Private;
    p.gammaWeightId = 0; // Some weight: neither cost nor checks read it.
    return p;
  }
  case ApproxKind::Exp: {
    ExpParams p = expParams(a);
    p.frac = frac;
    return p;
  }
  case ApproxKind::Reciprocal: {
    ReciprocalParams p;
    p.approx = a;
    p.iters = reciprocalIters(a);
    p.frac = frac;
    return p;
  }
  case ApproxKind::Rsqrt: {
    RsqrtParams p;
    p.approx = a;
    p.iters = rsqrtIters(a);
    p.frac = frac;
    return p;
  }
  }
  llvm_unreachable("ApproxKind covered above");
}

} // namespace

ApproxParams mpc::rt::approxParams(Approximation a, int frac, int rangeBits,
                                   bool exact) {
  ApproxParams p = defaultParams(a, frac, rangeBits);
  std::visit([&](auto &q) { q.exact = exact; }, p);
  return p;
}

namespace {

// Each kind's cost formula and parameter check, by its parameter type.
using Row = llvm::ArrayRef<int64_t>;
Cost rowCost(Row r, const GeluParams &p) { return geluCost(r, p); }
Cost rowCost(Row r, const TanhParams &p) { return tanhCost(r, p); }
Cost rowCost(Row r, const SoftmaxParams &p) { return softmaxCost(r, p); }
Cost rowCost(Row r, const LayerNormParams &p) { return layerNormCost(r, p); }
Cost rowCost(Row r, const ExpParams &p) { return expCost(r, p); }
Cost rowCost(Row r, const ReciprocalParams &p) { return reciprocalCost(r, p); }
Cost rowCost(Row r, const RsqrtParams &p) { return rsqrtCost(r, p); }
llvm::Error rowCheck(Row, const GeluParams &p) { return validateGelu(p); }
llvm::Error rowCheck(Row, const TanhParams &p) { return validateTanh(p); }
llvm::Error rowCheck(Row r, const SoftmaxParams &p) {
  return validateSoftmax(r, p);
}
llvm::Error rowCheck(Row r, const LayerNormParams &p) {
  return validateLayerNorm(r, p);
}
llvm::Error rowCheck(Row, const ExpParams &p) { return validateExp(p); }
llvm::Error rowCheck(Row, const ReciprocalParams &p) {
  return validateReciprocal(p);
}
llvm::Error rowCheck(Row, const RsqrtParams &p) { return validateRsqrt(p); }

const int64_t kRow[] = {1, kApproxCostRow};

} // namespace

Cost mpc::rt::approxRowCost(Approximation a, int frac, int rangeBits) {
  return approxCost(a, frac, rangeBits, kRow);
}

Cost mpc::rt::approxCost(Approximation a, int frac, int rangeBits,
                         llvm::ArrayRef<int64_t> shape, bool exact) {
  return std::visit([&](const auto &p) { return rowCost(shape, p); },
                    approxParams(a, frac, rangeBits, exact));
}

mpc::rt::GeluAfterProductCosts
mpc::rt::geluAfterProductCosts(Approximation a, int frac, int rangeBits,
                               llvm::ArrayRef<int64_t> shape, bool exact) {
  GeluParams p = std::get<GeluParams>(approxParams(a, frac, rangeBits, exact));
  GeluAfterProductCosts c;
  if (geluCompares(a) && geluCanTruncateInput(frac, p.compareBits)) {
    p.inputTruncBits = frac;
    c.gelu = rowCost(shape, p);
    return c;
  }
  int64_t n = numElements(shape);
  int ring = truncRingBits(rangeBits + 2 * frac, frac);
  c.trunc = exact ? truncExactCost(n, frac, ring) : truncCost(n, ring);
  c.gelu = rowCost(shape, p);
  return c;
}

Cost mpc::rt::geluAfterProductCost(Approximation a, int frac, int rangeBits,
                                   llvm::ArrayRef<int64_t> shape, bool exact) {
  GeluAfterProductCosts c =
      geluAfterProductCosts(a, frac, rangeBits, shape, exact);
  return c.trunc.then(c.gelu);
}

llvm::Error mpc::rt::validateApproxRow(Approximation a, int frac, int rangeBits,
                                       bool exact) {
  return validateApprox(a, frac, rangeBits, kRow, exact);
}

llvm::Error mpc::rt::validateApprox(Approximation a, int frac, int rangeBits,
                                    llvm::ArrayRef<int64_t> shape, bool exact) {
  return std::visit([&](const auto &p) { return rowCheck(shape, p); },
                    approxParams(a, frac, rangeBits, exact));
}

namespace {

// Each kind's simulation on encoded inputs, by its parameter type.
using Ops = ApproxOperands;
int inFrac(const GeluParams &p) { return p.frac + p.inputTruncBits; }
template <typename P> int inFrac(const P &p) { return p.frac; }
RingTensor simulate(RingTensor x, const GeluParams &p, const Ops &) {
  return simulateGelu(std::move(x), p);
}
RingTensor simulate(RingTensor x, const TanhParams &p, const Ops &) {
  return simulateTanh(std::move(x), p);
}
RingTensor simulate(RingTensor x, const ExpParams &p, const Ops &) {
  return simulateExp(std::move(x), p);
}
RingTensor simulate(RingTensor x, const ReciprocalParams &p, const Ops &) {
  return simulateReciprocal(std::move(x), p);
}
RingTensor simulate(RingTensor x, const RsqrtParams &p, const Ops &) {
  return simulateRsqrt(std::move(x), p);
}
RingTensor simulate(RingTensor x, const SoftmaxParams &p, const Ops &o) {
  if (o.mask.empty())
    return simulateSoftmax(std::move(x), p);
  // 0/1 ring integers, not fixed point.
  RingTensor mask = encodeTensor(o.mask, o.maskShape, 0);
  return simulateSoftmax(std::move(x), p, &mask);
}
RingTensor simulate(RingTensor x, const LayerNormParams &p, const Ops &o) {
  LayerNormParams q = p;
  int64_t d = x.shape().empty() ? 1 : x.shape().back();
  bool affine = !o.gamma.empty();
  if (!affine)
    q.affine = LayerNormParams::None;
  else if (q.affine == LayerNormParams::None)
    q.affine = LayerNormParams::Public;
  RingTensor gamma, beta;
  if (affine) {
    gamma = encodeTensor(o.gamma, {d}, q.gammaFrac);
    std::vector<double> zeros(size_t(d), 0.0);
    beta = encodeTensor(o.beta.empty() ? zeros : o.beta, {d}, q.betaFrac);
  }
  return simulateLayerNorm(std::move(x), q, affine ? &gamma : nullptr,
                           affine ? &beta : nullptr);
}

/// Numpy's rule: \p from broadcasts to \p to.
bool broadcasts(llvm::ArrayRef<int64_t> from, llvm::ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  for (size_t i = 1; i <= from.size(); ++i) {
    int64_t a = from[from.size() - i], b = to[to.size() - i];
    if (a != b && a != 1)
      return false;
  }
  return true;
}

/// Whether the operands fit the input of \p shape.
llvm::Error checkOperands(const Ops &o, llvm::ArrayRef<int64_t> shape) {
  int64_t d = shape.empty() ? 1 : shape.back();
  if (!o.gamma.empty() && int64_t(o.gamma.size()) != d)
    return mpc::error("simulation: gamma has {} elements, the last axis {}",
                      o.gamma.size(), d);
  if (!o.beta.empty() && int64_t(o.beta.size()) != d)
    return mpc::error("simulation: beta has {} elements, the last axis {}",
                      o.beta.size(), d);
  if (!o.beta.empty() && o.gamma.empty())
    return mpc::error("simulation: a beta without a gamma");
  if (!o.mask.empty()) {
    if (int64_t(o.mask.size()) != numElements(o.maskShape))
      return mpc::error("simulation: the mask has {} elements, its shape {}",
                        o.mask.size(), numElements(o.maskShape));
    if (!broadcasts(o.maskShape, shape))
      return mpc::error("simulation: the mask does not broadcast to the "
                        "input");
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::vector<double>>
mpc::rt::simulateApprox(const ApproxParams &p, llvm::ArrayRef<double> x,
                        llvm::ArrayRef<int64_t> shape,
                        const ApproxOperands &ops) {
  if (int64_t(x.size()) != numElements(shape))
    return mpc::error("simulation: {} inputs for a shape of {} elements",
                      x.size(), numElements(shape));
  if (llvm::Error e =
          std::visit([&](const auto &q) { return rowCheck(shape, q); }, p))
    return e;
  if (llvm::Error e = checkOperands(ops, shape))
    return e;
  return std::visit(
      [&](const auto &q) {
        RingTensor in = encodeTensor(x, shape, inFrac(q));
        return decodeTensor(simulate(std::move(in), q, ops), q.frac);
      },
      p);
}
