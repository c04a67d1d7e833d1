//===- passes/FoldTrunc.h - Moving a truncation into its consumer -*- C++
//-*-===//
//
// Shared by the passes that let a consumer (GeLU's comparison, the output
// reveal) take its operand untruncated and truncate it itself.
//
//===----------------------------------------------------------------------===//

#ifndef MPC_PASSES_FOLDTRUNC_H
#define MPC_PASSES_FOLDTRUNC_H

#include "ir/Graph.h"

namespace mpc {

/// consumer(add?(trunc(p))) -> consumer(add?(p)) {trunc_bits}: the optional
/// bias add moves to p's scale, the truncation is erased and its bit count
/// becomes the consumer's attribute "trunc_bits".
void foldTruncIntoConsumer(Graph &g, Op *consumer, Op *trunc, Op *add);

} // namespace mpc

#endif
