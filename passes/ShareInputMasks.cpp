//===- passes/ShareInputMasks.cpp - One mask per private-weight input -----===//
//
// The private-weight protocol masks its input once and sends it once; every
// product with a model weight that reads the same input can reuse that mask
// and message (DESIGN.md §5: Q, K and V of an attention layer). This pass
// merges all `linear.pw` ops reading the same value into one op with one
// weight operand and one result per original op:
//
//   %q = linear.pw %x, @wq ; %k = linear.pw %x, @wk ; %v = linear.pw %x, @wv
//     -> %q, %k, %v = linear.pw %x, @wq, @wk, @wv
//
// The merged op sits where the first one was; its other operands are
// weights (constants), so dependencies stay satisfied.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

using namespace mpc;

namespace {
class ShareInputMasksPass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override;
};
} // namespace

llvm::Expected<bool> ShareInputMasksPass::run(Graph &g, PassContext &ctx) {
  // Group single-input linear.pw ops by their input, in program order.
  llvm::DenseMap<Value *, llvm::SmallVector<Op *, 4>> groups;
  llvm::SmallVector<Value *, 16> order;
  for (auto &op : g.ops()) {
    if (op->kind() != OpKind::LinearPw)
      continue;
    auto &group = groups[op->operand(0)];
    if (group.empty())
      order.push_back(op->operand(0));
    group.push_back(op.get());
  }
  bool changed = false;
  for (Value *x : order) {
    auto &group = groups[x];
    if (group.size() < 2)
      continue;
    llvm::SmallVector<Value *, 4> operands{x};
    llvm::SmallVector<TensorType, 4> types;
    for (Op *op : group) {
      for (unsigned i = 1; i < op->numOperands(); ++i)
        operands.push_back(op->operand(i));
      for (Value *r : op->results())
        types.push_back(r->type());
    }
    Location loc = group.front()->loc();
    loc.derivedBy = name().str();
    Op *merged = g.createOp(g.iteratorOf(group.front()), OpKind::LinearPw,
                            operands, types, loc);
    unsigned next = 0;
    for (Op *op : group) {
      for (Value *r : op->results())
        g.replaceAllUsesWith(r, merged->result(next++));
      g.eraseOp(op);
    }
    changed = true;
  }
  return changed;
}

std::unique_ptr<Pass> mpc::createShareInputMasksPass() {
  return std::make_unique<ShareInputMasksPass>();
}
