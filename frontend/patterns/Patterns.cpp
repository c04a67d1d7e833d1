//===- frontend/patterns/Patterns.cpp - Running the patterns --------------===//
//
// The fixed pattern order and dead-code removal. Linear runs first so the
// activation patterns see `linear` results as their inputs; every pattern is
// followed by dead-code removal so the next one never matches ops an earlier
// match made dead.
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Patterns.h"
#include "frontend/OnnxImporter.h"

#include <set>

using namespace mpc;
using namespace mpc::onnx;

unsigned mpc::removeDeadCode(Graph &g) {
  std::set<const Value *> outputs(g.outputs().begin(), g.outputs().end());
  std::vector<Op *> ops;
  for (auto &op : g.ops())
    ops.push_back(op.get());
  unsigned removed = 0;
  // Reverse order: a consumer goes before its producers are looked at.
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    Op *op = *it;
    bool live = false;
    for (Value *r : op->results())
      live |= r->hasUses() || outputs.count(r);
    if (live)
      continue;
    g.eraseOp(op);
    ++removed;
  }
  g.removeDeadConstants();
  return removed;
}

PatternStats mpc::recognisePatterns(Graph &g) {
  PatternStats stats;
  auto record = [&](const char *name, unsigned n) {
    if (n)
      stats.counts[name] += n;
    removeDeadCode(g);
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
