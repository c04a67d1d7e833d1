//===- frontend/patterns/RmsNorm.cpp - RMSNorm (LLaMA, T5) ----------------===//
//
// HF's LlamaRMSNorm and T5LayerNorm export as
//
//   %p = Pow(%x, 2)                      (or Mul(%x, %x))
//   %v = ReduceMean(%p) {axes = [-1], keepdims = 1}
//   %a = Add(%v, eps)                    (either order)
//   %s = Sqrt(%a)
//   %r = Div(c, %s)   %n = Mul(%x, %r)   (x * rsqrt: c a scalar, usually 1)
//     or %n = Div(%x, %s)
//   %y = Mul(%n, @gamma)                 (optional, either order)
//     ->
//   %y = slice(layernorm(concat(%x, -%x), [@gamma, @gamma] c, 0), [0, D))
//
// RMSNorm is LayerNorm without the centring: over [x, -x] the mean is
// exactly zero and the variance mean(x^2), so the runtime's LayerNorm (its
// rsqrt with the variance at full precision, one truncation) computes it
// at twice the width, the gain folded into its private gamma. (Same-type
// Casts between the ops are aliases after import.)
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Match.h"
#include "frontend/patterns/Patterns.h"
#include "ir/Builder.h"

using namespace mpc;
using namespace mpc::onnx;

namespace {
struct RmsNormMatch {
  Value *x = nullptr, *gamma = nullptr;
  double eps = 0, scale = 1;
  Op *root = nullptr;
};
} // namespace

/// True when \p p is x^2 (Pow(x, 2) or Mul(x, x)); stores x.
static bool squareOf(const Value *p, Value *&x) {
  if (Op *pow = defOf(p, OpKind::Pow)) {
    x = pow->operand(0);
    return isScalar(pow->operand(1), 2.0, 0);
  }
  if (Op *mul = defOf(p, OpKind::Mul)) {
    x = mul->operand(0);
    return mul->operand(1) == x;
  }
  return false;
}

/// Matches the chain above, anchored at the Sqrt.
static std::optional<RmsNormMatch> matchAt(const Graph &g, Op *sqrt) {
  RmsNormMatch m;
  Op *add = defOf(sqrt->operand(0), OpKind::Add);
  Value *var = nullptr, *epsV = nullptr;
  if (!add || !hasOneUse(g, sqrt->operand(0)) ||
      !matchEither(
          add, [](Value *v) { return defOf(v, OpKind::ReduceMean) != nullptr; },
          var, epsV) ||
      !scalarConst(epsV, m.eps) || m.eps < 0 || !hasOneUse(g, var))
    return std::nullopt;
  Op *mean = defOf(var, OpKind::ReduceMean);
  Value *sq = mean->operand(0);
  if (!reducesLastAxisKeepDims(mean) || !squareOf(sq, m.x) ||
      !hasOneUse(g, sq) || m.x->type().elem != ElemType::F32 ||
      m.x->type().rank() < 1)
    return std::nullopt;
  // A centred input is LayerNorm's (fuseLayerNorm runs first).
  Op *user = singleUser(g, sqrt->result(0));
  if (!user || user->kind() != OpKind::Div)
    return std::nullopt;
  if (user->operand(0) == m.x && user->operand(1) == sqrt->result(0)) {
    m.root = user; // x / sqrt(...)
  } else if (user->operand(1) == sqrt->result(0) &&
             scalarConst(user->operand(0), m.scale)) {
    // x * (c / sqrt(...))
    Op *mul = singleUser(g, user->result(0));
    Value *self = nullptr, *other = nullptr;
    if (!mul || mul->kind() != OpKind::Mul ||
        !matchEither(
            mul, [&](Value *v) { return v == user->result(0); }, self, other) ||
        other != m.x)
      return std::nullopt;
    m.root = mul;
  } else {
    return std::nullopt;
  }
  if (m.root->result(0)->type().shape != m.x->type().shape)
    return std::nullopt;
  // Optional gain.
  if (Op *gain = singleUser(g, m.root->result(0));
      gain && gain->kind() == OpKind::Mul) {
    Value *self = nullptr, *other = nullptr;
    Value *cur = m.root->result(0);
    if (matchEither(
            gain, [&](Value *v) { return v == cur; }, self, other) &&
        other != cur && other->isConstant() &&
        gain->result(0)->type().shape == cur->type().shape) {
      m.gamma = other;
      m.root = gain;
    }
  }
  return m;
}

unsigned mpc::onnx::fuseRmsNorm(Graph &g) {
  std::vector<Op *> sqrts = g.opsOfKind(OpKind::Sqrt);
  unsigned matched = 0;
  for (Op *sqrt : sqrts) {
    auto m = matchAt(g, sqrt);
    if (!m)
      continue;
    int64_t d = m->x->type().shape.back();
    Value *gamma = m->gamma ? asVectorConst(g, m->gamma, d) : nullptr;
    if (m->gamma && !gamma)
      continue;
    // [g c, g c]: the gain for both halves, and a zero bias, party 0's
    // (the model's; the layernorm kernel's gamma and beta are its).
    std::vector<double> g2(2 * d, m->scale);
    if (gamma)
      for (int64_t i = 0; i < 2 * d; ++i)
        g2[i] *= gamma->constData().f[i % d];
    std::string base = gamma ? gamma->name() : "rmsnorm";
    Value *gain =
        g.addConstant(g.uniqueName(base + ".rms"),
                      TensorType({2 * d}, ElemType::F32, Vis::Private, 0),
                      ConstData{std::move(g2), {}, false});
    Builder b(g);
    b.setInsertionPointBefore(m->root);
    b.setLoc(sqrt->loc());
    Value *beta =
        g.addConstant(g.uniqueName(base + ".rms_beta"),
                      TensorType({2 * d}, ElemType::F32, Vis::Private, 0),
                      ConstData{std::vector<double>(2 * d, 0.0), {}, false});
    int64_t last = m->x->type().rank() - 1;
    auto neg = b.create(OpKind::Neg, {m->x});
    if (!neg) {
      llvm::consumeError(neg.takeError());
      continue;
    }
    auto both =
        b.create(OpKind::Concat, {m->x, (*neg)->result(0)}, {{"axis", last}});
    if (!both) {
      llvm::consumeError(both.takeError());
      continue;
    }
    auto ln = b.create(OpKind::LayerNorm, {(*both)->result(0), gain, beta},
                       {{"axis", int64_t(-1)}, {"eps", m->eps}});
    if (!ln) {
      llvm::consumeError(ln.takeError());
      continue;
    }
    auto half = b.create(OpKind::Slice, {(*ln)->result(0)},
                         {{"starts", std::vector<int64_t>{0}},
                          {"ends", std::vector<int64_t>{d}},
                          {"axes", std::vector<int64_t>{last}},
                          {"steps", std::vector<int64_t>{1}}});
    if (!half) {
      llvm::consumeError(half.takeError());
      continue;
    }
    replaceValue(g, m->root->result(0), (*half)->result(0));
    ++matched;
  }
  return matched;
}
