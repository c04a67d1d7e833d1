//===- frontend/import/Reduce.cpp - ReduceMean, ReduceSum, ReduceMax ------===//
//
// Reductions with axes given as an attribute (ReduceSum before opset 13,
// ReduceMean/ReduceMax up to opset 17) or as a constant input (ReduceSum
// from opset 13). Axes are normalised, sorted and deduplicated; no axes
// means all axes, unless noop_with_empty_axes makes the op an identity.
//
//===----------------------------------------------------------------------===//

#include "frontend/ConstEval.h"
#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"

#include <algorithm>
#include <optional>

using namespace mpc;
using namespace mpc::onnx;

/// ReduceProd of a constant (shape arithmetic: `x.std()` divides by the
/// product of a slice of the shape, minus one); \p axes sorted.
static llvm::Error reduceProd(ImportContext &ctx, const Value &x,
                              llvm::ArrayRef<int64_t> axes, bool keepdims) {
  if (!x.isConstant())
    return ctx.fail("ReduceProd is supported on constants only (shape "
                    "arithmetic, folded at compile time), but its input '{}' "
                    "depends on the model's inputs",
                    x.name());
  HostTensor h = toHost(x);
  const std::vector<int64_t> &s = h.shape;
  std::vector<int64_t> kept, out;
  for (size_t d = 0; d < s.size(); ++d) {
    bool red = llvm::is_contained(axes, int64_t(d));
    kept.push_back(red ? 1 : s[d]);
    if (!red || keepdims)
      out.push_back(red ? 1 : s[d]);
  }
  std::vector<int64_t> st = stridesOf(s), kst = stridesOf(kept);
  int64_t n = numElementsOf(kept);
  std::vector<double> f(n, 1.0);
  std::vector<int64_t> i(n, 1);
  for (int64_t j = 0; j < numElementsOf(s); ++j) {
    int64_t o = 0, rest = j;
    for (size_t d = 0; d < s.size(); ++d) {
      o += (rest / st[d]) * (kept[d] == 1 ? 0 : kst[d]);
      rest %= st[d];
    }
    if (h.isFloat())
      f[o] *= h.f[j];
    else
      i[o] *= h.i[j];
  }
  ConstData d;
  if (h.isFloat())
    d.f = std::move(f);
  else
    d.i = std::move(i);
  ctx.setOutput(0, ctx.addConstant(ctx.nameHint(), x.type().withShape(out),
                                   std::move(d)));
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importCumSum(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  auto axis = ctx.inputInts(1, "the axis input of CumSum");
  if (!axis)
    return axis.takeError();
  if (axis->size() != 1)
    return ctx.fail("the axis input of CumSum must hold one value, got {}",
                    axis->size());
  auto a = ctx.normAxis(axis->front(), (*x)->type().rank(), "axis");
  if (!a)
    return a.takeError();
  auto r = ctx.emit(OpKind::CumSum, {*x},
                    {{"axis", *a},
                     {"exclusive", ctx.attrInt("exclusive", 0)},
                     {"reverse", ctx.attrInt("reverse", 0)}});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importReduce(ImportContext &ctx) {
  llvm::StringRef type = ctx.node().op_type();
  // ReduceProd has no IR op: it is only folded on constants (reduceProd).
  std::optional<OpKind> kind = llvm::StringSwitch<std::optional<OpKind>>(type)
                                   .Case("ReduceMean", OpKind::ReduceMean)
                                   .Case("ReduceSum", OpKind::ReduceSum)
                                   .Case("ReduceMax", OpKind::ReduceMax)
                                   .Default(std::nullopt);
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
  if (!kind)
    return reduceProd(ctx, **x, axes, keepdims);
  auto r = ctx.emit(*kind, {*x}, {{"axes", axes}, {"keepdims", keepdims}});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}
