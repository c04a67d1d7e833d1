//===- tools/mpc-run/Options.h - mpc-run's run options ---------*- C++ -*-===//
#pragma once

#include "runtime/session/Run.h"

#include "llvm/Support/CommandLine.h"

namespace mpc::tool {

/// The category of mpc-run's own options (--help shows only these).
extern llvm::cl::OptionCategory runOptions;

/// The run the parsed command line describes (a role, or local).
rt::RunConfig runConfig();

} // namespace mpc::tool
