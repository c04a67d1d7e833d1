//===- passes/Pipeline.cpp - The default compile pipeline -----------------===//
//
// The pipeline `mpcc compile` runs, as one readable list (Halide's
// lower_impl, SPU's buildPipeline):
//
//   canonicalize        fold what the frontend left constant
//   hoist-selections    a slice of rows (BERT's [CLS]) moved above the
//                       row-wise ops feeding it: only those rows computed
//   split-heads         a softmax per run of heads with one approximation
//                       (--approx softmax=NAME@GLOB#HEADS)
//   infer-visibility    weights P0, inputs P1, everything else derived
//   lower-to-protocols  protocols, approximations, fixed point, truncations
//   fold-score-scale    attention's 1/sqrt(d) into the query weights' scale
//   choose-scales       (--frac-bits auto) each GeLU's, tanh's, ReLU's and
//                       softmax's range and scale from calibrated values
//   fuse-gelu-input     GeLU truncates its input (one opening, not two),
//                       when its approximation compares
//   share-input-masks   one mask and one message per private-weight input
//   dce                 drop what lowering left unused
//   narrow-rings        openings in the ring each value needs (< 64 bits)
//   reveal-before-trunc outputs opened untruncated, truncated exactly in the
//                       clear by the receiver (deterministic outputs)
//   exact-truncation    (--exact-truncation) every truncation an exact floor
//   schedule-rounds     steps whose exchanges share rounds
//
//===----------------------------------------------------------------------===//

#include "passes/PassManager.h"

#include "llvm/ADT/STLExtras.h"

#include "runtime/protocols/Nonlinear.h"

using namespace mpc;

std::string mpc::defaultPipeline(const CompileOptions &opts) {
  std::string p = "canonicalize,hoist-selections,split-heads,infer-visibility,"
                  "lower-to-protocols,"
                  "fold-score-scale,";
  if (opts.autoScales)
    p += "choose-scales,";
  // Only a GeLU that compares has an opening its input's truncation can
  // share (rt::geluCompares); the pass leaves the others alone.
  if (llvm::any_of(opts.approxChoices(rt::ApproxKind::Gelu), rt::geluCompares))
    p += "fuse-gelu-input,";
  p += "share-input-masks,dce,narrow-rings,reveal-before-trunc,";
  if (opts.exactTruncation)
    p += "exact-truncation,";
  return p + "schedule-rounds";
}
