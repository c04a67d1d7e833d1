//===- frontend/patterns/Gelu.cpp - Erf and tanh GeLU forms ---------------===//
//
// Exact GeLU (torch.nn.functional.gelu; no Gelu op before opset 20):
//
//   %t = Div(%x, 1.4142135)           (or Mul(%x, 0.70710678))
//   %e = Erf(%t)
//   %a = Add(%e, 1.0)
//   %m = Mul(%x, %a)
//   %y = Mul(%m, 0.5)
//     ->
//   %y = gelu(%x) {form = "erf"}
//
// Tanh GeLU (HF gelu_new, approximate="tanh"):
//
//   %y = 0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
//     ->
//   %y = gelu(%x) {form = "tanh"}
//
// with the cube as Pow(x, 3) or Mul chains. Operand order and association
// vary between exporters, so the match is on polynomials (Match.h): the
// Erf/Tanh argument must read as c1*x (+ c3*x^3), the result as
// 0.5*x + 0.5*x*e, every coefficient within 1e-4 of the formula's.
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Match.h"
#include "frontend/patterns/Patterns.h"
#include "ir/Builder.h"
#include "ir/OpSchema.h"

#include <cmath>
#include <numbers>

using namespace mpc;
using namespace mpc::onnx;

/// The argument polynomial of the Erf (form "erf") or Tanh ("tanh").
static Poly argumentPoly(OpKind kind) {
  Poly p;
  if (kind == OpKind::Erf) {
    p.c[{1, 0}] = 1.0 / std::sqrt(2.0);
  } else {
    double s = std::sqrt(2.0 / std::numbers::pi);
    p.c[{1, 0}] = s;
    p.c[{3, 0}] = s * 0.044715;
  }
  return p;
}

/// Walks forward from the Erf/Tanh result through single-use polynomial
/// ops and returns the first op whose result reads 0.5*x*(1 + e).
static Op *findRoot(const Graph &g, Value *e, Value *x) {
  Poly want;
  want.c[{1, 0}] = 0.5;
  want.c[{1, 1}] = 0.5;
  Value *cur = e;
  for (int step = 0; step < 6; ++step) {
    Op *user = singleUser(g, cur);
    if (!user)
      return nullptr;
    OpKind k = user->kind();
    if (k != OpKind::Add && k != OpKind::Mul && k != OpKind::Div &&
        k != OpKind::Sub)
      return nullptr;
    Value *r = user->result(0);
    auto p = polyOf(g, r, x, e);
    if (p && p->near(want) && r->type().shape == x->type().shape)
      return user;
    cur = r;
  }
  return nullptr;
}

void mpc::onnx::fuseGelu(Graph &g, unsigned &erf, unsigned &tanh) {
  std::vector<Op *> anchors;
  for (auto &op : g.ops())
    if (op->kind() == OpKind::Erf || op->kind() == OpKind::Tanh)
      anchors.push_back(op.get());
  for (Op *t : anchors) {
    Value *e = t->result(0);
    if (!hasOneUse(g, e))
      continue;
    Value *x = polyLeaf(g, t->operand(0));
    if (!x || x->type().elem != ElemType::F32)
      continue;
    auto arg = polyOf(g, t->operand(0), x);
    if (!arg || !arg->near(argumentPoly(t->kind())))
      continue;
    Op *root = findRoot(g, e, x);
    if (!root)
      continue;
    bool isErf = t->kind() == OpKind::Erf;
    Builder b(g);
    b.setInsertionPointBefore(root);
    b.setLoc(t->loc());
    auto gelu = b.create(
        OpKind::Gelu, {x},
        {{"form", geluFormName(isErf ? GeluForm::Erf : GeluForm::Tanh).str()}});
    if (!gelu) {
      llvm::consumeError(gelu.takeError());
      continue;
    }
    replaceValue(g, root->result(0), (*gelu)->result(0));
    ++(isErf ? erf : tanh);
  }
}
