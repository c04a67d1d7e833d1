//===- passes/RangeCheck.h - Sample inputs against --range-bits -*- C++ -*-===//
//
// The comparisons of GeLU, tanh and softmax, and the truncations of
// products (opened in a ring sized by the range, passes/NarrowRings.cpp),
// are only right for values in the range CompileOptions::rangeBits states;
// outside it they silently give wrong answers. The compiler cannot bound
// activations from the weights (deep models make interval bounds useless),
// but the model owner can run sample inputs through the float interpreter:
// this records the largest magnitude of every such value and says which
// ones leave the range.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "support/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace mpc {

/// The largest input magnitude one range-limited op saw.
struct RangeObservation {
  /// "gelu", "tanh", "relu", "softmax" (their inputs), "product" (the result of
  /// a linear layer, matrix product, scaling or mean: what lowering truncates),
  /// or "layernorm" / "layernorm variance" / "layernorm output" (LayerNorm's
  /// input, its rows' variance + eps and its output, against the fixed
  /// LayerNorm domain).
  std::string kind;
  std::string node; ///< The op's ONNX node, for messages.
  double maxAbs = 0;
  double limit = 0; ///< What rangeBits allows for this kind.
};

struct RangeReport {
  /// The op with the largest maxAbs / limit, per kind that occurs.
  std::vector<RangeObservation> worstPerKind;
  /// Ops whose inputs left their limit.
  std::vector<RangeObservation> outside;
};

/// The bound on |x| for an observation of \p kind: 2^rangeBits, less the
/// mask bias for softmax (rt::softmaxMaskBias); the runtime's fixed
/// LayerNorm domain (rt::layerNormDomain) for the layernorm kinds.
double rangeLimit(llvm::StringRef kind, int rangeBits);

/// Runs \p g (imported, semantic) on \p inputs in the float interpreter and
/// checks GeLU, tanh and softmax inputs and the truncated products against
/// 2^rangeBits, and LayerNorm inputs against its domain. For softmax,
/// entries at or below half the mask bias (-5000) count as masked (the
/// attention-mask bias, which lowering brings to -rt::softmaxMaskBias) and
/// are skipped; the others must leave room for that bias.
llvm::Expected<RangeReport>
checkRanges(const Graph &g, const std::map<std::string, HostTensor> &inputs,
            int rangeBits);

} // namespace mpc
