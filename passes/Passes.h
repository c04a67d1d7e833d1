//===- passes/Passes.h - Factories of the registered passes ----*- C++ -*-===//
//
// One factory per entry of Passes.def, each pass in its own .cpp, and one
// for the fusion patterns (FusePatterns.cpp).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/Pass.h"

#include <memory>

namespace mpc {

#define MPC_PASS(Name, Class, Summary) std::unique_ptr<Pass> create##Class();
#include "passes/Passes.def"

/// A fusion pattern (frontend/patterns/Patterns.def) as a pass.
std::unique_ptr<Pass> createPatternPass(unsigned (*pattern)(Graph &));

} // namespace mpc
