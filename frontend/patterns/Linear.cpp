//===- frontend/patterns/Linear.cpp - MatMul by a weight -> linear --------===//
//
// PyTorch exports nn.Linear on 3-D activations as MatMul + Add:
//
//   %m = MatMul(%x, @W)        W: constant [K, N], x: rank >= 2
//   %y = Add(@b, %m)           b: constant [N] (either operand order)
//     ->
//   %y = linear(%x, @W, @b)
//
// Without the bias Add (or when %m has other uses) the MatMul alone becomes
// linear(%x, @W). `linear` is what the private-weight protocol serves.
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Match.h"
#include "frontend/patterns/Patterns.h"
#include "ir/Builder.h"

using namespace mpc;
using namespace mpc::onnx;

unsigned mpc::onnx::fuseLinear(Graph &g) {
  std::vector<Op *> matmuls = g.opsOfKind(OpKind::MatMul);
  unsigned matched = 0;
  for (Op *mm : matmuls) {
    Value *x = mm->operand(0), *w = mm->operand(1);
    const TensorType &wt = w->type();
    if (x->isConstant() || !w->isConstant() || wt.rank() != 2 ||
        wt.elem != ElemType::F32 || x->type().rank() < 2)
      continue;
    int64_t n = wt.shape[1];
    Value *m = mm->result(0);
    Op *root = mm;
    Value *bias = nullptr;
    if (Op *add = singleUser(g, m); add && add->kind() == OpKind::Add) {
      Value *other = add->operand(0) == m ? add->operand(1) : add->operand(0);
      if (other != m && add->result(0)->type().shape == m->type().shape)
        bias = asVectorConst(g, other, n);
      if (bias)
        root = add;
    }
    Builder b(g);
    b.setInsertionPointBefore(root);
    b.setLoc(mm->loc());
    llvm::SmallVector<Value *, 3> ops{x, w};
    if (bias)
      ops.push_back(bias);
    auto lin = b.create(OpKind::Linear, ops);
    if (!lin) { // Shapes the linear op does not take: leave the MatMul.
      llvm::consumeError(lin.takeError());
      continue;
    }
    replaceValue(g, root->result(0), (*lin)->result(0));
    ++matched;
  }
  return matched;
}
