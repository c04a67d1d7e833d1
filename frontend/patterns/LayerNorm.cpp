//===- frontend/patterns/LayerNorm.cpp - Decomposed LayerNorm -------------===//
//
// PyTorch at opsets 13/14 exports nn.LayerNorm as
//
//   %m = ReduceMean(%x) {axes = [-1], keepdims = 1}
//   %d = Sub(%x, %m)
//   %p = Pow(%d, 2)                      (or Mul(%d, %d))
//   %v = ReduceMean(%p) {axes = [-1], keepdims = 1}
//   %a = Add(%v, eps)                    (either order)
//   %s = Sqrt(%a)
//   %n = Div(%d, %s)
//   %y = Mul(%n, @gamma)                 (optional, either order)
//   %z = Add(%y, @beta)                  (optional, either order)
//     ->
//   %z = layernorm(%x, @gamma, @beta) {axis = -1, eps}
//
// gamma and beta are constants of D = last-dimension elements; a missing
// one becomes a public constant of ones / zeros. (Opset 17 exports a
// LayerNormalization node, imported directly.)
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Match.h"
#include "frontend/patterns/Patterns.h"
#include "ir/Builder.h"

using namespace mpc;
using namespace mpc::onnx;

namespace {
struct LayerNormMatch {
  Value *x = nullptr, *gamma = nullptr, *beta = nullptr;
  double eps = 0;
  Op *root = nullptr;
};
} // namespace

/// True when \p p is d^2 (Pow(d, 2) or Mul(d, d)).
static bool isSquareOf(const Value *p, const Value *d) {
  if (Op *pow = defOf(p, OpKind::Pow))
    return pow->operand(0) == d && isScalar(pow->operand(1), 2.0, 0);
  if (Op *mul = defOf(p, OpKind::Mul))
    return mul->operand(0) == d && mul->operand(1) == d;
  return false;
}

/// Matches the chain above, anchored at the Div.
static std::optional<LayerNormMatch> matchAt(const Graph &g, Op *div) {
  Value *d = div->operand(0), *s = div->operand(1);
  Op *sub = defOf(d, OpKind::Sub);
  Op *sqrt = defOf(s, OpKind::Sqrt);
  if (!sub || !sqrt || !hasOneUse(g, s))
    return std::nullopt;
  // d = x - ReduceMean(x).
  LayerNormMatch m;
  m.x = sub->operand(0);
  Op *mean = defOf(sub->operand(1), OpKind::ReduceMean);
  if (!mean || mean->operand(0) != m.x || !reducesLastAxisKeepDims(mean) ||
      !hasOneUse(g, sub->operand(1)) || m.x->type().elem != ElemType::F32)
    return std::nullopt;
  // s = sqrt(ReduceMean(d^2) + eps).
  Op *add = defOf(sqrt->operand(0), OpKind::Add);
  Value *var = nullptr, *epsV = nullptr;
  if (!add || !hasOneUse(g, sqrt->operand(0)) ||
      !matchEither(
          add, [](Value *v) { return defOf(v, OpKind::ReduceMean) != nullptr; },
          var, epsV) ||
      !scalarConst(epsV, m.eps) || m.eps < 0 || !hasOneUse(g, var))
    return std::nullopt;
  Op *varOp = defOf(var, OpKind::ReduceMean);
  Value *sq = varOp->operand(0);
  if (!reducesLastAxisKeepDims(varOp) || !isSquareOf(sq, d) ||
      !hasOneUse(g, sq))
    return std::nullopt;
  // d feeds exactly the square and the Div.
  for (Op *u : d->users())
    if (u != div && u != sq->definingOp())
      return std::nullopt;
  if (isOutput(g, d))
    return std::nullopt;

  // Optional affine part.
  m.root = div;
  auto affine = [&](OpKind kind, Value *&param) {
    Op *user = singleUser(g, m.root->result(0));
    if (!user || user->kind() != kind)
      return;
    Value *cur = m.root->result(0), *other = nullptr, *self = nullptr;
    if (!matchEither(
            user, [&](Value *v) { return v == cur; }, self, other) ||
        other == cur || !other->isConstant() ||
        user->result(0)->type().shape != cur->type().shape)
      return;
    param = other;
    m.root = user;
  };
  affine(OpKind::Mul, m.gamma);
  affine(OpKind::Add, m.beta);
  return m;
}

unsigned mpc::onnx::fuseLayerNorm(Graph &g) {
  std::vector<Op *> divs = g.opsOfKind(OpKind::Div);
  unsigned matched = 0;
  for (Op *div : divs) {
    auto m = matchAt(g, div);
    if (!m)
      continue;
    int64_t dim = m->x->type().shape.back();
    Value *gamma = m->gamma ? asVectorConst(g, m->gamma, dim) : nullptr;
    Value *beta = m->beta ? asVectorConst(g, m->beta, dim) : nullptr;
    if ((m->gamma && !gamma) || (m->beta && !beta))
      continue;
    Builder b(g);
    b.setInsertionPointBefore(m->root);
    b.setLoc(div->loc());
    if (!gamma)
      gamma = b.constF32({dim}, std::vector<double>(dim, 1.0), "ones");
    if (!beta)
      beta = b.constF32({dim}, std::vector<double>(dim, 0.0), "zeros");
    auto ln = b.create(OpKind::LayerNorm, {m->x, gamma, beta},
                       {{"axis", int64_t(-1)}, {"eps", m->eps}});
    if (!ln) {
      llvm::consumeError(ln.takeError());
      continue;
    }
    replaceValue(g, m->root->result(0), (*ln)->result(0));
    ++matched;
  }
  return matched;
}
