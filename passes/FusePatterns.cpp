//===- passes/FusePatterns.cpp - The fusion patterns as passes ------------===//
//
// Each pattern of frontend/patterns/Patterns.def as a pass, and all of them
// in the importer's order, so `--passes` can run them on textual IR. Each
// removes what its matches left dead, as the importer does.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "frontend/patterns/Patterns.h"

using namespace mpc;

namespace {
class PatternPass : public Pass {
public:
  explicit PatternPass(unsigned (*pattern)(Graph &)) : pattern_(pattern) {}
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    unsigned matches = pattern_(g);
    g.removeDeadCode();
    return matches != 0;
  }

private:
  unsigned (*pattern_)(Graph &);
};

class RecognisePatternsPass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    return !recognisePatterns(g).counts.empty();
  }
};
} // namespace

std::unique_ptr<Pass> mpc::createPatternPass(unsigned (*pattern)(Graph &)) {
  return std::make_unique<PatternPass>(pattern);
}

std::unique_ptr<Pass> mpc::createRecognisePatternsPass() {
  return std::make_unique<RecognisePatternsPass>();
}
