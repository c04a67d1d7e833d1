//===- passes/ExactTruncation.cpp - Every truncation an exact floor -------===//
//
// With --exact-truncation, every op whose protocol truncates (the runtime
// says which: Kernel::truncates) gets `exact = 1`, and the runtime then
// subtracts the borrow the one-round truncation drops
// (runtime/protocols/Trunc.h): each result is floor(x / 2^bits), whatever
// the masks, so the revealed outputs are a deterministic function of the
// inputs and weights (README, threat model). It runs after every pass that
// creates or folds truncations, so none is missed; the attribute is only
// ever set, so a plan compiled without the flag is unchanged.
//
//===----------------------------------------------------------------------===//

#include "passes/OpKernel.h"
#include "passes/Passes.h"
#include "runtime/plan/Kernel.h"

using namespace mpc;

namespace {

class ExactTruncationPass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    bool changed = false;
    for (const auto &op : g.ops()) {
      const rt::Kernel *k = opKernelOrNull(op->kind());
      if (!k || !k->truncates() || op->getInt(rt::kExactTruncAttrName, 0) == 1)
        continue;
      op->setAttr(rt::kExactTruncAttrName, Attr(int64_t(1)));
      changed = true;
    }
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> mpc::createExactTruncationPass() {
  return std::make_unique<ExactTruncationPass>();
}
