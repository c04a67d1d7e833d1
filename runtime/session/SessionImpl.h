//===- runtime/session/SessionImpl.h - Session internals -------*- C++ -*-===//
//
// Pieces shared by the files of runtime/session. Internal.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/Profile.h"
#include "runtime/session/Run.h"

#include <string>

namespace mpc::rt {

/// Writes \p p as profile JSON with the plan's predicted cost beside it.
llvm::Error writeProfileFile(const std::string &path, const RunProfile &p,
                             const LoadedPlan &plan,
                             const PeakRss *rss = nullptr);

} // namespace mpc::rt
