//===- frontend/patterns/Patterns.cpp - Running the patterns --------------===//
//
// The fixed pattern order. Linear runs first so the activation patterns see
// `linear` results as their inputs; every pattern is followed by dead-code
// removal so the next one never matches ops an earlier match made dead.
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Patterns.h"

using namespace mpc;
using namespace mpc::onnx;

unsigned PatternStats::count(llvm::StringRef pattern) const {
  auto it = counts.find(pattern.str());
  return it == counts.end() ? 0 : it->second;
}

std::string PatternStats::str() const {
  std::string s;
  for (const auto &[name, n] : counts)
    s += (s.empty() ? "" : " ") + name + "=" + std::to_string(n);
  return s.empty() ? "none" : s;
}

unsigned mpc::onnx::fuseGeluForms(Graph &g) {
  unsigned erf = 0, tanh = 0;
  fuseGelu(g, erf, tanh);
  return erf + tanh;
}

PatternStats mpc::recognisePatterns(Graph &g) {
  PatternStats stats;
  auto record = [&](const char *name, unsigned n) {
    if (n)
      stats.counts[name] += n;
    g.removeDeadCode();
  };
  record("linear", fuseLinear(g));
  record("embedding", fuseEmbedding(g));
  record("layernorm", fuseLayerNorm(g));
  record("rmsnorm", fuseRmsNorm(g));
  unsigned erf = 0, tanh = 0;
  fuseGelu(g, erf, tanh);
  if (erf)
    stats.counts["gelu.erf"] += erf;
  record("gelu.tanh", tanh);
  record("gelu.quad", fuseQuadGelu(g));
  record("softmax.2quad", fuseTwoQuadSoftmax(g));
  record("softmax.exp", fuseExpSoftmax(g));
  record("mask_bias", fuseMaskBias(g));
  // Last: the patterns above absorb their own Mul/Div by constants.
  record("score_scale", fuseScoreScale(g));
  return stats;
}
