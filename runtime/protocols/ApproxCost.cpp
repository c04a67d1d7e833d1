//===- runtime/protocols/ApproxCost.cpp - What an approximation costs -----===//

#include "runtime/protocols/ApproxCost.h"

#include "runtime/protocols/Compare.h"
#include "runtime/protocols/Nonlinear.h"

using namespace mpc::rt;

ApproxParams mpc::rt::approxParams(Approximation a, int frac, int rangeBits) {
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
  return std::visit([](const auto &p) { return rowCost(kRow, p); },
                    approxParams(a, frac, rangeBits));
}

llvm::Error mpc::rt::validateApproxRow(Approximation a, int frac,
                                       int rangeBits) {
  return validateApprox(a, frac, rangeBits, kRow);
}

llvm::Error mpc::rt::validateApprox(Approximation a, int frac, int rangeBits,
                                    llvm::ArrayRef<int64_t> shape) {
  return std::visit([&](const auto &p) { return rowCheck(shape, p); },
                    approxParams(a, frac, rangeBits));
}
