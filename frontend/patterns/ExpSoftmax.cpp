//===- frontend/patterns/ExpSoftmax.cpp - Decomposed exp softmax ----------===//
//
// PyTorch exports F.softmax as one Softmax node (imported directly as
// softmax {form = "exp"}); hand-written or other exporters' softmax is
//
//   %m = ReduceMax(%x) {axes = [-1], keepdims = 1}     (optional)
//   %z = Sub(%x, %m)
//   %e = Exp(%z)
//   %s = ReduceSum(%e) {axes = [-1], keepdims = 1}
//   %y = Div(%e, %s)
//     ->
//   %y = softmax(%x) {axis = last, form = "exp"}
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Match.h"
#include "frontend/patterns/Patterns.h"
#include "ir/Builder.h"
#include "ir/OpSchema.h"

using namespace mpc;
using namespace mpc::onnx;

unsigned mpc::onnx::fuseExpSoftmax(Graph &g) {
  std::vector<Op *> divs = g.opsOfKind(OpKind::Div);
  unsigned matched = 0;
  for (Op *div : divs) {
    Value *e = div->operand(0);
    Op *exp = defOf(e, OpKind::Exp);
    Op *sum = defOf(div->operand(1), OpKind::ReduceSum);
    if (!exp || !sum || sum->operand(0) != e || !reducesLastAxisKeepDims(sum) ||
        !hasOneUse(g, div->operand(1)) || e->users().size() != 2 ||
        isOutput(g, e))
      continue;
    Value *x = exp->operand(0);
    // Strip the max-subtraction (softmax is shift-invariant).
    if (Op *sub = defOf(x, OpKind::Sub); sub && hasOneUse(g, x)) {
      Op *max = defOf(sub->operand(1), OpKind::ReduceMax);
      if (max && max->operand(0) == sub->operand(0) &&
          reducesLastAxisKeepDims(max))
        x = sub->operand(0);
    }
    if (x->type().elem != ElemType::F32 ||
        x->type().shape != div->result(0)->type().shape)
      continue;
    Builder b(g);
    b.setInsertionPointBefore(div);
    b.setLoc(div->loc());
    auto sm = b.create(OpKind::Softmax, {x},
                       {{"axis", x->type().rank() - 1},
                        {"form", softmaxFormName(SoftmaxForm::Exp).str()}});
    if (!sm) {
      llvm::consumeError(sm.takeError());
      continue;
    }
    replaceValue(g, div->result(0), (*sm)->result(0));
    ++matched;
  }
  return matched;
}
