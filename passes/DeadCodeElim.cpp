//===- passes/DeadCodeElim.cpp - Remove what nothing uses -----------------===//
//
// Graph::removeDeadCode as a pass (what lowering and fusion left unused).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

using namespace mpc;

namespace {
class DeadCodeElimPass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    return g.removeDeadCode();
  }
};
} // namespace

std::unique_ptr<Pass> mpc::createDeadCodeElimPass() {
  return std::make_unique<DeadCodeElimPass>();
}
