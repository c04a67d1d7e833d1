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
// integer and bool scalars of the model file: the padding index of
// `input_ids != pad`, the 0 of `mask == 0`, a position offset. Those are
// part of the client's input encoding, not learned (autograd trains float
// tensors only): a scalar int64/bool constant every user of which computes
// on the client's values (and on nothing of party 0's or shared) is made
// public, so party 1 computes that op in the clear (lower-to-protocols) and
// the scalar is written into the plan. Any other model constant stays
// private to party 0: a learned parameter is a float tensor, or an integer
// tensor of more than one element (int8 weights), or is read together with
// party 0's values, and none of these qualifies (README, "What the plan
// holds").
//
//===----------------------------------------------------------------------===//

#include "ir/Builder.h"
#include "passes/Passes.h"

using namespace mpc;

namespace {
/// A model constant that may be client structure (see the file comment).
bool isStructureCandidate(const Value &v) {
  const TensorType &t = v.type();
  return v.isWeight() &&
         (t.elem == ElemType::I64 || t.elem == ElemType::Bool) &&
         t.numElements() == 1;
}

/// Whether \p op computes on the client's values with public ones only.
bool isClientSide(const Op &op) {
  bool client = false;
  for (const Value *v : op.operands()) {
    const TensorType &t = v->type();
    if (t.vis == Vis::Shared || t.isPrivateTo(0))
      return false;
    client |= t.isPrivateTo(1);
  }
  return client;
}

/// Re-derives every op's result visibility from its operands.
bool propagate(Graph &g) {
  bool changed = false;
  for (auto &op : g.ops()) {
    // Revealing is the one op that lowers visibility on purpose.
    if (op->kind() == OpKind::Reveal)
      continue;
    llvm::SmallVector<const Value *, 4> operands(op->operands().begin(),
                                                 op->operands().end());
    Vis vis;
    int owner;
    commonVisibility(operands, vis, owner);
    for (Value *r : op->results()) {
      if (r->type().vis == vis && r->type().owner == owner)
        continue;
      r->setType(r->type().withVis(vis, owner));
      changed = true;
    }
  }
  return changed;
}

/// Publishes the structure candidates all of whose users are client-side
/// once they are public: tentatively publishes every candidate, then takes
/// back those with a user that is not, until none is (taking one back only
/// makes more values private or shared, so this ends).
void publishClientStructure(Graph &g) {
  std::vector<Value *> published;
  for (Value *c : g.constants())
    if (isStructureCandidate(*c) && !c->users().empty()) {
      c->setType(c->type().withVis(Vis::Public, -1));
      published.push_back(c);
    }
  for (bool retracted = true; retracted && !published.empty();) {
    propagate(g);
    retracted = false;
    for (auto it = published.begin(); it != published.end();) {
      if (llvm::all_of((*it)->users(),
                       [](const Op *u) { return isClientSide(*u); })) {
        ++it;
        continue;
      }
      (*it)->setType((*it)->type().withVis(Vis::Private, 0));
      it = published.erase(it);
      retracted = true;
    }
  }
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
    // Publishing is tentative, so what changed is the net difference.
    std::vector<std::pair<Value *, TensorType>> before;
    for (Value *c : g.constants())
      before.emplace_back(c, c->type());
    for (auto &op : g.ops())
      for (Value *r : op->results())
        before.emplace_back(r, r->type());
    publishClientStructure(g);
    propagate(g);
    for (auto &[v, t] : before)
      changed |= v->type().vis != t.vis || v->type().owner != t.owner;
    return changed;
  }
};
} // namespace

std::unique_ptr<Pass> mpc::createInferVisibilityPass() {
  return std::make_unique<InferVisibilityPass>();
}
