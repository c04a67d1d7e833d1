//===- backend/EmitPlan.h - Lowered IR to a plan and a weights file -*- C++
//-*-//
//
// The backend's one job: turn a lowered, scheduled graph into the runtime's
// plan (public: kernels, shapes, scales, visibilities, schedule, compile
// options; never a weight value) and the weights, encoded in the ring at
// their fixed-point scales, for party 0's weights file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "passes/Pass.h"
#include "runtime/Ring.h"
#include "runtime/plan/Plan.pb.h"

#include "llvm/Support/Error.h"

#include <map>

namespace mpc {

struct EmittedPlan {
  plan::Plan plan;
  /// Weight value id -> ring-encoded tensor (party 0 only).
  std::map<int32_t, rt::RingTensor> weights;
};

/// Builds the plan and weights of \p g (lowered and scheduled). Errors name
/// the op that has no runtime kernel.
llvm::Expected<EmittedPlan> emitPlan(const Graph &g, const CompileOptions &opts,
                                     llvm::StringRef modelName);

/// Writes `<base>.plan` and `<base>.weights` atomically: either both files
/// are complete or neither is left behind.
llvm::Error writePlanAndWeights(const EmittedPlan &p, llvm::StringRef planPath,
                                llvm::StringRef weightsPath);

} // namespace mpc
