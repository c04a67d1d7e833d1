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
#include "ir/IR.h"
#include "passes/Pass.h"
#include "support/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
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

/// LayerNorm's observation kinds: "layernorm" (its input) for an empty
/// \p aspect, else "layernorm variance" / "layernorm output"; the op's name
/// is the IR's.
std::string layerNormRangeKind(llvm::StringRef aspect = {});
/// Whether \p kind is one of LayerNorm's (its domain is fixed, not set by
/// --range-bits).
bool isLayerNormRangeKind(llvm::StringRef kind);

/// Where an approximation's error bound holds, as the calibration sees it:
/// the input of its op, or for LayerNorm the rows' variance + eps (the
/// domain of the rsqrt it uses).
struct ApproxDomain {
  const rt::ApproxInfo *entry; ///< The approximation (e.g. layernorm.crypten).
  std::string what;            ///< "input", "variance + eps".
  double lo = 0, hi = 0;
};

/// The domain of \p a (Approximations.def; LayerNorm's from its rsqrt).
ApproxDomain approxDomain(rt::Approximation a);

/// Where the values \p op's approximation \p a sees lie, in the terms of
/// approxDomain(a), on \p op's input \p x: the input, or for LayerNorm
/// its rows' variance + eps. Masked softmax entries count only for an
/// entry whose domain does not reach down to the mask bias.
std::pair<double, double> approxValuesSeen(const Op &op, rt::Approximation a,
                                           const HostTensor &x);

/// Whether \p a's domain is narrower than its kind's default's: a model's
/// values may leave it where the default would hold.
bool hasNarrowerDomain(rt::Approximation a);

/// An op whose calibrated values left the domain of the approximation the
/// options chose for it.
struct DomainObservation {
  ApproxDomain domain;
  std::string node; ///< The op's ONNX node.
  double seenLo = 0, seenHi = 0;
};

struct RangeReport {
  /// Every op's, in the order the ops first ran.
  std::vector<RangeObservation> all;
  /// The op with the largest maxAbs / limit, per kind that occurs.
  std::vector<RangeObservation> worstPerKind;
  /// Ops whose inputs left their limit.
  std::vector<RangeObservation> outside;
  /// Ops approximated by a chosen (not the kind's default) entry whose
  /// values left that entry's domain.
  std::vector<DomainObservation> outsideDomain;
};

/// The bound on |x| for an observation of \p kind: 2^rangeBits, less the
/// mask bias for softmax (rt::softmaxMaskBias); the runtime's fixed
/// LayerNorm domain (rt::layerNormDomain) for the layernorm kinds.
double rangeLimit(llvm::StringRef kind, int rangeBits);

/// Runs \p g (imported, semantic) on \p inputs in the float interpreter and
/// checks GeLU, tanh and softmax inputs and the truncated products against
/// 2^opts.rangeBits, and LayerNorm inputs against its domain. For softmax,
/// entries at or below half the mask bias (-5000) count as masked (the
/// attention-mask bias, which lowering brings to -rt::softmaxMaskBias) and
/// are skipped; the others must leave room for that bias. A product's
/// entries at or below -1e6 are mask fills (-inf, -1e9, finfo.min times a
/// scale, which lowering replaces by the mask bias) and are skipped too.
///
/// An op the options give an approximation other than its kind's default
/// (a preset's or --approx KIND=NAME[@GLOB]) is also checked against that
/// entry's domain (approxDomain); masked softmax entries count there unless
/// the entry's domain reaches down to the mask bias (it handles masks). An
/// op the model itself computes in a trained form (Quad GeLU, 2Quad
/// softmax) is what it is and not checked.
llvm::Expected<RangeReport>
checkRanges(const Graph &g, const std::map<std::string, HostTensor> &inputs,
            const CompileOptions &opts);

/// checkRanges over several batches of samples (each one set of \p g's
/// inputs): every observation of every batch counts, and an op leaves its
/// entry's domain where the values of all batches together do. \p
/// constants: as interpretGraph's.
llvm::Expected<RangeReport> checkRangesOnBatches(
    const Graph &g, llvm::ArrayRef<std::map<std::string, HostTensor>> batches,
    const CompileOptions &opts, ConstantCache *constants = nullptr);

/// checkRanges with the default approximations and \p rangeBits.
inline llvm::Expected<RangeReport>
checkRanges(const Graph &g, const std::map<std::string, HostTensor> &inputs,
            int rangeBits) {
  CompileOptions opts;
  opts.rangeBits = rangeBits;
  return checkRanges(g, inputs, opts);
}

} // namespace mpc
