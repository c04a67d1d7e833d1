//===- frontend/import/Activations.cpp - Pow, Softmax, Sigmoid, ... -------===//
//
// Operators with attributes or operand rules of their own: Pow (the exponent
// must be a constant), Softmax (opset < 13 flattens from `axis`; only the
// cases that equal a softmax over one axis are accepted), Where, Dropout
// (inference: the identity, its mask all ones), Sigmoid (written with tanh,
// which has a protocol: sigmoid(x) = 1/2 + tanh(x/2)/2), Sin/Cos, which
// only fold (rotary embeddings take them of public positions), and the
// piecewise-linear family on relu, the runtime's one comparison:
// LeakyRelu, PRelu, Clip (two comparisons), HardSigmoid, HardSwish, Abs,
// Max and Min; Softsign is x / (1 + |x|) on that Abs.
//
//===----------------------------------------------------------------------===//

#include "frontend/ConstEval.h"
#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"
#include "ir/OpSchema.h"

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
  auto r = ctx.emit(
      OpKind::Softmax, {*x},
      {{"axis", *axis}, {"form", softmaxFormName(SoftmaxForm::Exp).str()}});
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

namespace {
/// Builds the piecewise-linear activations from relu and public scalars.
class PiecewiseBuilder {
public:
  explicit PiecewiseBuilder(ImportContext &ctx) : ctx_(ctx) {}
  llvm::Expected<Value *> relu(Value *x) {
    return ctx_.emit(OpKind::Relu, {x});
  }
  llvm::Expected<Value *> scale(Value *x, double c) {
    if (c == 1.0)
      return x;
    return ctx_.emit(OpKind::Mul, {x, ctx_.constF32({}, {c}, "slope")});
  }
  llvm::Expected<Value *> shift(Value *x, double c) {
    if (c == 0.0)
      return x;
    return ctx_.emit(OpKind::Add, {x, ctx_.constF32({}, {c}, "offset")});
  }
  llvm::Expected<Value *> add(Value *a, Value *b) {
    return ctx_.emit(OpKind::Add, {a, b});
  }
  llvm::Expected<Value *> sub(Value *a, Value *b) {
    return ctx_.emit(OpKind::Sub, {a, b});
  }
  /// min(max(x, lo), hi) for lo <= hi; an absent bound is nullopt. With
  /// both: lo + relu(x - lo) - relu(x - hi), two comparisons.
  llvm::Expected<Value *> clip(Value *x, std::optional<double> lo,
                               std::optional<double> hi) {
    if (lo && hi && *lo > *hi) { // every element becomes hi (numpy, ONNX)
      auto zero = scale(x, 0.0);
      if (!zero)
        return zero.takeError();
      return shift(*zero, *hi);
    }
    if (!lo && !hi)
      return x;
    if (!lo) { // hi - relu(hi - x)
      auto d =
          ctx_.emit(OpKind::Sub, {ctx_.constF32({}, {*hi}, "clip_max"), x});
      if (!d)
        return d.takeError();
      auto r = relu(*d);
      if (!r)
        return r.takeError();
      return ctx_.emit(OpKind::Sub, {ctx_.constF32({}, {*hi}, "clip_max"), *r});
    }
    auto below = shift(x, -*lo);
    if (!below)
      return below.takeError();
    auto r = relu(*below);
    if (!r)
      return r.takeError();
    Value *y = *r;
    if (hi) {
      auto above = shift(x, -*hi);
      if (!above)
        return above.takeError();
      auto r2 = relu(*above);
      if (!r2)
        return r2.takeError();
      auto d = sub(y, *r2);
      if (!d)
        return d.takeError();
      y = *d;
    }
    return shift(y, *lo);
  }

private:
  ImportContext &ctx_;
};
} // namespace

/// Input \p i as a float tensor; an error otherwise.
static llvm::Expected<Value *> floatInput(ImportContext &ctx, unsigned i) {
  auto x = ctx.input(i);
  if (!x)
    return x.takeError();
  if ((*x)->type().elem != ElemType::F32)
    return ctx.fail("expects a float tensor, got {}", (*x)->type().str());
  return *x;
}

llvm::Error mpc::onnx::importClip(ImportContext &ctx) {
  auto x = floatInput(ctx, 0);
  if (!x)
    return x.takeError();
  PiecewiseBuilder b(ctx);
  std::optional<double> lo, hi;
  if (ctx.opset() < 11) {
    double l = ctx.attrFloat("min", -INFINITY);
    double h = ctx.attrFloat("max", INFINITY);
    // float32's lowest/max are the attributes' defaults: no bound.
    if (std::fabs(l) < 3e38)
      lo = l;
    if (std::fabs(h) < 3e38)
      hi = h;
  } else {
    // Bounds are inputs. A constant scalar is structure (where the
    // comparison is made), public like Pow's exponent; any other bound is
    // a tensor the comparisons take as it is: max(x, lo), then min(., hi).
    Value *bound[3] = {nullptr, nullptr, nullptr};
    for (unsigned i = 1; i <= 2; ++i) {
      if (!ctx.hasInput(i))
        continue;
      auto v = floatInput(ctx, i);
      if (!v)
        return v.takeError();
      bound[i] = *v;
      if ((*v)->isConstant() && (*v)->type().numElements() == 1) {
        (i == 1 ? lo : hi) = (*v)->constData().f[0];
        bound[i] = nullptr;
      }
    }
    if (bound[1] || bound[2]) {
      Value *y = *x;
      if (Value *l =
              bound[1] ? bound[1]
                       : (lo ? ctx.constF32({}, {*lo}, "clip_min") : nullptr)) {
        // lo + relu(y - lo)
        auto d = b.sub(y, l);
        if (!d)
          return d.takeError();
        auto r = b.relu(*d);
        if (!r)
          return r.takeError();
        auto m = b.add(l, *r);
        if (!m)
          return m.takeError();
        y = *m;
      }
      if (Value *h =
              bound[2] ? bound[2]
                       : (hi ? ctx.constF32({}, {*hi}, "clip_max") : nullptr)) {
        // y - relu(y - hi)
        auto d = b.sub(y, h);
        if (!d)
          return d.takeError();
        auto r = b.relu(*d);
        if (!r)
          return r.takeError();
        auto m = b.sub(y, *r);
        if (!m)
          return m.takeError();
        y = *m;
      }
      ctx.setOutput(0, y);
      return llvm::Error::success();
    }
  }
  auto r = b.clip(*x, lo, hi);
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importLeakyRelu(ImportContext &ctx) {
  auto x = floatInput(ctx, 0);
  if (!x)
    return x.takeError();
  // alpha x + (1 - alpha) relu(x)
  double alpha = ctx.attrFloat("alpha", 0.01);
  PiecewiseBuilder b(ctx);
  auto r = b.relu(*x);
  if (!r)
    return r.takeError();
  auto pos = b.scale(*r, 1 - alpha);
  if (!pos)
    return pos.takeError();
  auto lin = b.scale(*x, alpha);
  if (!lin)
    return lin.takeError();
  auto y = b.add(*lin, *pos);
  if (!y)
    return y.takeError();
  ctx.setOutput(0, *y);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importPRelu(ImportContext &ctx) {
  auto x = floatInput(ctx, 0);
  if (!x)
    return x.takeError();
  auto slope = floatInput(ctx, 1);
  if (!slope)
    return slope.takeError();
  // relu(x) + slope (x - relu(x)): the model's slope multiplies shared data
  // as a private-weight product.
  PiecewiseBuilder b(ctx);
  auto r = b.relu(*x);
  if (!r)
    return r.takeError();
  auto neg = b.sub(*x, *r);
  if (!neg)
    return neg.takeError();
  auto s = ctx.emit(OpKind::Mul, {*neg, *slope});
  if (!s)
    return s.takeError();
  auto y = b.add(*r, *s);
  if (!y)
    return y.takeError();
  ctx.setOutput(0, *y);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importHardSigmoid(ImportContext &ctx) {
  auto x = floatInput(ctx, 0);
  if (!x)
    return x.takeError();
  bool swish = ctx.node().op_type() == "HardSwish";
  double alpha = swish ? 1.0 / 6 : ctx.attrFloat("alpha", 0.2);
  double beta = swish ? 0.5 : ctx.attrFloat("beta", 0.5);
  // clip(alpha x + beta, 0, 1); HardSwish is x times that.
  PiecewiseBuilder b(ctx);
  auto a = b.scale(*x, alpha);
  if (!a)
    return a.takeError();
  auto ab = b.shift(*a, beta);
  if (!ab)
    return ab.takeError();
  auto y = b.clip(*ab, 0.0, 1.0);
  if (!y)
    return y.takeError();
  if (swish) {
    y = ctx.emit(OpKind::Mul, {*x, *y});
    if (!y)
      return y.takeError();
  }
  ctx.setOutput(0, *y);
  return llvm::Error::success();
}

/// Input \p i as a float or integer tensor of the element type of input 0.
static llvm::Expected<Value *> numericInput(ImportContext &ctx, unsigned i) {
  auto x = ctx.input(i);
  if (!x)
    return x.takeError();
  ElemType e = (*x)->type().elem;
  if (e == ElemType::Bool)
    return ctx.fail("expects a numeric tensor, got {}", (*x)->type().str());
  if (i > 0) {
    auto first = ctx.input(0);
    if (!first)
      return first.takeError();
    if ((*first)->type().elem != e)
      return ctx.fail("inputs have different element types ({} and {})",
                      (*first)->type().str(), (*x)->type().str());
  }
  return *x;
}

/// |x| = 2 relu(x) - x: one comparison.
static llvm::Expected<Value *> absOf(PiecewiseBuilder &b, Value *x) {
  auto r = b.relu(x);
  if (!r)
    return r.takeError();
  auto twice = b.add(*r, *r);
  if (!twice)
    return twice.takeError();
  return b.sub(*twice, x);
}

llvm::Error mpc::onnx::importAbs(ImportContext &ctx) {
  auto x = numericInput(ctx, 0);
  if (!x)
    return x.takeError();
  PiecewiseBuilder b(ctx);
  auto y = absOf(b, *x);
  if (!y)
    return y.takeError();
  ctx.setOutput(0, *y);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importMinMax(ImportContext &ctx) {
  bool isMax = ctx.node().op_type() == "Max";
  if (ctx.numInputs() == 0)
    return ctx.fail("expects at least one input");
  auto first = numericInput(ctx, 0);
  if (!first)
    return first.takeError();
  // max(y, v) = v + relu(y - v), min(y, v) = y - relu(y - v): one
  // comparison per further input (numpy broadcasting).
  PiecewiseBuilder b(ctx);
  Value *y = *first;
  for (unsigned k = 1; k < ctx.numInputs(); ++k) {
    auto v = numericInput(ctx, k);
    if (!v)
      return v.takeError();
    auto d = b.sub(y, *v);
    if (!d)
      return d.takeError();
    auto r = b.relu(*d);
    if (!r)
      return r.takeError();
    auto m = isMax ? b.add(*v, *r) : b.sub(y, *r);
    if (!m)
      return m.takeError();
    y = *m;
  }
  ctx.setOutput(0, y);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importSoftsign(ImportContext &ctx) {
  auto x = floatInput(ctx, 0);
  if (!x)
    return x.takeError();
  // x / (1 + |x|): the division is lowered as any other (by a constant or
  // weight; of a secret it is refused, naming it).
  PiecewiseBuilder b(ctx);
  auto abs = absOf(b, *x);
  if (!abs)
    return abs.takeError();
  auto den = b.shift(*abs, 1.0);
  if (!den)
    return den.takeError();
  auto y = ctx.emit(OpKind::Div, {*x, *den});
  if (!y)
    return y.takeError();
  ctx.setOutput(0, *y);
  return llvm::Error::success();
}
