//===- frontend/import/Activations.cpp - Pow, Softmax, Where, Dropout -----===//
//
// Operators with attributes or operand rules of their own: Pow (the exponent
// must be a constant), Softmax (opset < 13 flattens from `axis`; only the
// cases that equal a softmax over one axis are accepted), Where, and Dropout
// (inference: the identity, its mask all ones).
//
//===----------------------------------------------------------------------===//

#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"

using namespace mpc;
using namespace mpc::onnx;

llvm::Error mpc::onnx::importPow(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  auto e = ctx.input(1);
  if (!e)
    return e.takeError();
  Value *exp = *e;
  if (!exp->isConstant())
    return ctx.fail("the exponent must be a constant");
  // The exponent is structure (which products compute the power), public
  // even when it comes from the model file; integer exponents (T1 may
  // differ from T) become float constants.
  if (exp->type().elem != ElemType::F32) {
    const std::vector<int64_t> &iv = exp->constData().i;
    exp = ctx.constF32(exp->type().shape,
                       std::vector<double>(iv.begin(), iv.end()), "exponent");
  } else if (exp->type().vis != Vis::Public) {
    exp = ctx.constF32(exp->type().shape, exp->constData().f, exp->name());
  }
  auto r = ctx.emit(OpKind::Pow, {*x, exp});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importSoftmax(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  const TensorType &t = (*x)->type();
  int64_t rank = t.rank();
  auto axis = ctx.normAxis(ctx.attrInt("axis", ctx.opset() < 13 ? 1 : -1), rank,
                           "axis");
  if (!axis)
    return axis.takeError();
  if (ctx.opset() < 13) {
    // Before opset 13 Softmax flattens the input to 2-D at `axis`; that is a
    // softmax over `axis` only when every later dimension is 1.
    for (int64_t d = *axis + 1; d < rank; ++d)
      if (t.shape[d] != 1)
        return ctx.fail("unsupported attribute axis={} (opset {} flattens "
                        "the input from that axis; only a softmax over one "
                        "axis is supported)",
                        *axis, ctx.opset());
  }
  auto r = ctx.emit(OpKind::Softmax, {*x},
                    {{"axis", *axis}, {"form", std::string("exp")}});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importWhere(ImportContext &ctx) {
  llvm::SmallVector<Value *, 3> ops;
  for (unsigned i = 0; i < 3; ++i) {
    auto v = ctx.input(i);
    if (!v)
      return v.takeError();
    ops.push_back(*v);
  }
  if (ops[0]->type().elem != ElemType::Bool)
    return ctx.fail("condition must be a bool tensor, got {}",
                    ops[0]->type().str());
  auto r = ctx.emit(OpKind::Where, ops);
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importDropout(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  // Opset 12+: training_mode is input 2; inference only.
  if (ctx.hasInput(2)) {
    auto mode = ctx.inputInts(2, "training_mode input of Dropout");
    if (!mode)
      return mode.takeError();
    if (!mode->empty() && (*mode)[0] != 0)
      return ctx.fail("training mode is not supported (mpcc runs inference)");
  }
  ctx.setOutput(0, *x);
  if (ctx.hasOutput(1)) {
    const TensorType &t = (*x)->type();
    ConstData ones;
    ones.i.assign(t.numElements(), 1);
    ctx.setOutput(1, ctx.addConstant(ctx.nameHint(1),
                                     TensorType(t.shape, ElemType::Bool),
                                     std::move(ones)));
  }
  return llvm::Error::success();
}
