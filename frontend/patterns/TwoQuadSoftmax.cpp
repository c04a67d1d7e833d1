//===- frontend/patterns/TwoQuadSoftmax.cpp - MPCFormer's 2Quad softmax ---===//
//
// MPCFormer approximates softmax by (x + c)^2 / sum((x + c)^2) (c = 5):
//
//   %t = Add(%x, c)                      (either order; c a scalar constant)
//   %n = Mul(%t, %t)                     (or Pow(%t, 2))
//   %s = ReduceSum(%n) {axes = [-1], keepdims = 1}
//   %y = Div(%n, %s)
//     ->
//   %y = softmax(%x) {axis = last, form = "2quad", c}
//
// With MPCFormer's multiplicative 0/1 attention mask the numerator is
// %n = Mul(Mul(%t, %t), %m) in any association, %m = Cast(integer mask) or
// a constant of zeros and ones (such a Cast folded).
// The IR's softmax has no mask operand, so the mask moves into the input:
// for m in {0, 1}, (m*(x + c))^2 = m*(x + c)^2, hence
//
//   %u = Mul(Add(%x, c), %m)             (c the compiler's public constant)
//   %x2 = Sub(%u, c)                     (x where m = 1, -c where m = 0)
//   %y = softmax(%x2) {form = "2quad", c}
//
// is exactly the masked 2Quad (masked keys get weight 0).
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Match.h"
#include "frontend/patterns/Patterns.h"
#include "ir/Builder.h"
#include "ir/OpSchema.h"

using namespace mpc;
using namespace mpc::onnx;

/// Flattens a product of single-use Mul / Pow(., 2) ops into its factors.
static void collectFactors(const Graph &g, Value *v, bool isRoot,
                           llvm::SmallVectorImpl<Value *> &out) {
  if (out.size() > 4)
    return;
  bool interior = isRoot || hasOneUse(g, v);
  if (Op *mul = defOf(v, OpKind::Mul); mul && interior) {
    collectFactors(g, mul->operand(0), false, out);
    collectFactors(g, mul->operand(1), false, out);
    return;
  }
  if (Op *pow = defOf(v, OpKind::Pow);
      pow && interior && isScalar(pow->operand(1), 2.0, 0)) {
    out.push_back(pow->operand(0));
    out.push_back(pow->operand(0));
    return;
  }
  out.push_back(v);
}

/// True when \p m is a float cast of an integer or boolean tensor (a 0/1
/// attention mask), or, once folded (the mask bound with --constant), a
/// float constant of zeros and ones.
static bool isZeroOneMask(const Value *m) {
  if (m->type().elem != ElemType::F32)
    return false;
  if (m->isConstant())
    return !m->constData().elided &&
           llvm::all_of(m->constData().f,
                        [](double d) { return d == 0.0 || d == 1.0; });
  Op *cast = defOf(m, OpKind::Cast);
  if (!cast)
    return false;
  ElemType from = cast->operand(0)->type().elem;
  return from == ElemType::I64 || from == ElemType::Bool;
}

unsigned mpc::onnx::fuseTwoQuadSoftmax(Graph &g) {
  std::vector<Op *> divs = g.opsOfKind(OpKind::Div);
  unsigned matched = 0;
  for (Op *div : divs) {
    Value *num = div->operand(0);
    Op *sum = defOf(div->operand(1), OpKind::ReduceSum);
    if (!sum || sum->operand(0) != num || !reducesLastAxisKeepDims(sum) ||
        !hasOneUse(g, div->operand(1)) || num->users().size() != 2 ||
        isOutput(g, num))
      continue;
    llvm::SmallVector<Value *, 4> factors;
    collectFactors(g, num, /*isRoot=*/true, factors);
    // Two equal factors t, plus at most one mask factor.
    Value *t = nullptr, *mask = nullptr;
    for (Value *f : factors)
      if (llvm::count(factors, f) == 2)
        t = f;
    if (!t || factors.size() > 3)
      continue;
    for (Value *f : factors)
      if (f != t)
        mask = f;
    if (mask && !isZeroOneMask(mask))
      continue;
    Op *add = defOf(t, OpKind::Add);
    Value *x = nullptr, *cv = nullptr;
    double c;
    if (!add ||
        !matchEither(
            add, [](Value *v) { return !v->isConstant(); }, x, cv) ||
        !scalarConst(cv, c) || x->type().elem != ElemType::F32)
      continue;

    Builder b(g);
    b.setInsertionPointBefore(div);
    b.setLoc(div->loc());
    Value *in = x;
    if (mask) {
      // c is the pattern's public parameter (it is in the plan as the
      // softmax's c): x + c is made anew with the compiler's constant, not
      // the model file's (private) one.
      Value *cc = b.constF32({}, {c}, "c");
      b.setLoc(add->loc());
      auto t2 = b.create(OpKind::Add, {x, cc});
      b.setLoc(div->loc());
      if (!t2) {
        llvm::consumeError(t2.takeError());
        continue;
      }
      auto u = b.create(OpKind::Mul, {(*t2)->result(0), mask});
      if (!u) {
        llvm::consumeError(u.takeError());
        continue;
      }
      auto x2 = b.create(OpKind::Sub, {(*u)->result(0), cc});
      if (!x2) {
        llvm::consumeError(x2.takeError());
        continue;
      }
      in = (*x2)->result(0);
    }
    int64_t axis = in->type().rank() - 1;
    auto sm = b.create(OpKind::Softmax, {in},
                       {{"axis", axis},
                        {"c", c},
                        {"form", softmaxFormName(SoftmaxForm::TwoQuad).str()}});
    if (!sm) {
      llvm::consumeError(sm.takeError());
      continue;
    }
    if ((*sm)->result(0)->type().shape != div->result(0)->type().shape)
      continue; // Left dead; removed with the other dead ops.
    replaceValue(g, div->result(0), (*sm)->result(0));
    ++matched;
  }
  return matched;
}
