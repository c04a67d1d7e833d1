//===- frontend/import/Linear.cpp - MatMul and Gemm -----------------------===//
//
// MatMul imports as the IR's batched matmul (the Linear pattern later turns
// MatMul-by-a-constant plus bias into `linear`). Gemm, PyTorch's pooler and
// classifier layer, becomes `linear` directly when B is a constant: B is
// transposed (transB) and scaled by alpha at import, the bias beta*C folded
// into a [N] vector; weight-derived constants stay private to party 0.
//
//===----------------------------------------------------------------------===//

#include "frontend/ConstEval.h"
#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"

using namespace mpc;
using namespace mpc::onnx;

llvm::Error mpc::onnx::importMatMul(ImportContext &ctx) {
  auto a = ctx.input(0);
  if (!a)
    return a.takeError();
  auto b = ctx.input(1);
  if (!b)
    return b.takeError();
  if ((*a)->type().rank() < 2 || (*b)->type().rank() < 2)
    return ctx.fail("operands of rank < 2 are not supported ({} and {})",
                    (*a)->type().str(), (*b)->type().str());
  auto r = ctx.emit(OpKind::MatMul, {*a, *b});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

/// \returns \p v scaled by \p s (folded when \p v is a constant). Gemm's
/// alpha and beta are numbers from the model file that multiply data: the
/// owner's, like any model constant.
static llvm::Expected<Value *> scaled(ImportContext &ctx, Value *v, double s,
                                      llvm::StringRef hint) {
  if (s == 1.0)
    return v;
  Value *c = ctx.addModelConstant("scale", HostTensor::floats({}, {s}));
  return ctx.emit(OpKind::Mul, {v, c}, {}, hint);
}

/// The Gemm bias beta*C as a [N] constant when C is a constant that
/// broadcasts along rows, else null.
static llvm::Expected<Value *> rowBias(ImportContext &ctx, Value *c,
                                       double beta, int64_t n) {
  const TensorType &t = c->type();
  if (!c->isConstant() || t.elem != ElemType::F32 || t.numElements() > n ||
      (t.rank() == 2 && t.shape[0] != 1) || t.rank() > 2)
    return nullptr;
  if (t.rank() == 1 && t.shape[0] == n && beta == 1.0)
    return c;
  auto row = expandTo(toHost(*c), {n});
  if (!row)
    return ctx.fail("bias C {} does not broadcast to [{}]", t.str(), n);
  for (double &x : row->f)
    x *= beta;
  return ctx.addConstant(c->name(), t.withShape({n}), fromHost(*row));
}

llvm::Error mpc::onnx::importGemm(ImportContext &ctx) {
  auto a = ctx.input(0);
  if (!a)
    return a.takeError();
  auto b = ctx.input(1);
  if (!b)
    return b.takeError();
  if ((*a)->type().rank() != 2 || (*b)->type().rank() != 2)
    return ctx.fail("A and B must be 2-D, got {} and {}", (*a)->type().str(),
                    (*b)->type().str());
  double alpha = ctx.attrFloat("alpha", 1.0);
  double beta = ctx.attrFloat("beta", 1.0);
  Value *x = *a, *w = *b;
  if (ctx.attrInt("transA", 0)) {
    auto t = ctx.emit(OpKind::Transpose, {x},
                      {{"perm", std::vector<int64_t>{1, 0}}});
    if (!t)
      return t.takeError();
    x = *t;
  }
  if (ctx.attrInt("transB", 0)) {
    auto t = ctx.emit(OpKind::Transpose, {w},
                      {{"perm", std::vector<int64_t>{1, 0}}}, w->name() + ".T");
    if (!t)
      return t.takeError();
    w = *t;
  }
  int64_t n = w->type().shape[1];
  Value *bias = nullptr;
  Value *c = nullptr;
  if (ctx.hasInput(2)) {
    auto cv = ctx.input(2);
    if (!cv)
      return cv.takeError();
    c = *cv;
    auto rb = rowBias(ctx, c, beta, n);
    if (!rb)
      return rb.takeError();
    bias = *rb;
  }

  Value *y;
  if (w->isConstant()) {
    auto ws = scaled(ctx, w, alpha, w->name() + ".scaled");
    if (!ws)
      return ws.takeError();
    llvm::SmallVector<Value *, 3> ops{x, *ws};
    if (bias)
      ops.push_back(bias);
    auto r = ctx.emit(OpKind::Linear, ops);
    if (!r)
      return r.takeError();
    y = *r;
  } else {
    auto r = ctx.emit(OpKind::MatMul, {x, w});
    if (!r)
      return r.takeError();
    auto s = scaled(ctx, *r, alpha, "");
    if (!s)
      return s.takeError();
    y = *s;
    if (bias) {
      auto r2 = ctx.emit(OpKind::Add, {y, bias});
      if (!r2)
        return r2.takeError();
      y = *r2;
    }
  }
  if (c && !bias) {
    auto bc = scaled(ctx, c, beta, "");
    if (!bc)
      return bc.takeError();
    auto r = ctx.emit(OpKind::Add, {y, *bc});
    if (!r)
      return r.takeError();
    y = *r;
  }
  ctx.setOutput(0, y);
  return llvm::Error::success();
}
