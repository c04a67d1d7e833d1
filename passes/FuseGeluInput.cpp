//===- passes/FuseGeluInput.cpp - GeLU truncates its own input ------------===//
//
// GeLU's protocol starts by opening its input, one word each way per
// element; the feed-forward layer before it ends with a truncation, one
// word each way too. When GeLU truncates the product itself, the
// truncation's opening is the one GeLU needs (its result comes out
// premasked), so one of the two words goes:
//
//   %p = linear.pw %x, @w1              (frac 2f)
//   %t = trunc %p {bits = f}            (frac f)
//   %h = add %t, @b1
//   %y = gelu.mpc %h
//     ->
//   %h = add %p, @b1                    (@b1 encoded at frac 2f: finer)
//   %y = gelu.mpc %h {trunc_bits = f}
//
// The same without the bias. Applies where %t (and %h) have no other use,
// the bias is used once, and the runtime's GeLU takes the truncation
// (rt::geluCanTruncateInput); a GeLU without comparisons (quad: no
// opening to share, rt::geluCompares) is left alone.
//
//===----------------------------------------------------------------------===//

#include "passes/FoldTrunc.h"
#include "passes/Passes.h"
#include "runtime/protocols/Nonlinear.h"

using namespace mpc;

namespace {

bool hasOneUse(const Value *v) { return v->users().size() == 1; }

class FuseGeluInputPass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    bool changed = false;
    for (Op *gelu : g.opsOfKind(OpKind::GeluMpc))
      if (!gelu->hasAttr("trunc_bits") && compares(*gelu))
        changed |= tryFuse(g, gelu);
    return changed;
  }

private:
  static bool compares(const Op &gelu) {
    std::optional<rt::Approximation> a =
        rt::findApprox(rt::ApproxKind::Gelu, gelu.getString("approx"));
    return a && rt::geluCompares(*a);
  }

  static bool tryFuse(Graph &g, Op *gelu) {
    Value *h = gelu->operand(0);
    Op *def = h->definingOp();
    if (!def || !hasOneUse(h))
      return false;
    auto fits = [&](const Op *trunc) {
      return rt::geluCanTruncateInput(
          int(trunc->getInt("bits")),
          int(gelu->getInt("compare_bits", rt::kFullCompareBits)));
    };
    if (def->kind() == OpKind::Trunc) {
      if (!fits(def))
        return false;
      fuse(g, gelu, def, /*add=*/nullptr);
      return true;
    }
    if (def->kind() != OpKind::Add)
      return false;
    for (unsigned i = 0; i < 2; ++i) {
      Value *t = def->operand(i), *bias = def->operand(1 - i);
      Op *trunc = t->definingOp();
      if (!trunc || trunc->kind() != OpKind::Trunc || !hasOneUse(t) ||
          !bias->isConstant() || !hasOneUse(bias) ||
          bias->type().elem != ElemType::Fixed || !fits(trunc))
        continue;
      fuse(g, gelu, trunc, def);
      return true;
    }
    return false;
  }

  /// gelu(add?(trunc(p))) -> gelu(add?(p)) {trunc_bits}.
  static void fuse(Graph &g, Op *gelu, Op *trunc, Op *add) {
    foldTruncIntoConsumer(g, gelu, trunc, add);
  }
};

} // namespace

std::unique_ptr<Pass> mpc::createFuseGeluInputPass() {
  return std::make_unique<FuseGeluInputPass>();
}
