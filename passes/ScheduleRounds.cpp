//===- passes/ScheduleRounds.cpp - Steps that share communication rounds --===//
//
// Assigns every op a schedule step (attribute `step`) so that the runtime
// can send all exchanges of one step together: rounds are a property of
// this schedule (DESIGN.md §5). As-soon-as-possible levelling: an
// interactive op (one whose runtime kernel communicates, Kernels.def) runs in
// the first step after all its inputs are available; its results are available
// one step later. Local ops run in the step in which their inputs become
// available. Ops are then reordered by step, stably, which keeps the order
// topological.
//
//===----------------------------------------------------------------------===//

#include "passes/OpKernel.h"
#include "passes/Passes.h"

#include "llvm/ADT/DenseMap.h"

#include <algorithm>

using namespace mpc;

namespace {
class ScheduleRoundsPass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    llvm::DenseMap<const Value *, int64_t> available;
    for (auto &op : g.ops()) {
      int64_t step = 0;
      for (Value *v : op->operands())
        step = std::max(step, available.lookup(v));
      op->setAttr("step", step);
      for (Value *r : op->results())
        available[r] = step + (opIsInteractive(op->kind()) ? 1 : 0);
    }
    g.ops().sort(
        [](const std::unique_ptr<Op> &a, const std::unique_ptr<Op> &b) {
          return a->getInt("step") < b->getInt("step");
        });
    return true;
  }
};
} // namespace

std::unique_ptr<Pass> mpc::createScheduleRoundsPass() {
  return std::make_unique<ScheduleRoundsPass>();
}
