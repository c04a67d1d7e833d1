//===- frontend/import/DataOps.cpp - Slicing, joining and indexing --------===//
//
// Slice (attributes before opset 10, inputs after) becomes `slice` with
// normalised, clamped starts/ends; an axis with a negative step becomes a
// `gather` of the indices it visits (public data movement, as a slice); Split
// becomes one `slice` per output; Concat and Gather map to their IR ops.
// Constant index tensors are checked and normalised (no negative indices) at
// import.
//
//===----------------------------------------------------------------------===//

#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"

#include <algorithm>
#include <limits>

using namespace mpc;
using namespace mpc::onnx;

/// Emits a slice of \p x along \p axes; an alias when nothing is cut.
static llvm::Expected<Value *>
emitSlice(ImportContext &ctx, Value *x, std::vector<int64_t> starts,
          std::vector<int64_t> ends, std::vector<int64_t> axes,
          std::vector<int64_t> steps, llvm::StringRef hint = "") {
  const auto &shape = x->type().shape;
  bool identity = true;
  for (size_t k = 0; k < axes.size(); ++k)
    identity &= starts[k] == 0 && ends[k] == shape[axes[k]] && steps[k] == 1;
  if (identity)
    return x;
  return ctx.emit(OpKind::Slice, {x},
                  {{"starts", std::move(starts)},
                   {"ends", std::move(ends)},
                   {"axes", std::move(axes)},
                   {"steps", std::move(steps)}},
                  hint);
}

llvm::Error mpc::onnx::importSlice(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  const TensorType &t = (*x)->type();
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attrInts("starts").value_or(std::vector<int64_t>{});
    ends = ctx.attrInts("ends").value_or(std::vector<int64_t>{});
    if (auto a = ctx.attrInts("axes"))
      axes = *a;
  } else {
    const char *what[] = {"", "the starts input of Slice",
                          "the ends input of Slice", "the axes input of Slice",
                          "the steps input of Slice"};
    std::vector<int64_t> *dst[] = {nullptr, &starts, &ends, &axes, &steps};
    for (unsigned i = 1; i <= 4; ++i) {
      if (!ctx.hasInput(i))
        continue;
      auto v = ctx.inputInts(i, what[i]);
      if (!v)
        return v.takeError();
      *dst[i] = std::move(*v);
    }
  }
  if (starts.size() != ends.size())
    return ctx.fail("starts and ends have different lengths ({} and {})",
                    starts.size(), ends.size());
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k)
      axes.push_back(static_cast<int64_t>(k));
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    return ctx.fail("starts, ends, axes and steps have different lengths");

  std::vector<bool> seen(t.rank(), false);
  // Positive steps: one slice. Negative steps: a gather per axis of the
  // indices visited, start, start + step, ... down to (not reaching) end.
  std::vector<int64_t> pStarts, pEnds, pAxes, pSteps;
  std::vector<std::pair<int64_t, std::vector<int64_t>>> reversed;
  for (size_t k = 0; k < axes.size(); ++k) {
    auto a = ctx.normAxis(axes[k], t.rank(), "axis");
    if (!a)
      return a.takeError();
    if (seen[*a])
      return ctx.fail("axis {} is sliced twice", *a);
    seen[*a] = true;
    if (steps[k] == 0)
      return ctx.fail("step 0 on axis {}", *a);
    int64_t dim = t.shape[*a];
    // Negative indices count from the end; INT64_MIN-like sentinels mean
    // "before the first element".
    auto fromEnd = [dim](int64_t i) {
      if (i < 0)
        i = i < std::numeric_limits<int64_t>::min() / 2 ? -1 : i + dim;
      return i;
    };
    if (steps[k] > 0) {
      int64_t s = std::clamp<int64_t>(fromEnd(starts[k]), 0, dim);
      pStarts.push_back(s);
      pEnds.push_back(
          std::max(s, std::clamp<int64_t>(fromEnd(ends[k]), 0, dim)));
      pAxes.push_back(*a);
      pSteps.push_back(steps[k]);
      continue;
    }
    int64_t s = std::clamp<int64_t>(fromEnd(starts[k]), -1, dim - 1);
    int64_t e = std::clamp<int64_t>(fromEnd(ends[k]), -1, dim - 1);
    std::vector<int64_t> visit;
    for (int64_t i = s; i > e; i += steps[k])
      visit.push_back(i);
    if (visit.empty())
      return ctx.fail("the slice of axis {} is empty (start {}, end {}, "
                      "step {}); mpcc does not compute on empty tensors",
                      *a, starts[k], ends[k], steps[k]);
    reversed.emplace_back(*a, std::move(visit));
  }
  auto r = emitSlice(ctx, *x, pStarts, pEnds, pAxes, pSteps);
  if (!r)
    return r.takeError();
  for (auto &[axis, visit] : reversed) {
    int64_t n = static_cast<int64_t>(visit.size());
    Value *idx = ctx.constI64({n}, std::move(visit), "indices");
    r = ctx.emit(OpKind::Gather, {*r, idx}, {{"axis", axis}});
    if (!r)
      return r.takeError();
  }
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importConcat(ImportContext &ctx) {
  llvm::SmallVector<Value *, 4> in;
  for (unsigned i = 0; i < ctx.numInputs(); ++i) {
    auto v = ctx.input(i);
    if (!v)
      return v.takeError();
    in.push_back(*v);
  }
  if (in.empty())
    return ctx.fail("has no inputs");
  auto axis =
      ctx.normAxis(ctx.attrInt("axis", 0), in[0]->type().rank(), "axis");
  if (!axis)
    return axis.takeError();
  for (Value *v : in)
    if (v->type().elem != in[0]->type().elem)
      return ctx.fail("inputs have different element types ({} and {})",
                      in[0]->type().str(), v->type().str());
  if (in.size() == 1) {
    ctx.setOutput(0, in[0]);
    return llvm::Error::success();
  }
  auto r = ctx.emit(OpKind::Concat, in, {{"axis", *axis}});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importSplit(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  const TensorType &t = (*x)->type();
  auto axis = ctx.normAxis(ctx.attrInt("axis", 0), t.rank(), "axis");
  if (!axis)
    return axis.takeError();
  int64_t dim = t.shape[*axis];
  int64_t parts = ctx.numOutputs();
  std::vector<int64_t> sizes;
  if (ctx.opset() < 13) {
    sizes = ctx.attrInts("split").value_or(std::vector<int64_t>{});
  } else if (ctx.hasInput(1)) {
    auto s = ctx.inputInts(1, "the split input of Split");
    if (!s)
      return s.takeError();
    sizes = std::move(*s);
  }
  if (sizes.empty()) {
    if (parts == 0 || dim % parts != 0)
      return ctx.fail("cannot split dimension {} of size {} into {} equal "
                      "parts",
                      *axis, dim, parts);
    sizes.assign(parts, dim / parts);
  }
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  if (static_cast<int64_t>(sizes.size()) != parts || total != dim)
    return ctx.fail("split sizes {} do not cover dimension {} of size {} "
                    "with {} outputs",
                    shapeStr(sizes), *axis, dim, parts);
  int64_t off = 0;
  for (int64_t i = 0; i < parts; ++i) {
    auto r = emitSlice(ctx, *x, {off}, {off + sizes[i]}, {*axis}, {1},
                       ctx.nameHint(i));
    if (!r)
      return r.takeError();
    ctx.setOutput(i, *r);
    off += sizes[i];
  }
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importGather(ImportContext &ctx) {
  auto data = ctx.input(0);
  if (!data)
    return data.takeError();
  auto idx = ctx.input(1);
  if (!idx)
    return idx.takeError();
  const TensorType &t = (*data)->type();
  auto axis = ctx.normAxis(ctx.attrInt("axis", 0), t.rank(), "axis");
  if (!axis)
    return axis.takeError();
  Value *indices = *idx;
  if (indices->type().elem != ElemType::I64)
    return ctx.fail("indices must be an integer tensor, got {}",
                    indices->type().str());
  if (indices->isConstant()) {
    // Constant indices are checked here and made non-negative. They are
    // structure (which rows a plan reads), so they are public even when
    // they come from the model file.
    std::vector<int64_t> v = indices->constData().i;
    int64_t dim = t.shape[*axis];
    bool changed = false;
    for (int64_t &i : v) {
      if (i < -dim || i >= dim)
        return ctx.fail("index {} is out of range for dimension {} of size "
                        "{}",
                        i, *axis, dim);
      if (i < 0) {
        i += dim;
        changed = true;
      }
    }
    if (changed || indices->type().vis != Vis::Public)
      indices = ctx.constI64(indices->type().shape, std::move(v),
                             changed ? "indices" : indices->name());
  }
  auto r = ctx.emit(OpKind::Gather, {*data, indices}, {{"axis", *axis}});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importTrilu(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  int64_t k = 0;
  if (ctx.hasInput(1)) {
    auto kv = ctx.inputInts(1, "the k input of Trilu");
    if (!kv)
      return kv.takeError();
    if (kv->size() != 1)
      return ctx.fail("the k input of Trilu must hold one value");
    k = kv->front();
  }
  const TensorType &t = (*x)->type();
  if (!(*x)->isConstant())
    return ctx.fail("Trilu is folded on constants only (a causal mask built "
                    "from a constant); its input '{}' depends on the model's "
                    "inputs",
                    (*x)->name());
  if (t.rank() < 2)
    return ctx.fail("Trilu needs a rank >= 2 input, got {}", t.str());
  bool upper = ctx.attrInt("upper", 1) != 0;
  ConstData d = (*x)->constData();
  int64_t rows = t.shape[t.rank() - 2], cols = t.shape[t.rank() - 1];
  int64_t n = t.numElements();
  for (int64_t e = 0; e < n; ++e) {
    int64_t i = (e / cols) % rows, j = e % cols;
    bool keep = upper ? j - i >= k : j - i <= k;
    if (keep)
      continue;
    if (!d.f.empty())
      d.f[e] = 0;
    else
      d.i[e] = 0;
  }
  ctx.setOutput(0, ctx.addConstant(ctx.nameHint(), t, std::move(d)));
  return llvm::Error::success();
}
