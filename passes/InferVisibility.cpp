//===- passes/InferVisibility.cpp - Who sees each value -------------------===//
//
// Visibility inference (SPU's visibility_inference): model inputs are the
// client's (private to party 1), model weights are the owner's (private to
// party 0), other constants are public; every op result gets the common
// visibility of its operands (any shared operand, or operands private to
// different parties, make it shared). The frontend sets leaf visibilities;
// this pass re-derives every op's after rewrites and reports what changed.
//
// The client's own computation on its inputs (masks, position ids) reads
// integer and bool constants of the model file: the padding index of
// `input_ids != pad`, the 0 of `mask == 0`, a position offset. Those are
// structure of that computation, like shapes and indices: made public here,
// party 1 computes it in the clear (lower-to-protocols), and what it derives
// never mixes with party 0's values before it is shared.
//
//===----------------------------------------------------------------------===//

#include "ir/Builder.h"
#include "passes/Passes.h"

using namespace mpc;

namespace {
/// Makes the integer and bool model constants \p op reads public when its
/// other secret operands are all the client's (see the file comment).
bool publishClientStructure(Op &op) {
  bool client = false;
  for (Value *v : op.operands()) {
    const TensorType &t = v->type();
    bool structure =
        v->isWeight() && (t.elem == ElemType::I64 || t.elem == ElemType::Bool);
    if (t.vis == Vis::Shared || (t.isPrivateTo(0) && !structure))
      return false;
    client |= t.isPrivateTo(1);
  }
  if (!client)
    return false;
  bool changed = false;
  for (Value *v : op.operands())
    if (v->isWeight()) {
      v->setType(v->type().withVis(Vis::Public, -1));
      changed = true;
    }
  return changed;
}

class InferVisibilityPass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    bool changed = false;
    for (Value *in : g.inputs()) {
      if (in->type().isPrivateTo(1))
        continue;
      in->setType(in->type().withVis(Vis::Private, 1));
      changed = true;
    }
    for (auto &op : g.ops()) {
      changed |= publishClientStructure(*op);
      llvm::SmallVector<const Value *, 4> operands(op->operands().begin(),
                                                   op->operands().end());
      Vis vis;
      int owner;
      commonVisibility(operands, vis, owner);
      // Revealing is the one op that lowers visibility on purpose.
      if (op->kind() == OpKind::Reveal)
        continue;
      for (Value *r : op->results()) {
        if (r->type().vis == vis && r->type().owner == owner)
          continue;
        r->setType(r->type().withVis(vis, owner));
        changed = true;
      }
    }
    return changed;
  }
};
} // namespace

std::unique_ptr<Pass> mpc::createInferVisibilityPass() {
  return std::make_unique<InferVisibilityPass>();
}
