//===- passes/RevealBeforeTrunc.cpp - Outputs truncated in the clear ------===//
//
// A truncation protocol is right to one ulp, and which way it rounds
// depends on its random mask: a truncation right before an output's
// reveal would hand the client an output that varies between runs, and
// intersecting the runs narrows down the untruncated value (issue 9, item
// 4). Opening the product first and truncating it in the clear at the
// receiver is exact and deterministic, and cheaper (no truncation
// material, one round less, one direction only):
//
//   %p = linear.pw %x, @w              (frac 2f)
//   %t = trunc %p {bits = f, ring_bits = R}
//   %h = add %t, @b
//   %y = reveal %h {to = 1}            (frac f)
//     ->
//   %h = add %p, @b                    (@b encoded at frac 2f: finer)
//   %y = reveal %h {to = 1, ring_bits = R, trunc_bits = f}
//
// The same without the bias. The reveal opens in the truncation's ring
// (narrow-rings chose it from the value's range: runtime/protocols/
// Narrow.h), so this pass runs after narrow-rings. Applies where %t (and
// %h) have no other use and the bias is used once, as in fuse-gelu-input.
// What the output then reveals is the exact fixed-point value of the
// product (README, threat model).
//
//===----------------------------------------------------------------------===//

#include "passes/FoldTrunc.h"
#include "passes/Passes.h"

using namespace mpc;

namespace {

bool hasOneUse(const Value *v) { return v->users().size() == 1; }

class RevealBeforeTruncPass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    bool changed = false;
    for (Op *reveal : g.opsOfKind(OpKind::Reveal))
      if (!reveal->hasAttr("trunc_bits"))
        changed |= tryFuse(g, reveal);
    return changed;
  }

private:
  static bool isTrunc(const Value *v) {
    const Op *def = v->definingOp();
    return def && def->kind() == OpKind::Trunc && hasOneUse(v);
  }

  static bool tryFuse(Graph &g, Op *reveal) {
    Value *h = reveal->operand(0);
    Op *def = h->definingOp();
    if (!def || !hasOneUse(h))
      return false;
    if (def->kind() == OpKind::Trunc) {
      fuse(g, reveal, def, /*add=*/nullptr);
      return true;
    }
    if (def->kind() != OpKind::Add)
      return false;
    for (unsigned i = 0; i < 2; ++i) {
      Value *t = def->operand(i), *bias = def->operand(1 - i);
      if (!isTrunc(t) || !bias->isConstant() || !hasOneUse(bias) ||
          bias->type().elem != ElemType::Fixed)
        continue;
      fuse(g, reveal, t->definingOp(), def);
      return true;
    }
    return false;
  }

  /// reveal(add?(trunc(p))) -> reveal(add?(p)) {ring_bits, trunc_bits}.
  static void fuse(Graph &g, Op *reveal, Op *trunc, Op *add) {
    if (trunc->hasAttr("ring_bits"))
      reveal->setAttr("ring_bits", Attr(trunc->getInt("ring_bits")));
    foldTruncIntoConsumer(g, reveal, trunc, add);
  }
};

} // namespace

std::unique_ptr<Pass> mpc::createRevealBeforeTruncPass() {
  return std::make_unique<RevealBeforeTruncPass>();
}
