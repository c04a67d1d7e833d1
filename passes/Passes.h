//===- passes/Passes.h - Factories of the registered passes ----*- C++ -*-===//
//
// One factory per entry of Passes.def; each pass lives in its own .cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/Pass.h"

#include <memory>

namespace mpc {

#define MPC_PASS(Name, Class, Summary) std::unique_ptr<Pass> create##Class();
#include "passes/Passes.def"

} // namespace mpc
