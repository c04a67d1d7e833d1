//===- frontend/import/Reduce.cpp - ReduceMean, ReduceSum, ReduceMax ------===//
//
// Reductions with axes given as an attribute (ReduceSum before opset 13,
// ReduceMean/ReduceMax up to opset 17) or as a constant input (ReduceSum
// from opset 13). Axes are normalised, sorted and deduplicated; no axes
// means all axes, unless noop_with_empty_axes makes the op an identity.
//
//===----------------------------------------------------------------------===//

#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"

#include "llvm/ADT/StringSwitch.h"

#include <algorithm>

using namespace mpc;
using namespace mpc::onnx;

llvm::Error mpc::onnx::importReduce(ImportContext &ctx) {
  llvm::StringRef type = ctx.node().op_type();
  OpKind kind = llvm::StringSwitch<OpKind>(type)
                    .Case("ReduceMean", OpKind::ReduceMean)
                    .Case("ReduceSum", OpKind::ReduceSum)
                    .Case("ReduceMax", OpKind::ReduceMax);
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  int64_t rank = (*x)->type().rank();
  std::vector<int64_t> axes;
  bool axesAsInput = kind == OpKind::ReduceSum && ctx.opset() >= 13;
  if (axesAsInput) {
    if (ctx.hasInput(1)) {
      auto a = ctx.inputInts(1, "the axes input of ReduceSum");
      if (!a)
        return a.takeError();
      axes = std::move(*a);
    }
  } else if (auto a = ctx.attrInts("axes")) {
    axes = *a;
  }
  if (axes.empty()) {
    if (ctx.attrInt("noop_with_empty_axes", 0)) {
      ctx.setOutput(0, *x);
      return llvm::Error::success();
    }
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  for (int64_t &a : axes) {
    auto n = ctx.normAxis(a, rank, "axis");
    if (!n)
      return n.takeError();
    a = *n;
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  int64_t keepdims = ctx.attrInt("keepdims", 1) != 0;
  auto r = ctx.emit(kind, {*x}, {{"axes", axes}, {"keepdims", keepdims}});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}
