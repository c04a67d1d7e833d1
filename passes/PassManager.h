//===- passes/PassManager.h - Running passes by name -----------*- C++ -*-===//
//
// Builds pipelines from names (`--passes=canonicalize,dce`), runs them with
// optional verification after each pass, IR printing after each (or named)
// pass, and per-pass timing (Halide's LoweringLogger).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/Pass.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace mpc {

/// Names and summaries of all registered passes.
std::vector<std::pair<std::string, std::string>> registeredPasses();

struct PassManagerOptions {
  /// The stage of the graph the passes start from (a lowered graph read
  /// back from text is verified as lowered from the first pass on).
  OpStage stage = OpStage::Semantic;
  bool verifyEach = false;
  bool printAfterAll = false;
  std::set<std::string> printAfter;
  bool timePasses = false;
  llvm::raw_ostream *printStream = nullptr; ///< Defaults to errs().
};

class PassManager {
public:
  explicit PassManager(PassManagerOptions opts = {}) : opts_(opts) {}
  void add(std::unique_ptr<Pass> p) { passes_.push_back(std::move(p)); }
  /// Appends passes from "a,b,c"; fails on an unknown name.
  llvm::Error addPipeline(llvm::StringRef names);
  /// Runs every pass in order; stops at the first error, which names the
  /// pass. With verifyEach, a verifier failure after a pass is an error.
  llvm::Error run(Graph &g, PassContext &ctx);

private:
  PassManagerOptions opts_;
  std::vector<std::unique_ptr<Pass>> passes_;
};

/// The default compile pipeline, as a name list (see Pipeline.cpp).
std::string defaultPipeline(const CompileOptions &opts);

} // namespace mpc
