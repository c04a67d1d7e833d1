//===- runtime/plan/InProcess.h - All three roles in one process -*- C++ -*-//
//
// Runs party 0, party 1 and the dealer as three threads over in-memory
// channels: the same protocols, messages and arithmetic as three processes
// over TCP, without sockets. `mpcc simulate` and the end-to-end tests use it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/Executor.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>

namespace mpc::rt {

struct InProcessResult {
  std::map<std::string, HostTensor> outputs; ///< What party 1 learns.
  RunProfile profile;                        ///< Merged over the three roles.
  RunProfile party0, party1, dealer;
};

/// Runs \p plan with party 0's \p weights and party 1's \p inputs (by plan
/// input name). The first error of any role is returned, with its role.
llvm::Expected<InProcessResult>
runInProcess(const LoadedPlan &plan, WeightMap weights,
             const std::map<std::string, HostTensor> &inputs,
             RunOptions opts = {});

} // namespace mpc::rt
