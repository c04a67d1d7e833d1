//===- passes/FoldTrunc.cpp - Moving a truncation into its consumer -------===//

#include "passes/FoldTrunc.h"

using namespace mpc;

void mpc::foldTruncIntoConsumer(Graph &g, Op *consumer, Op *trunc, Op *add) {
  Value *p = trunc->operand(0);
  int64_t bits = trunc->getInt("bits");
  int wide = p->type().fracBits;
  if (add) {
    for (unsigned i = 0; i < 2; ++i)
      if (add->operand(i) != trunc->result())
        add->operand(i)->mutableType().fracBits = wide;
    add->result()->mutableType().fracBits = wide;
  }
  g.replaceAllUsesWith(trunc->result(), p);
  g.eraseOp(trunc);
  consumer->setAttr("trunc_bits", Attr(bits));
}
