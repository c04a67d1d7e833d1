//===- passes/FoldScoreScale.cpp - 1/sqrt(d) into the query weights -------===//
//
// Attention divides its scores by sqrt(d) (8 for BERT's d = 64). Lowered,
// that is a public product and one more truncation per layer (a round and
// a word each way per score):
//
//   %l = linear.pw %x, @wq                  (frac fx + fw)
//   %t = trunc %l {bits = fw}               (frac fx)
//   %q = add %t, @bq                        (through reshape / transpose)
//   %s = trunc (matmul.beaver %q', %k) {bits = f}
//   %y = trunc (mul.public %s, c) {bits = f}       c = 1/sqrt(d) < 1
//     ->
//   @wq, @bq scaled by c, with k = ceil(log2(1/c)) more fractional bits:
//   the query path (%l, %t, %q, %q') and the score product carry k more
//   bits and the score truncation takes them off, so every value keeps its
//   precision (for c = 2^-k every ring value is the one before); %y is %s.
//   Both truncations keep the ring_bits of their unfolded values
//   (narrow-rings).
//
// The rewrite applies only where every value on the path has the one use
// (the query feeds nothing else) and the weight and bias are used once.
// It runs after lower-to-protocols and before share-input-masks.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "runtime/protocols/Trunc.h"

#include <cmath>

using namespace mpc;

namespace {

bool hasOneUse(const Value *v) { return v->users().size() == 1; }

/// A scale the fold handles: every element of a public constant is c, with
/// 2^-16 <= c < 1; k = ceil(log2(1/c)) extra fractional bits keep W c as
/// precise as W.
struct Scale {
  double c;
  int k;
};
std::optional<Scale> foldableScale(const Value *v) {
  if (!v->isConstant() || v->isWeight() || v->constData().elided ||
      v->constData().f.empty())
    return std::nullopt;
  double c = v->constData().f[0];
  for (double d : v->constData().f)
    if (d != c)
      return std::nullopt;
  if (!(c >= std::ldexp(1.0, -16) && c < 1))
    return std::nullopt;
  return Scale{c, int(std::ceil(-std::log2(c)))};
}

/// The query path of one matmul operand: linear.pw -> trunc -> add(bias)
/// -> reshape/transpose* -> the operand, each value used once.
struct QueryPath {
  Op *linear = nullptr, *trunc = nullptr;
  Value *weight = nullptr, *bias = nullptr;
  /// The add's result and the reshape/transpose results after it.
  std::vector<Value *> chain;
};

std::optional<QueryPath> findQueryPath(Value *v) {
  QueryPath p;
  while (v->definingOp() && hasOneUse(v) &&
         (v->definingOp()->kind() == OpKind::Reshape ||
          v->definingOp()->kind() == OpKind::Transpose)) {
    p.chain.push_back(v);
    v = v->definingOp()->operand(0);
  }
  Op *add = v->definingOp();
  if (!add || !hasOneUse(v) || add->kind() != OpKind::Add)
    return std::nullopt;
  p.chain.push_back(v);
  for (unsigned i = 0; i < 2; ++i) {
    Value *t = add->operand(i), *b = add->operand(1 - i);
    Op *trunc = t->definingOp();
    if (!trunc || trunc->kind() != OpKind::Trunc || !hasOneUse(t) ||
        !b->isWeight() || !hasOneUse(b))
      continue;
    Op *lin = trunc->operand(0)->definingOp();
    if (!lin || lin->kind() != OpKind::LinearPw || lin->numResults() != 1 ||
        !hasOneUse(trunc->operand(0)) || !lin->operand(1)->isWeight() ||
        !hasOneUse(lin->operand(1)))
      continue;
    p.linear = lin;
    p.trunc = trunc;
    p.weight = lin->operand(1);
    p.bias = b;
    return p;
  }
  return std::nullopt;
}

void scaleData(Value *v, double c) {
  for (double &d : v->mutableConstData().f)
    d *= c;
}

class FoldScoreScalePass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    std::vector<Op *> muls = g.opsOfKind(OpKind::MulPublic);
    bool changed = false;
    for (Op *mul : muls)
      changed |= tryFold(g, mul, ctx.options.rangeBits);
    return changed;
  }

private:
  static bool tryFold(Graph &g, Op *mul, int rangeBits) {
    std::optional<Scale> scale = foldableScale(mul->operand(1));
    Value *scores = mul->operand(0), *prod = mul->result();
    if (!scale || !hasOneUse(scores) || !hasOneUse(prod))
      return false;
    Op *after = prod->users()[0];
    Op *before = scores->definingOp();
    if (after->kind() != OpKind::Trunc ||
        after->result()->type().fracBits != scores->type().fracBits ||
        !before || before->kind() != OpKind::Trunc)
      return false;
    Op *matmul = before->operand(0)->definingOp();
    if (!matmul || matmul->kind() != OpKind::MatMulBeaver ||
        !hasOneUse(before->operand(0)))
      return false;
    for (unsigned i = 0; i < 2; ++i) {
      std::optional<QueryPath> q = findQueryPath(matmul->operand(i));
      if (!q)
        continue;
      int k = scale->k;
      scaleData(q->weight, scale->c);
      scaleData(q->bias, scale->c);
      for (Value *v : {q->weight, q->bias, q->linear->result(),
                       q->trunc->result(), matmul->result()})
        v->mutableType().fracBits += k;
      for (Value *v : q->chain)
        v->mutableType().fracBits += k;
      before->setAttr("bits", Attr(int64_t(before->getInt("bits") + k)));
      // The two truncations' ring values are c 2^k (in [1, 2)) times the
      // ones before the fold: they need the ring an activation at the old
      // scale needs, plus a bit unless c is 2^-k (narrow-rings keeps a
      // smaller ring_bits it finds).
      int64_t grow = std::ldexp(scale->c, k) == 1.0 ? 0 : 1;
      for (Op *t : {q->trunc, before})
        t->setAttr("ring_bits",
                   Attr(int64_t(rt::truncRingBits(
                       rangeBits + t->operand(0)->type().fracBits - k + grow,
                       int(t->getInt("bits"))))));
      g.replaceAllUsesWith(after->result(), scores);
      g.eraseOp(after);
      g.eraseOp(mul);
      return true;
    }
    return false;
  }
};

} // namespace

std::unique_ptr<Pass> mpc::createFoldScoreScalePass() {
  return std::make_unique<FoldScoreScalePass>();
}
