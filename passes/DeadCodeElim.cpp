//===- passes/DeadCodeElim.cpp - Remove what nothing uses -----------------===//
//
// Ops have no side effects, so an op none of whose results is used (by an
// op or as a graph output) is dead. Walks backwards so chains die in one
// sweep, then drops constants nobody reads.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mpc;

namespace {
class DeadCodeElimPass : public Pass {
public:
  llvm::StringRef name() const override { return "dce"; }
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    llvm::SmallPtrSet<const Value *, 8> outputs(g.outputs().begin(),
                                                g.outputs().end());
    std::vector<Op *> ops;
    for (auto &op : g.ops())
      ops.push_back(op.get());
    bool changed = false;
    for (Op *op : llvm::reverse(ops)) {
      bool live = llvm::any_of(op->results(), [&](const Value *r) {
        return r->hasUses() || outputs.count(r);
      });
      if (live)
        continue;
      g.eraseOp(op);
      changed = true;
    }
    size_t before = g.constants().size();
    g.removeDeadConstants();
    return changed || g.constants().size() != before;
  }
};
} // namespace

std::unique_ptr<Pass> mpc::createDeadCodeElimPass() {
  return std::make_unique<DeadCodeElimPass>();
}
