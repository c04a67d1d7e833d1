//===- frontend/import/Normalization.cpp - LayerNormalization -------------===//
//
// The opset-17 LayerNormalization node becomes `layernorm(x, gamma, beta)
// {axis = -1, eps}`, the same op the LayerNorm pattern makes from the
// decomposed opset 13/14 form. Normalising over the axes from `axis` on is
// normalising the last axis of x reshaped to [..., D]: the layernorm runs
// there and the result is reshaped back. The Mean and InvStdDev outputs
// (training outputs, rarely read by an inference graph) are computed from
// the ops of their definition, so `mpcc float` gives them; the secure path
// supports them as far as it supports those ops.
//
//===----------------------------------------------------------------------===//

#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"
#include "ir/OpSchema.h"

#include <numeric>

using namespace mpc;
using namespace mpc::onnx;

/// Brings a scale or bias of the normalised shape \p norm (or that shape
/// with leading 1s dropped or added) to [D].
static llvm::Expected<Value *> asVector(ImportContext &ctx, Value *v,
                                        llvm::ArrayRef<int64_t> norm, int64_t d,
                                        llvm::StringRef what) {
  const TensorType &t = v->type();
  auto strip = [](llvm::ArrayRef<int64_t> s) {
    while (!s.empty() && s.front() == 1)
      s = s.drop_front();
    return s;
  };
  if (t.numElements() != d || strip(t.shape) != strip(norm))
    return ctx.fail("{} has shape {}, expected {} (the normalised axes)", what,
                    t.str(), shapeStr(norm));
  if (t.rank() == 1)
    return v;
  return ctx.emit(OpKind::Reshape, {v}, {{"shape", std::vector<int64_t>{d}}},
                  v->name());
}

/// Mean and 1/sqrt(variance + eps) of \p x over \p axes, kept as 1s: the
/// definition of LayerNormalization's second and third outputs.
static llvm::Error importStatistics(ImportContext &ctx, Value *x,
                                    std::vector<int64_t> axes, double eps) {
  std::map<std::string, Attr> reduce = {{"axes", axes},
                                        {"keepdims", int64_t(1)}};
  auto mean = ctx.emit(OpKind::ReduceMean, {x}, reduce, ctx.nameHint(1));
  if (!mean)
    return mean.takeError();
  if (ctx.hasOutput(1))
    ctx.setOutput(1, *mean);
  if (!ctx.hasOutput(2))
    return llvm::Error::success();
  auto centred = ctx.emit(OpKind::Sub, {x, *mean});
  if (!centred)
    return centred.takeError();
  auto square = ctx.emit(OpKind::Mul, {*centred, *centred});
  if (!square)
    return square.takeError();
  auto var = ctx.emit(OpKind::ReduceMean, {*square}, reduce);
  if (!var)
    return var.takeError();
  auto shifted = ctx.emit(OpKind::Add, {*var, ctx.constF32({}, {eps}, "eps")});
  if (!shifted)
    return shifted.takeError();
  auto std = ctx.emit(OpKind::Sqrt, {*shifted});
  if (!std)
    return std.takeError();
  auto inv = ctx.emit(OpKind::Div, {ctx.constF32({}, {1.0}, "one"), *std}, {},
                      ctx.nameHint(2));
  if (!inv)
    return inv.takeError();
  ctx.setOutput(2, *inv);
  return llvm::Error::success();
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
  llvm::ArrayRef<int64_t> norm =
      llvm::ArrayRef<int64_t>(t.shape).drop_front(*axis);
  int64_t d = std::accumulate(norm.begin(), norm.end(), int64_t(1),
                              std::multiplies<int64_t>());
  auto gamma = asVector(ctx, *scale, norm, d, "Scale");
  if (!gamma)
    return gamma.takeError();
  Value *beta;
  if (ctx.hasInput(2)) {
    auto b = ctx.input(2);
    if (!b)
      return b.takeError();
    auto bv = asVector(ctx, *b, norm, d, "B");
    if (!bv)
      return bv.takeError();
    beta = *bv;
  } else {
    beta = ctx.constF32({d}, std::vector<double>(d, 0.0), "zeros");
  }
  double eps = ctx.attrFloat("epsilon", kLayerNormDefaultEps);

  Value *in = *x;
  if (*axis != t.rank() - 1) {
    std::vector<int64_t> flat(t.shape.begin(), t.shape.begin() + *axis);
    flat.push_back(d);
    auto r = ctx.emit(OpKind::Reshape, {in}, {{"shape", flat}});
    if (!r)
      return r.takeError();
    in = *r;
  }
  auto r = ctx.emit(OpKind::LayerNorm, {in, *gamma, beta},
                    {{"axis", int64_t(-1)}, {"eps", eps}});
  if (!r)
    return r.takeError();
  if (*axis != t.rank() - 1) {
    std::vector<int64_t> back(t.shape.begin(), t.shape.end());
    r = ctx.emit(OpKind::Reshape, {*r}, {{"shape", back}});
    if (!r)
      return r.takeError();
  }
  ctx.setOutput(0, *r);

  if (!ctx.hasOutput(1) && !ctx.hasOutput(2))
    return llvm::Error::success();
  std::vector<int64_t> axes(norm.size());
  std::iota(axes.begin(), axes.end(), *axis);
  return importStatistics(ctx, *x, std::move(axes), eps);
}
