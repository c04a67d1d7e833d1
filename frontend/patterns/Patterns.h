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
