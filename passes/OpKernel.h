//===- passes/OpKernel.h - The runtime kernel of each IR op ----*- C++ -*-===//
//
// Ops.def's Kernel column, read against the runtime's kernel table
// (runtime/plan/Kernels.def): the kernel a lowered op runs as, and through
// it the runtime's facts about the op (name in plans, whether it
// communicates, how it reads narrow operands, its cost).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "runtime/plan/Kernel.h"

#include <optional>

namespace mpc {

/// The kernel op kind \p k runs as in a plan; nullopt for an op that must
/// be lowered first (Ops.def: None).
std::optional<rt::KernelId> opKernel(OpKind k);

/// The kernel of \p k, or null for an op that must be lowered first.
const rt::Kernel *opKernelOrNull(OpKind k);

/// Whether \p k communicates: its kernel is interactive (Kernels.def). Ops
/// without a kernel are not.
bool opIsInteractive(OpKind k);

} // namespace mpc
