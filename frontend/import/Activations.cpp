//===- frontend/import/Activations.cpp - Pow, Softmax, Sigmoid, ... -------===//
//
// Operators with attributes or operand rules of their own: Pow (the exponent
// must be a constant), Softmax (opset < 13 flattens from `axis`; only the
// cases that equal a softmax over one axis are accepted), Where, Dropout
// (inference: the identity, its mask all ones), Sigmoid (written with tanh,
// which has a protocol: sigmoid(x) = 1/2 + tanh(x/2)/2), and Sin/Cos, which
// only fold: rotary embeddings take them of public positions.
//
//===----------------------------------------------------------------------===//

#include "frontend/ConstEval.h"
#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"

#include <cmath>

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

/// \p x * \p c with a public scalar \p c.
static llvm::Expected<Value *> scaleBy(ImportContext &ctx, Value *x, double c) {
  return ctx.emit(OpKind::Mul, {x, ctx.constF32({}, {c}, "half")});
}

llvm::Error mpc::onnx::importSigmoid(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  if ((*x)->type().elem != ElemType::F32)
    return ctx.fail("expects a float tensor, got {}", (*x)->type().str());
  // sigmoid(x) = 1/2 + tanh(x/2)/2: the tanh protocol's accuracy (4e-4)
  // halved, no exp or reciprocal.
  auto half = scaleBy(ctx, *x, 0.5);
  if (!half)
    return half.takeError();
  auto t = ctx.emit(OpKind::Tanh, {*half});
  if (!t)
    return t.takeError();
  auto ht = scaleBy(ctx, *t, 0.5);
  if (!ht)
    return ht.takeError();
  auto r = ctx.emit(OpKind::Add, {*ht, ctx.constF32({}, {0.5}, "half")});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importTrig(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  llvm::StringRef type = ctx.node().op_type();
  if (!(*x)->isConstant() || (*x)->type().elem != ElemType::F32)
    return ctx.fail("{} of a computed value ({}) is not supported: mpcc "
                    "computes {} of constants only (a rotary embedding's "
                    "table of public positions folds at compile time)",
                    type.str(), (*x)->type().str(), type.str());
  HostTensor t = toHost(**x);
  for (double &v : t.f)
    v = type == "Sin" ? std::sin(v) : std::cos(v);
  // The table is public when the angles are; one of party 0's values stays
  // party 0's.
  Value *r = ctx.addConstant(ctx.nameHint(), (*x)->type(), fromHost(t));
  ctx.setOutput(0, r);
  return llvm::Error::success();
}
