//===- frontend/import/Elementwise.cpp - Arithmetic and unary ops ---------===//
//
// Add, Sub, Mul, Div, Equal, Sum, Mean (numpy broadcasting, as in ONNX since
// opset 7) and the one-operand ops Neg, Erf, Tanh, Relu, Sqrt, Exp (each maps
// to the IR op of the same name) and Reciprocal (a Div); ImportContext::emit
// folds constant operands, which is how integer shape arithmetic of dynamic
// exports disappears. Less, Greater, LessOrEqual and GreaterOrEqual fold only
// (causal masks compare positions: `arange(n) < arange(n) + 1`), from the sign
// of b - a.
//
//===----------------------------------------------------------------------===//

#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"

#include "llvm/ADT/StringSwitch.h"

using namespace mpc;
using namespace mpc::onnx;

llvm::Error mpc::onnx::importBinary(ImportContext &ctx) {
  llvm::StringRef type = ctx.node().op_type();
  OpKind kind = llvm::StringSwitch<OpKind>(type)
                    .Case("Add", OpKind::Add)
                    .Case("Sub", OpKind::Sub)
                    .Case("Mul", OpKind::Mul)
                    .Case("Div", OpKind::Div)
                    .Case("Equal", OpKind::Equal);
  auto a = ctx.input(0);
  if (!a)
    return a.takeError();
  auto b = ctx.input(1);
  if (!b)
    return b.takeError();
  if ((*a)->type().elem != (*b)->type().elem)
    return ctx.fail("operands have different element types ({} and {})",
                    (*a)->type().str(), (*b)->type().str());
  auto r = ctx.emit(kind, {*a, *b});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importSum(ImportContext &ctx) {
  if (ctx.numInputs() == 0)
    return ctx.fail("expects at least one input");
  auto sum = ctx.input(0);
  if (!sum)
    return sum.takeError();
  Value *r = *sum;
  for (unsigned k = 1; k < ctx.numInputs(); ++k) {
    auto x = ctx.input(k);
    if (!x)
      return x.takeError();
    if ((*x)->type().elem != r->type().elem)
      return ctx.fail("inputs have different element types ({} and {})",
                      r->type().str(), (*x)->type().str());
    auto add = ctx.emit(OpKind::Add, {r, *x});
    if (!add)
      return add.takeError();
    r = *add;
  }
  if (ctx.node().op_type() == "Mean" && ctx.numInputs() > 1) {
    if (r->type().elem != ElemType::F32)
      return ctx.fail("expects float tensors, got {}", r->type().str());
    auto mean =
        ctx.emit(OpKind::Mul,
                 {r, ctx.constF32({}, {1.0 / ctx.numInputs()}, "mean_scale")});
    if (!mean)
      return mean.takeError();
    r = *mean;
  }
  ctx.setOutput(0, r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importReciprocal(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  if ((*x)->type().elem != ElemType::F32)
    return ctx.fail("expects a float tensor, got {}", (*x)->type().str());
  // 1 / x: folded on constants (a weight's reciprocal is a weight); of a
  // secret, Div's lowering refuses it and says what to do.
  auto r = ctx.emit(OpKind::Div, {ctx.constF32({}, {1.0}, "one"), *x});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importNot(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  if ((*x)->type().elem != ElemType::Bool)
    return ctx.fail("expects a bool tensor, got {}", (*x)->type().str());
  // not x = (x == false): no op of its own.
  ConstData no;
  no.i = {0};
  Value *f = ctx.addConstant("false", TensorType({}, ElemType::Bool), no);
  auto r = ctx.emit(OpKind::Equal, {*x, f});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importUnary(ImportContext &ctx) {
  llvm::StringRef type = ctx.node().op_type();
  OpKind kind = llvm::StringSwitch<OpKind>(type)
                    .Case("Neg", OpKind::Neg)
                    .Case("Erf", OpKind::Erf)
                    .Case("Tanh", OpKind::Tanh)
                    .Case("Relu", OpKind::Relu)
                    .Case("Sqrt", OpKind::Sqrt)
                    .Case("Exp", OpKind::Exp);
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  if (kind != OpKind::Neg && (*x)->type().elem != ElemType::F32)
    return ctx.fail("expects a float tensor, got {}", (*x)->type().str());
  auto r = ctx.emit(kind, {*x});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importCompare(ImportContext &ctx) {
  llvm::StringRef type = ctx.node().op_type();
  auto a = ctx.input(0);
  if (!a)
    return a.takeError();
  auto b = ctx.input(1);
  if (!b)
    return b.takeError();
  if ((*a)->type().elem != (*b)->type().elem)
    return ctx.fail("operands have different element types ({} and {})",
                    (*a)->type().str(), (*b)->type().str());
  for (unsigned k = 0; k < 2; ++k)
    if (Value *v = k ? *b : *a; !v->isConstant())
      return ctx.fail(
          "{} is supported on values known at compile time (positions and "
          "shapes, as causal masks compare them), but operand '{}' is {}; "
          "compute the mask outside the model, or from shapes",
          type, ctx.node().input(k), v->type().str());
  // b - a, folded with numpy broadcasting; its sign is the comparison.
  auto diff = ctx.emit(OpKind::Sub, {*b, *a});
  if (!diff)
    return diff.takeError();
  const TensorType &t = (*diff)->type();
  const ConstData &d = (*diff)->constData();
  auto holds = [&](double x) {
    return type == "Less"          ? x > 0
           : type == "Greater"     ? x < 0
           : type == "LessOrEqual" ? x >= 0
                                   : x <= 0; // GreaterOrEqual
  };
  ConstData out;
  if (t.elem == ElemType::I64)
    for (int64_t x : d.i)
      out.i.push_back(holds(static_cast<double>(x)));
  else
    for (double x : d.f)
      out.i.push_back(holds(x));
  TensorType bt = t;
  bt.elem = ElemType::Bool;
  ctx.setOutput(0, ctx.addConstant(ctx.nameHint(0), bt, std::move(out)));
  return llvm::Error::success();
}
