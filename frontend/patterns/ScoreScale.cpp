//===- frontend/patterns/ScoreScale.cpp - Attention's 1/sqrt(d) -----------===//
//
// Attention scales its scores by 1/sqrt(d), d the head dimension (the
// contracted dimension of Q K^T), written by exporters as a Mul or Div by a
// one-element constant from the model file:
//
//   %s = MatMul(%q, %kt)        both activations (not a linear)
//   %y = Div(%s, sqrt(d))       or Mul(%s, 1/sqrt(d)), either order
//
// or on an operand before the product (torch's MultiheadAttention scales
// q; scaled_dot_product_attention scales q and k by d^-1/4 each):
//
//   %y = Div(%q, sqrt(d))       %y reaches MatMul(%y, %kt) (or MatMul(%qs,
//                               %y)) through single-use Reshape/Transpose
//
// Model constants are private to party 0 (ImportContext::addModelConstant),
// but this one is fixed by a public shape: when its value is d^-1/2 (or
// d^-1/4 on an operand) to float precision, the constant is replaced by the
// compiler's public d^-1/2 (d^-1/4), so lowering keeps the cheap public
// product (and fold-score-scale can fold it into the query weights). Any
// other value, e.g. a learned temperature, stays private and is lowered to
// a private-weight product. The plan then reveals only that the model's
// scale is the standard one.
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Match.h"
#include "frontend/patterns/Patterns.h"
#include "ir/Builder.h"

#include <cmath>
#include <optional>

using namespace mpc;
using namespace mpc::onnx;

/// Relative tolerance: float32 storage of a scale computed in double.
static constexpr double kScaleTolerance = 1e-6;

/// The contracted dimension of the semantic MatMul \p mm.
static int64_t contracted(const Op *mm) {
  return mm->operand(0)->type().shape.back();
}

/// The MatMul that \p v feeds as an operand through single-use layout ops.
static const Op *matmulFed(const Graph &g, const Value *v) {
  while (Op *user = singleUser(g, v)) {
    if (user->kind() == OpKind::MatMul)
      return user;
    if (user->kind() != OpKind::Reshape && user->kind() != OpKind::Transpose)
      return nullptr;
    v = user->result(0);
  }
  return nullptr;
}

/// A scale the pattern recognises: m = d^e with d the contracted dimension
/// of \p mm.
struct StandardScale {
  const Op *mm = nullptr;
  double e = 0;
};

/// Whether the multiplier \p m is d^-1/2, or on an operand d^-1/4, for the
/// contracted dimension d of \p mm.
static std::optional<StandardScale> standardScale(const Op *mm, double m,
                                                  bool onOperand) {
  if (!mm || contracted(mm) <= 0)
    return std::nullopt;
  for (double e : {-0.5, -0.25}) {
    if (e == -0.25 && !onOperand)
      continue;
    double want = std::pow(double(contracted(mm)), e);
    if (std::fabs(m - want) <= kScaleTolerance * want)
      return StandardScale{mm, e};
  }
  return std::nullopt;
}

unsigned mpc::onnx::fuseScoreScale(Graph &g) {
  unsigned matched = 0;
  for (OpKind kind : {OpKind::Mul, OpKind::Div}) {
    for (Op *op : g.opsOfKind(kind)) {
      // The constant's operand index; a Div scales by its divisor only.
      unsigned ci = kind == OpKind::Mul && op->operand(0)->isConstant() ? 0 : 1;
      Value *c = op->operand(ci), *x = op->operand(1 - ci);
      double value;
      // Shared x: the product stays shared with a public c, so no type
      // downstream changes.
      if (x->type().vis != Vis::Shared || x->type().elem != ElemType::F32 ||
          c->type().vis == Vis::Public || !scalarConst(c, value) || value == 0)
        continue;
      double m = kind == OpKind::Div ? 1 / value : value;
      std::optional<StandardScale> s =
          standardScale(defOf(x, OpKind::MatMul), m, /*onOperand=*/false);
      if (!s)
        s = standardScale(matmulFed(g, op->result(0)), m, /*onOperand=*/true);
      if (!s)
        continue;
      double exact = std::pow(double(contracted(s->mm)), s->e);
      Builder b(g);
      op->setOperand(ci, b.constF32(c->type().shape,
                                    {kind == OpKind::Div ? 1 / exact : exact},
                                    "score_scale"));
      ++matched;
    }
  }
  return matched;
}
