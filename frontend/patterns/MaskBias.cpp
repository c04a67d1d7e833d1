//===- frontend/patterns/MaskBias.cpp - Additive attention mask -----------===//
//
// HF BERT turns the client's 0/1 attention mask into an additive bias:
//
//   %u = Unsqueeze(Unsqueeze(%mask))     (imported as reshape)
//   %f = Cast(%u) {to = f32}             (absent when the mask is float)
//   %s = Sub(1.0, %f)
//   %y = Mul(%s, value)                  (-10000 or finfo(f32).min; either
//                                         order)
//     ->
//   %y = mask_bias(%u) {value}
//
// The Reshape stays; only the arithmetic becomes one op, which the runtime
// evaluates without secure multiplications.
//
// Only a fill value <= kMaskFill is a mask: lowering writes it into the plan
// as -maskBiasMagnitude(rangeBits) >= kMaskFill (the same probabilities
// after softmax), so the plan holds the compiler's value, never the model
// file's. Any other value is a model value like a weight (private to
// party 0): the product stays a Mul, lowered to a private-weight product.
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Match.h"
#include "frontend/patterns/Patterns.h"
#include "ir/Builder.h"

using namespace mpc;
using namespace mpc::onnx;

/// The largest fill value taken as an additive mask (HF's -10000).
static constexpr double kMaskFill = -10000;

unsigned mpc::onnx::fuseMaskBias(Graph &g) {
  std::vector<Op *> muls = g.opsOfKind(OpKind::Mul);
  unsigned matched = 0;
  for (Op *mul : muls) {
    Value *s = nullptr, *k = nullptr;
    double value;
    if (!matchEither(
            mul, [](Value *v) { return defOf(v, OpKind::Sub) != nullptr; }, s,
            k) ||
        !scalarConst(k, value) || !(value <= kMaskFill) || !hasOneUse(g, s))
      continue;
    Op *sub = defOf(s, OpKind::Sub);
    if (!isScalar(sub->operand(0), 1.0, 0))
      continue;
    Value *f = sub->operand(1), *mask = f;
    if (f->isConstant() || f->type().elem != ElemType::F32)
      continue;
    if (Op *cast = defOf(f, OpKind::Cast); cast && hasOneUse(g, f))
      mask = cast->operand(0);
    if (mask->type().shape != mul->result(0)->type().shape)
      continue;
    Builder b(g);
    b.setInsertionPointBefore(mul);
    b.setLoc(mul->loc());
    auto mb = b.create(OpKind::MaskBias, {mask}, {{"value", value}});
    if (!mb) {
      llvm::consumeError(mb.takeError());
      continue;
    }
    replaceValue(g, mul->result(0), (*mb)->result(0));
    ++matched;
  }
  return matched;
}
