//===- runtime/session/ClientCheck.h - What party 0 would learn -*- C++ -*-===//
//
// The plan is written by the model owner, party 0, so the client checks it
// before it connects. A value derived from party 1's inputs reaches party 0
// in the clear only where an op turns a value party 0 cannot see (shared
// or private1) into one it can (public or private0). Kernels open values
// only under fresh uniform masks of their width, whatever their
// attributes (attributes change correctness, never what an opening
// shows), and the only kernel whose output party 0 may see while an input
// is hidden from it is `reveal` (to 0 or both); a local op computes a
// party-0-visible output only from party-0-visible inputs (Kernels.def).
// The check does not rely on that: it follows every op.
//
// So: a value is client-derived when it is a party-1 input or an output of
// an op with a client-derived input. Every op whose client-derived output
// party 0 can see, while one of its client-derived inputs is hidden from
// party 0, is a disclosure. Party 1 accepts a disclosure only of a declared
// plan output, and only with --reveal-to-both (which also hands party 0
// the outputs party 1 receives, after the run).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/PlanReader.h"

#include "llvm/Support/Error.h"

#include <string>

namespace mpc::rt {

/// Refuses \p plan if it discloses to party 0 anything derived from party
/// 1's inputs other than the declared outputs, or those without
/// \p revealToBoth; the error names the op, the value and the input it
/// derives from. Otherwise returns what party 0 learns, as one line:
/// "party 0 learns: nothing but the plan's shapes" or "party 0 learns:
/// output 'logits' [1,2]".
llvm::Expected<std::string> checkPlanForClient(const LoadedPlan &plan,
                                               bool revealToBoth);

} // namespace mpc::rt
