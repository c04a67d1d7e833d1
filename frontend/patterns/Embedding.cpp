//===- frontend/patterns/Embedding.cpp - Table lookups -> embedding -------===//
//
// Word and token-type embeddings are a Gather from a weight table by the
// client's token ids:
//
//   %e = Gather(@table, %ids) {axis = 0}   table: constant [V, D] float,
//                                          ids: i64, not a constant
//     ->
//   %e = embedding(@table, %ids)
//
// Gathers with constant indices (position embeddings of a bound sequence
// length) were already folded into constants at import.
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Match.h"
#include "frontend/patterns/Patterns.h"
#include "ir/Builder.h"

using namespace mpc;
using namespace mpc::onnx;

unsigned mpc::onnx::fuseEmbedding(Graph &g) {
  std::vector<Op *> gathers = g.opsOfKind(OpKind::Gather);
  unsigned matched = 0;
  for (Op *ga : gathers) {
    Value *table = ga->operand(0), *ids = ga->operand(1);
    if (!table->isConstant() || table->type().rank() != 2 ||
        table->type().elem != ElemType::F32 || ids->isConstant() ||
        ids->type().elem != ElemType::I64 || ga->getInt("axis", 0) != 0)
      continue;
    Builder b(g);
    b.setInsertionPointBefore(ga);
    b.setLoc(ga->loc());
    auto emb = b.create(OpKind::Embedding, {table, ids});
    if (!emb) {
      llvm::consumeError(emb.takeError());
      continue;
    }
    replaceValue(g, ga->result(0), (*emb)->result(0));
    ++matched;
  }
  return matched;
}
