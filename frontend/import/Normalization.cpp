//===- frontend/import/Normalization.cpp - LayerNormalization -------------===//
//
// The opset-17 LayerNormalization node becomes `layernorm(x, gamma, beta)
// {axis = -1, eps}`, the same op the LayerNorm pattern makes from the
// decomposed opset 13/14 form. Only normalisation over the last axis is
// supported, and only the first output (Mean and InvStdDev are training
// outputs).
//
//===----------------------------------------------------------------------===//

#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"
#include "ir/OpSchema.h"

using namespace mpc;
using namespace mpc::onnx;

/// Brings a scale or bias of shape [1, ..., 1, D] to [D].
static llvm::Expected<Value *> asVector(ImportContext &ctx, Value *v, int64_t d,
                                        llvm::StringRef what) {
  const TensorType &t = v->type();
  if (t.numElements() != d || (t.rank() >= 1 && t.shape.back() != d))
    return ctx.fail("{} has shape {}, expected [{}]", what, t.str(), d);
  if (t.rank() == 1)
    return v;
  return ctx.emit(OpKind::Reshape, {v}, {{"shape", std::vector<int64_t>{d}}},
                  v->name());
}

llvm::Error mpc::onnx::importLayerNormalization(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  auto scale = ctx.input(1);
  if (!scale)
    return scale.takeError();
  const TensorType &t = (*x)->type();
  auto axis = ctx.normAxis(ctx.attrInt("axis", -1), t.rank(), "axis");
  if (!axis)
    return axis.takeError();
  if (*axis != t.rank() - 1)
    return ctx.fail("unsupported attribute axis={} (only the last axis)",
                    ctx.attrInt("axis", -1));
  if (ctx.hasOutput(1) || ctx.hasOutput(2))
    return ctx.fail("the Mean and InvStdDev outputs are not supported");
  int64_t d = t.shape.back();
  auto gamma = asVector(ctx, *scale, d, "Scale");
  if (!gamma)
    return gamma.takeError();
  Value *beta;
  if (ctx.hasInput(2)) {
    auto b = ctx.input(2);
    if (!b)
      return b.takeError();
    auto bv = asVector(ctx, *b, d, "B");
    if (!bv)
      return bv.takeError();
    beta = *bv;
  } else {
    beta = ctx.constF32({d}, std::vector<double>(d, 0.0), "zeros");
  }
  double eps = ctx.attrFloat("epsilon", kLayerNormDefaultEps);
  auto r = ctx.emit(OpKind::LayerNorm, {*x, *gamma, beta},
                    {{"axis", int64_t(-1)}, {"eps", eps}});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}
