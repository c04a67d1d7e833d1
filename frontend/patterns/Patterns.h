//===- frontend/patterns/Patterns.h - Transformer pattern recognition -*- C++
//-*-//
//
// Each pattern rewrites a decomposed ONNX sub-graph (already imported as
// primitive IR ops) into one semantic IR op, so that later passes can pick
// an MPC-friendly approximation per op. One pattern per file; each file
// documents the sub-graph it matches. Every function returns how many times
// it matched; matched ops are left dead for Graph::removeDeadCode.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/StringRef.h"

#include <map>
#include <string>

namespace mpc {

/// How many times each pattern matched, keyed by pattern name
/// ("layernorm", "gelu.erf", "gelu.tanh", "gelu.quad", "softmax.2quad",
/// "mask_bias", "embedding", "linear", ...). Patterns that did not match are
/// absent.
struct PatternStats {
  std::map<std::string, unsigned> counts;

  unsigned count(llvm::StringRef pattern) const;
  /// "layernorm=3 linear=8 ..." in name order; "none" when empty.
  std::string str() const;
};

/// Runs every pattern over \p g (in a fixed order), removing what each
/// leaves dead. \returns the match counts.
PatternStats recognisePatterns(Graph &g);

} // namespace mpc

namespace mpc::onnx {

/// MatMul(x, W) [+ b] with constant 2-D W -> linear(x, W[, b]).
unsigned fuseLinear(Graph &g);
/// Gather(table, ids) with a constant 2-D table -> embedding(table, ids).
unsigned fuseEmbedding(Graph &g);
/// Decomposed LayerNorm (opsets 13/14) -> layernorm(x, gamma, beta).
unsigned fuseLayerNorm(Graph &g);
/// x * rsqrt(mean(x^2) + eps) [* gamma] -> layernorm over [x, -x], halved.
unsigned fuseRmsNorm(Graph &g);
/// Erf and tanh GeLU forms -> gelu {form = "erf" | "tanh"}; counts per form
/// are added to \p erf and \p tanh.
void fuseGelu(Graph &g, unsigned &erf, unsigned &tanh);
/// fuseGelu, both forms counted together.
unsigned fuseGeluForms(Graph &g);
/// 0.125 x^2 + 0.25 x + 0.5 -> gelu {form = "quad"}.
unsigned fuseQuadGelu(Graph &g);
/// (x + c)^2 / ReduceSum((x + c)^2) -> softmax {form = "2quad", c}.
unsigned fuseTwoQuadSoftmax(Graph &g);
/// Exp(x - ReduceMax(x)) / ReduceSum(...) -> softmax {form = "exp"}.
unsigned fuseExpSoftmax(Graph &g);
/// (1 - Cast(mask)) * value -> mask_bias(mask) {value}.
unsigned fuseMaskBias(Graph &g);
/// Attention's 1/sqrt(d) (a model constant) -> the compiler's public one.
unsigned fuseScoreScale(Graph &g);

} // namespace mpc::onnx
