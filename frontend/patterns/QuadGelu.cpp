//===- frontend/patterns/QuadGelu.cpp - MPCFormer's Quad GeLU -------------===//
//
// MPCFormer replaces GeLU with the quadratic 0.125 x^2 + 0.25 x + 0.5 in a
// distilled model. PyTorch exports it as a few Mul/Add ops, e.g.
//
//   %a = Mul(%x, 0.125)
//   %b = Mul(%a, %x)
//   %c = Mul(%x, 0.25)
//   %d = Add(%b, %c)
//   %y = Add(%d, 0.5)
//     ->
//   %y = gelu(%x) {form = "quad"}
//
// Any association, operand order, Pow(x, 2) for the square or division by a
// constant is accepted: the candidate's polynomial in its single
// non-constant leaf x must have exactly these coefficients (within 1e-4).
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Match.h"
#include "frontend/patterns/Patterns.h"
#include "ir/Builder.h"
#include "ir/OpSchema.h"

using namespace mpc;
using namespace mpc::onnx;

unsigned mpc::onnx::fuseQuadGelu(Graph &g) {
  Poly want;
  want.c[{0, 0}] = 0.5;
  want.c[{1, 0}] = 0.25;
  want.c[{2, 0}] = 0.125;
  std::vector<Op *> candidates;
  for (auto &op : g.ops())
    if (op->kind() == OpKind::Add || op->kind() == OpKind::Sub ||
        op->kind() == OpKind::Mul)
      candidates.push_back(op.get());
  unsigned matched = 0;
  for (Op *root : candidates) {
    Value *r = root->result(0);
    if (!r->hasUses() && !isOutput(g, r))
      continue; // Inside an earlier match.
    Value *x = polyLeaf(g, r);
    if (!x || x->type().elem != ElemType::F32 ||
        x->type().shape != r->type().shape)
      continue;
    auto p = polyOf(g, r, x);
    if (!p || !p->near(want))
      continue;
    Builder b(g);
    b.setInsertionPointBefore(root);
    b.setLoc(root->loc());
    auto gelu = b.create(OpKind::Gelu, {x},
                         {{"form", geluFormName(GeluForm::Quad).str()}});
    if (!gelu) {
      llvm::consumeError(gelu.takeError());
      continue;
    }
    replaceValue(g, r, (*gelu)->result(0));
    ++matched;
  }
  return matched;
}
