//===- passes/PassManager.cpp - Running passes by name -------------------===//

#include "passes/PassManager.h"
#include "ir/IR.h"
#include "passes/Passes.h"

#include "frontend/patterns/Patterns.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace mpc;

Pass::~Pass() = default;

std::unique_ptr<Pass> mpc::createPass(llvm::StringRef name) {
  std::unique_ptr<Pass> p;
#define MPC_PASS(Name, Class, Summary)                                         \
  if (name == Name)                                                            \
    p = create##Class();
#include "passes/Passes.def"
#define MPC_PATTERN(Name, Function, Summary)                                   \
  if (name == Name)                                                            \
    p = createPatternPass(onnx::Function);
#include "frontend/patterns/Patterns.def"
  if (p)
    p->name_ = name.str();
  return p;
}

std::vector<std::pair<std::string, std::string>> mpc::registeredPasses() {
  return {
#define MPC_PASS(Name, Class, Summary) {Name, Summary},
#include "passes/Passes.def"
#define MPC_PATTERN(Name, Function, Summary) {Name, Summary},
#include "frontend/patterns/Patterns.def"
  };
}

llvm::Error PassManager::addPipeline(llvm::StringRef names) {
  llvm::SmallVector<llvm::StringRef, 8> parts;
  names.split(parts, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (llvm::StringRef part : parts) {
    part = part.trim();
    std::unique_ptr<Pass> p = createPass(part);
    if (!p) {
      std::string known;
      for (auto &[n, s] : registeredPasses())
        known += (known.empty() ? "" : ", ") + n;
      return error("unknown pass '{}' (registered: {})", part.str(), known);
    }
    add(std::move(p));
  }
  return llvm::Error::success();
}

llvm::Error PassManager::run(Graph &g, PassContext &ctx) {
  llvm::raw_ostream &os = opts_.printStream ? *opts_.printStream : llvm::errs();
  OpStage stage = opts_.stage;
  for (auto &pass : passes_) {
    if (pass->lowers())
      stage = OpStage::Lowered;
    auto start = std::chrono::steady_clock::now();
    llvm::Expected<bool> changed = pass->run(g, ctx);
    if (!changed)
      return addContext(changed.takeError(),
                        ("pass '" + pass->name() + "': ").str());
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (opts_.timePasses)
      os << llvm::format("%-22s %8.3f ms%s\n", pass->name().str().c_str(),
                         secs * 1e3, *changed ? "" : "  (no change)");
    if (opts_.verifyEach) {
      if (llvm::Error e = verifyGraph(g, stage))
        return addContext(
            std::move(e),
            ("verifier failed after pass '" + pass->name() + "': ").str());
    }
    if (opts_.printAfterAll || opts_.printAfter.count(pass->name().str())) {
      os << "// ----- IR after " << pass->name() << " -----\n";
      printGraph(g, os);
    }
  }
  return llvm::Error::success();
}
