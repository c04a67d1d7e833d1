//===- passes/ScheduleRounds.cpp - Steps that share communication rounds --===//
//
// Assigns every op a schedule step (attribute `step`) so that the runtime
// can send all exchanges of one step together: rounds are a property of
// this schedule (DESIGN.md §5). As-soon-as-possible levelling: an
// interactive op runs in the first step after all its inputs are available;
// its results are available one step later. Local ops run in the step in
// which their inputs become available. Ops are then reordered by step,
// stably, which keeps the order topological.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "llvm/ADT/DenseMap.h"

#include <algorithm>

using namespace mpc;

/// Ops that communicate (each is one runtime protocol with rounds >= 1).
static bool isInteractive(OpKind k) {
  switch (k) {
  case OpKind::LinearPw:
  case OpKind::MulPw:
  case OpKind::MatMulBeaver:
  case OpKind::MulBeaver:
  case OpKind::Trunc:
  case OpKind::Reveal:
  case OpKind::GeluMpc:
  case OpKind::SoftmaxMpc:
  case OpKind::LayerNormMpc:
  case OpKind::TanhMpc:
    return true;
  default:
    return false;
  }
}

namespace {
class ScheduleRoundsPass : public Pass {
public:
  llvm::StringRef name() const override { return "schedule-rounds"; }
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    llvm::DenseMap<const Value *, int64_t> available;
    for (auto &op : g.ops()) {
      int64_t step = 0;
      for (Value *v : op->operands())
        step = std::max(step, available.lookup(v));
      op->setAttr("step", step);
      for (Value *r : op->results())
        available[r] = step + (isInteractive(op->kind()) ? 1 : 0);
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
