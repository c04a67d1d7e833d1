//===- runtime/protocols/ApproxCost.cpp - What an approximation costs -----===//

#include "runtime/protocols/ApproxCost.h"

#include "runtime/protocols/Compare.h"
#include "runtime/protocols/Nonlinear.h"

using namespace mpc::rt;

Cost mpc::rt::approxRowCost(Approximation a, int frac, int rangeBits) {
  const int64_t row[] = {1, kApproxCostRow};
  const int compareBits = compareBitsForRange(frac, rangeBits);
  switch (approxInfo(a).kind) {
  case ApproxKind::Gelu: {
    GeluParams p;
    p.approx = a;
    p.frac = frac;
    p.compareBits = compareBits;
    return geluCost(row, p);
  }
  case ApproxKind::Tanh: {
    TanhParams p;
    p.approx = a;
    p.frac = frac;
    p.compareBits = compareBits;
    return tanhCost(row, p);
  }
  case ApproxKind::Softmax: {
    SoftmaxParams p;
    p.approx = a;
    p.frac = frac;
    p.exp.frac = frac;
    p.recip.frac = frac;
    p.inputBits = softmaxInputBits(frac, rangeBits);
    return softmaxCost(row, p);
  }
  case ApproxKind::LayerNorm: {
    LayerNormParams p;
    p.eps = 1e-5;
    p.frac = frac;
    p.rsqrt.approx = layerNormRsqrt(a);
    p.rsqrt.iters = rsqrtIters(p.rsqrt.approx);
    p.rsqrt.frac = frac;
    p.affine = LayerNormParams::Private;
    return layerNormCost(row, p);
  }
  case ApproxKind::Exp: {
    ExpParams p = expParams(a);
    p.frac = frac;
    return expCost(row, p);
  }
  case ApproxKind::Reciprocal: {
    ReciprocalParams p;
    p.approx = a;
    p.iters = reciprocalIters(a);
    p.frac = frac;
    return reciprocalCost(row, p);
  }
  case ApproxKind::Rsqrt: {
    RsqrtParams p;
    p.approx = a;
    p.iters = rsqrtIters(a);
    p.frac = frac;
    return rsqrtCost(row, p);
  }
  }
  llvm_unreachable("ApproxKind covered above");
}
