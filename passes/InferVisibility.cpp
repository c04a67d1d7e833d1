//===- passes/InferVisibility.cpp - Who sees each value -------------------===//
//
// Visibility inference (SPU's visibility_inference): model inputs are the
// client's (private to party 1), model weights are the owner's (private to
// party 0), other constants are public; every op result gets the common
// visibility of its operands (any shared operand, or operands private to
// different parties, make it shared). The frontend sets leaf visibilities;
// this pass re-derives every op's after rewrites and reports what changed.
//
//===----------------------------------------------------------------------===//

#include "ir/Builder.h"
#include "passes/Passes.h"

using namespace mpc;

namespace {
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
