//===- passes/Canonicalize.cpp - Fold constants, drop no-ops
//---------------===//
//
// Folds every op whose operands are all constants into a new constant (its
// visibility is the operands' common one, so a value computed from weights
// stays a weight, private to party 0), and removes ops that do nothing:
//   reshape %x to x's own shape -> %x
//   cast %x to x's own element  -> %x
// The frontend already folds shape sub-graphs; this catches what later
// rewrites expose.
//
//===----------------------------------------------------------------------===//

#include "ir/Builder.h"
#include "ir/IR.h"
#include "passes/Passes.h"

#include "llvm/ADT/STLExtras.h"

using namespace mpc;

static HostTensor toHost(const Value *v) {
  const TensorType &t = v->type();
  std::vector<int64_t> shape(t.shape.begin(), t.shape.end());
  if (t.elem == ElemType::F32 || t.elem == ElemType::Fixed)
    return HostTensor::floats(shape, v->constData().f);
  return HostTensor::ints(shape, v->constData().i,
                          t.elem == ElemType::Bool ? HostType::Bool
                                                   : HostType::I64);
}

static bool isNoOp(const Op &op) {
  const Value *in = op.numOperands() ? op.operand(0) : nullptr;
  if (!in || op.numResults() != 1)
    return false;
  const TensorType &a = in->type(), &b = op.result()->type();
  switch (op.kind()) {
  case OpKind::Reshape:
    return a.shape == b.shape;
  case OpKind::Cast:
    return a.elem == b.elem;
  default:
    return false;
  }
}

namespace {
class CanonicalizePass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    bool changed = false;
    std::vector<Op *> ops;
    for (auto &op : g.ops())
      ops.push_back(op.get());
    for (Op *op : ops) {
      if (isNoOp(*op)) {
        g.replaceAllUsesWith(op->result(), op->operand(0));
        g.eraseOp(op);
        changed = true;
        continue;
      }
      bool foldable = op->numResults() == 1 &&
                      llvm::all_of(op->operands(), [](const Value *v) {
                        return v->isConstant() && !v->constData().elided;
                      });
      if (!foldable || opKindStage(op->kind()) == OpStage::Lowered)
        continue;
      std::vector<HostTensor> hosts;
      for (Value *v : op->operands())
        hosts.push_back(toHost(v));
      std::vector<const HostTensor *> ptrs;
      for (const HostTensor &h : hosts)
        ptrs.push_back(&h);
      auto folded = evaluateOp(*op, ptrs);
      if (!folded)
        return diag(op->loc(), "folding constants: {}",
                    llvm::toString(folded.takeError()));
      const HostTensor &res = folded->front();
      ConstData data;
      data.f = res.f;
      data.i = res.i;
      Value *c = g.addConstant(g.uniqueName(op->result()->name()),
                               op->result()->type(), std::move(data));
      g.replaceAllUsesWith(op->result(), c);
      g.eraseOp(op);
      changed = true;
    }
    if (changed)
      g.removeDeadConstants();
    return changed;
  }
};
} // namespace

std::unique_ptr<Pass> mpc::createCanonicalizePass() {
  return std::make_unique<CanonicalizePass>();
}
