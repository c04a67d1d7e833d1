//===- runtime/plan/LocalKernels.cpp - Kernels without communication ------===//
//
// The local kernels of Kernels.def: linear maps (add, sub, neg, product with
// a public constant), data movement (reshape, transpose, slice, concat,
// gather with public indices, reduce_sum) and the two client-side encodings
// (onehot of token ids, the additive attention-mask bias), and `clear`, the
// functions a party computes on its own values (the client's masks and
// position ids). Each checks its
// attributes and infers its output shape and scale; the visibility rule and
// share forms are LocalKernel's (KernelUtil.cpp).
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/KernelUtil.h"
#include "runtime/protocols/Nonlinear.h"

#include <cmath>

#include <algorithm>
#include <numeric>

using namespace mpc;
using namespace mpc::rt;

namespace {

/// Both operands at the output's scale; output shape is their broadcast.
llvm::Error checkBroadcastBinary(const OpDesc &op) {
  if (llvm::Error e = checkArity(op, 2, 1))
    return e;
  if (llvm::Error e = checkAttrs(op, {}))
    return e;
  const ValueDesc &a = *op.in[0], &b = *op.in[1], &y = *op.out[0];
  std::optional<Shape> s = broadcastShapes(a.shape, b.shape);
  if (!s)
    return opError(op, "shapes {} and {} do not broadcast",
                   shapeString(a.shape), shapeString(b.shape));
  if (llvm::Error e = checkShape(op, y, *s, outName(0)))
    return e;
  if (llvm::Error e = checkFrac(op, a, y.frac, inName(0)))
    return e;
  return checkFrac(op, b, y.frac, inName(1));
}

/// One input, one output at the same scale.
llvm::Error checkUnary(const OpDesc &op, llvm::ArrayRef<AttrSpec> attrs) {
  if (llvm::Error e = checkArity(op, 1, 1))
    return e;
  if (llvm::Error e = checkAttrs(op, attrs))
    return e;
  return checkFrac(op, *op.out[0], op.in[0]->frac, outName(0));
}

class AddKernel final : public LocalKernel {
public:
  /// Commutes with reduction mod 2^L (Narrow.h).
  OperandRing operandRing(RingAttrFn) const override {
    return {OperandRing::Commutes, kFullRingBits};
  }

protected:
  llvm::Error checkOp(const OpDesc &op) const override {
    return checkBroadcastBinary(op);
  }
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    if (in[0]->shape() == in[1]->shape())
      return {add(*in[0], *in[1])};
    return {addBroadcast(*in[0], *in[1])};
  }
};

class SubKernel final : public LocalKernel {
public:
  /// Commutes with reduction mod 2^L (Narrow.h).
  OperandRing operandRing(RingAttrFn) const override {
    return {OperandRing::Commutes, kFullRingBits};
  }

protected:
  llvm::Error checkOp(const OpDesc &op) const override {
    return checkBroadcastBinary(op);
  }
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    if (in[0]->shape() == in[1]->shape())
      return {sub(*in[0], *in[1])};
    return {subBroadcast(*in[0], *in[1])};
  }
};

class NegKernel final : public LocalKernel {
public:
  /// Commutes with reduction mod 2^L (Narrow.h).
  OperandRing operandRing(RingAttrFn) const override {
    return {OperandRing::Commutes, kFullRingBits};
  }

protected:
  llvm::Error checkOp(const OpDesc &op) const override {
    if (llvm::Error e = checkUnary(op, {}))
      return e;
    return checkShape(op, *op.out[0], op.in[0]->shape, outName(0));
  }
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    return {neg(*in[0])};
  }
};

class MulPublicKernel final : public LocalKernel {
public:
  /// Commutes with reduction mod 2^L (Narrow.h).
  OperandRing operandRing(RingAttrFn) const override {
    return {OperandRing::Commutes, kFullRingBits};
  }
  Cost cost(const OpDesc &op) const override {
    Cost c;
    c.elemOps = double(op.out[0]->numElements());
    return c;
  }

protected:
  bool clearOperand(size_t i) const override { return i == 1; }
  llvm::Error checkOp(const OpDesc &op) const override {
    if (llvm::Error e = checkArity(op, 2, 1))
      return e;
    if (llvm::Error e = checkAttrs(op, {}))
      return e;
    const ValueDesc &x = *op.in[0], &c = *op.in[1], &y = *op.out[0];
    std::optional<Shape> s = broadcastShapes(x.shape, c.shape);
    if (!s)
      return opError(op, "shapes {} and {} do not broadcast",
                     shapeString(x.shape), shapeString(c.shape));
    if (llvm::Error e = checkShape(op, y, *s, outName(0)))
      return e;
    return checkFrac(op, y, x.frac + c.frac, outName(0));
  }
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    if (in[0]->shape() == in[1]->shape())
      return {mul(*in[0], *in[1])};
    return {mulBroadcast(*in[0], *in[1])};
  }
};

class ReshapeKernel final : public LocalKernel {
public:
  /// Commutes with reduction mod 2^L (Narrow.h).
  OperandRing operandRing(RingAttrFn) const override {
    return {OperandRing::Commutes, kFullRingBits};
  }

protected:
  llvm::Error checkOp(const OpDesc &op) const override {
    if (llvm::Error e = checkUnary(op, {}))
      return e;
    if (op.in[0]->numElements() != op.out[0]->numElements())
      return opError(op, "cannot reshape {} to {}",
                     shapeString(op.in[0]->shape),
                     shapeString(op.out[0]->shape));
    return llvm::Error::success();
  }
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    return {in[0]->reshaped(op.out[0]->shape)};
  }
};

class TransposeKernel final : public LocalKernel {
public:
  /// Commutes with reduction mod 2^L (Narrow.h).
  OperandRing operandRing(RingAttrFn) const override {
    return {OperandRing::Commutes, kFullRingBits};
  }

protected:
  static std::vector<int64_t> perm(const OpDesc &op) {
    std::vector<int64_t> p = op.attrInts("perm");
    if (!op.hasAttr("perm")) { // ONNX default: reverse the axes
      p.resize(op.in[0]->shape.size());
      std::iota(p.rbegin(), p.rend(), 0);
    }
    return p;
  }
  llvm::Error checkOp(const OpDesc &op) const override {
    if (llvm::Error e = checkUnary(op, {{"perm", AttrKind::Ints}}))
      return e;
    const Shape &x = op.in[0]->shape;
    std::vector<int64_t> p = perm(op);
    std::vector<bool> seen(x.size());
    if (p.size() != x.size())
      return opError(op, "perm has {} entries for rank {}", p.size(), x.size());
    Shape out;
    for (int64_t a : p) {
      if (a < 0 || a >= int64_t(x.size()) || seen[a])
        return opError(op, "perm is not a permutation of 0..{}", x.size() - 1);
      seen[a] = true;
      out.push_back(x[a]);
    }
    return checkShape(op, *op.out[0], out, outName(0));
  }
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    return {transpose(*in[0], perm(op))};
  }
};

/// ONNX Slice bounds, normalised and clamped (positive steps).
struct SliceBounds {
  std::vector<int64_t> starts, ends, axes, steps;
  Shape out;
};

llvm::Expected<SliceBounds> sliceBounds(const OpDesc &op) {
  const Shape &x = op.in[0]->shape;
  int64_t rank = x.size();
  SliceBounds b;
  std::vector<int64_t> starts = op.attrInts("starts"),
                       ends = op.attrInts("ends"), axes = op.attrInts("axes"),
                       steps = op.attrInts("steps");
  if (!op.hasAttr("axes")) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (!op.hasAttr("steps"))
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return opError(op, "starts, ends, axes and steps differ in length");
  b.out = x;
  std::vector<bool> seen(rank);
  for (size_t i = 0; i < starts.size(); ++i) {
    std::optional<int64_t> a = normAxis(axes[i], rank);
    if (!a || seen[*a])
      return opError(op, "bad or repeated slice axis {} for rank {}", axes[i],
                     rank);
    seen[*a] = true;
    if (steps[i] <= 0)
      return opError(op,
                     "slice step {} on axis {}: only positive steps are "
                     "supported",
                     steps[i], *a);
    int64_t d = x[*a];
    auto clamp = [&](int64_t v) {
      if (v < 0)
        v += d;
      return std::clamp<int64_t>(v, 0, d);
    };
    int64_t s = clamp(starts[i]), e = clamp(ends[i]);
    b.starts.push_back(s);
    b.ends.push_back(e);
    b.axes.push_back(*a);
    b.steps.push_back(steps[i]);
    b.out[*a] = e > s ? (e - s - 1) / steps[i] + 1 : 0; // no overflow
  }
  return b;
}

class SliceKernel final : public LocalKernel {
public:
protected:
  llvm::Error checkOp(const OpDesc &op) const override {
    if (llvm::Error e = checkUnary(op, {{"starts", AttrKind::Ints, true},
                                        {"ends", AttrKind::Ints, true},
                                        {"axes", AttrKind::Ints},
                                        {"steps", AttrKind::Ints}}))
      return e;
    llvm::Expected<SliceBounds> b = sliceBounds(op);
    if (!b)
      return b.takeError();
    return checkShape(op, *op.out[0], b->out, outName(0));
  }
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    SliceBounds b = cantFail(sliceBounds(op));
    return {slice(*in[0], b.starts, b.ends, b.axes, b.steps)};
  }
};

class ConcatKernel final : public LocalKernel {
public:
protected:
  llvm::Error checkOp(const OpDesc &op) const override {
    if (llvm::Error e = checkArity(op, 1, 1, /*variadic=*/true))
      return e;
    if (llvm::Error e = checkAttrs(op, {{"axis", AttrKind::Int, true}}))
      return e;
    const Shape &first = op.in[0]->shape;
    std::optional<int64_t> axis = normAxis(op.attrInt("axis"), first.size());
    if (!axis)
      return opError(op, "axis {} out of range for rank {}", op.attrInt("axis"),
                     first.size());
    Shape out = first;
    out[*axis] = 0;
    for (size_t i = 0; i < op.in.size(); ++i) {
      const Shape &s = op.in[i]->shape;
      bool ok = s.size() == first.size();
      for (size_t d = 0; ok && d < s.size(); ++d)
        ok = int64_t(d) == *axis || s[d] == first[d];
      if (!ok)
        return opError(op, "{} has shape {}, incompatible with {} on axis {}",
                       inName(i), shapeString(s), shapeString(first), *axis);
      out[*axis] += s[*axis];
      if (llvm::Error e = checkFrac(op, *op.in[i], op.out[0]->frac, inName(i)))
        return e;
    }
    return checkShape(op, *op.out[0], out, outName(0));
  }
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    int64_t axis = *normAxis(op.attrInt("axis"), op.in[0]->shape.size());
    return {concat(in, axis)};
  }
};

class GatherKernel final : public LocalKernel {
public:
protected:
  struct Params {
    int64_t axis;
    std::vector<int64_t> indices, indicesShape;
  };
  static llvm::Expected<Params> params(const OpDesc &op) {
    const Shape &x = op.in[0]->shape;
    Params p;
    std::optional<int64_t> a = normAxis(op.attrInt("axis", 0), x.size());
    if (!a)
      return opError(op, "axis {} out of range for rank {}",
                     op.attrInt("axis", 0), x.size());
    p.axis = *a;
    p.indices = op.attrInts("indices");
    p.indicesShape = op.hasAttr("indices_shape")
                         ? op.attrInts("indices_shape")
                         : std::vector<int64_t>{int64_t(p.indices.size())};
    if (numElements(p.indicesShape) != int64_t(p.indices.size()))
      return opError(op, "{} indices for indices_shape {}", p.indices.size(),
                     shapeString(p.indicesShape));
    for (int64_t &i : p.indices) {
      if (i < -x[p.axis] || i >= x[p.axis])
        return opError(op, "index {} out of range for dimension {}", i,
                       x[p.axis]);
      if (i < 0)
        i += x[p.axis];
    }
    return p;
  }
  llvm::Error checkOp(const OpDesc &op) const override {
    if (llvm::Error e = checkUnary(op, {{"axis", AttrKind::Int},
                                        {"indices", AttrKind::Ints, true},
                                        {"indices_shape", AttrKind::Ints}}))
      return e;
    llvm::Expected<Params> p = params(op);
    if (!p)
      return p.takeError();
    const Shape &x = op.in[0]->shape;
    Shape out(x.begin(), x.begin() + p->axis);
    out.append(p->indicesShape.begin(), p->indicesShape.end());
    out.append(x.begin() + p->axis + 1, x.end());
    return checkShape(op, *op.out[0], out, outName(0));
  }
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    Params p = cantFail(params(op));
    return {gather(*in[0], p.indices, p.indicesShape, p.axis)};
  }
};

class ReduceSumKernel final : public LocalKernel {
public:
protected:
  static llvm::Expected<std::vector<int64_t>> axes(const OpDesc &op) {
    int64_t rank = op.in[0]->shape.size();
    std::vector<int64_t> axes;
    if (!op.hasAttr("axes")) {
      axes.resize(rank);
      std::iota(axes.begin(), axes.end(), 0);
      return axes;
    }
    for (int64_t a : op.attrInts("axes")) {
      std::optional<int64_t> n = normAxis(a, rank);
      if (!n)
        return opError(op, "axis {} out of range for rank {}", a, rank);
      axes.push_back(*n);
    }
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
      return opError(op, "repeated axis");
    return axes;
  }
  llvm::Error checkOp(const OpDesc &op) const override {
    if (llvm::Error e = checkUnary(
            op, {{"axes", AttrKind::Ints}, {"keepdims", AttrKind::Int}}))
      return e;
    llvm::Expected<std::vector<int64_t>> ax = axes(op);
    if (!ax)
      return ax.takeError();
    bool keep = op.attrInt("keepdims", 1) != 0;
    const Shape &x = op.in[0]->shape;
    Shape out;
    for (int64_t d = 0; d < int64_t(x.size()); ++d) {
      bool reduced = std::binary_search(ax->begin(), ax->end(), d);
      if (!reduced)
        out.push_back(x[d]);
      else if (keep)
        out.push_back(1);
    }
    return checkShape(op, *op.out[0], out, outName(0));
  }
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    return {
        reduceSum(*in[0], cantFail(axes(op)), op.attrInt("keepdims", 1) != 0)};
  }
};

class OneHotKernel final : public LocalKernel {
public:
protected:
  bool allowsShared() const override { return false; }
  llvm::Error checkOp(const OpDesc &op) const override {
    if (llvm::Error e = checkArity(op, 1, 1))
      return e;
    if (llvm::Error e = checkAttrs(op, {{"depth", AttrKind::Int, true, 1}}))
      return e;
    const ValueDesc &ids = *op.in[0], &y = *op.out[0];
    if (!ids.isInt)
      return opError(op, "{} ({}) must be integer ids", inName(0),
                     ids.describe());
    if (llvm::Error e = checkFixed(op, y, outName(0)))
      return e;
    Shape out = ids.shape;
    out.push_back(op.attrInt("depth"));
    if (llvm::Error e = checkShape(op, y, out, outName(0)))
      return e;
    return checkVis(op, y, {ids.vis}, outName(0));
  }
  /// Ids outside [0, depth) give an all-zero row (mpc-run rejects such
  /// ids in plan inputs before the run).
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    int64_t depth = op.attrInt("depth");
    RingTensor y(op.out[0]->shape);
    u64 one = encodeFixed(1.0, op.out[0]->frac);
    const RingTensor &ids = *in[0];
    for (int64_t i = 0; i < ids.size(); ++i) {
      int64_t id = int64_t(ids[i]);
      if (id >= 0 && id < depth)
        y[i * depth + id] = one;
    }
    return {y};
  }
};

class MaskBiasKernel final : public LocalKernel {
public:
protected:
  bool allowsShared() const override { return false; }
  llvm::Error checkOp(const OpDesc &op) const override {
    if (llvm::Error e = checkArity(op, 1, 1))
      return e;
    if (llvm::Error e = checkAttrs(op, {{"value", AttrKind::Float, true}}))
      return e;
    const ValueDesc &m = *op.in[0], &y = *op.out[0];
    if (!m.isInt)
      return opError(op, "{} ({}) must be an integer mask", inName(0),
                     m.describe());
    if (llvm::Error e = checkFixed(op, y, outName(0)))
      return e;
    if (llvm::Error e = checkShape(op, y, m.shape, outName(0)))
      return e;
    return checkVis(op, y, {m.vis}, outName(0));
  }
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override {
    u64 v = encodeFixed(op.attrFloat("value"), op.out[0]->frac);
    RingTensor y(op.out[0]->shape);
    const RingTensor &m = *in[0];
    for (int64_t i = 0; i < m.size(); ++i)
      y[i] = (u64(1) - m[i]) * v;
    return {y};
  }
};

// --- clear: a party's own values, in the clear ------------------------------
//
// One party computes a function of ClearFns.def on values only it holds,
// without communication. Its output is never shared (the visibility rule
// above: a private(p) output from public and private(p) operands, computed
// by p), so the party's values stay its own; a later op takes the output in
// share form like any private operand. The arithmetic is double precision
// on the decoded values: integers (token ids, masks, positions) are exact up
// to 2^53, fixed point is rounded once when the result is encoded.

enum class Fn {
#define MPC_CLEAR_FN(Name, Text, Min, Max) Name,
#include "runtime/plan/ClearFns.def"
  Unknown
};

struct FnInfo {
  Fn fn;
  unsigned minOperands, maxOperands;
};

std::optional<FnInfo> findFn(llvm::StringRef name) {
#define MPC_CLEAR_FN(Name, Text, Min, Max)                                     \
  if (name == Text)                                                            \
    return FnInfo{Fn::Name, Min, Max};
#include "runtime/plan/ClearFns.def"
  return std::nullopt;
}

bool isComparison(Fn f) {
  return f == Fn::Equal || f == Fn::Less || f == Fn::Greater;
}
bool isReduce(Fn f) {
  return f == Fn::ReduceSum || f == Fn::ReduceMean || f == Fn::ReduceMax;
}

/// Row-major strides of \p shape.
std::vector<int64_t> strides(llvm::ArrayRef<int64_t> shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/// The reduced axes of a reduce_* op (sorted, normalised), or an error.
llvm::Expected<std::vector<bool>> reducedAxes(const OpDesc &op, int64_t rank) {
  std::vector<bool> reduced(rank, !op.hasAttr("axes"));
  for (int64_t a : op.attrInts("axes")) {
    std::optional<int64_t> n = normAxis(a, rank);
    if (!n)
      return opError(op, "axis {} is out of range for rank {}", a, rank);
    reduced[*n] = true;
  }
  return reduced;
}

class ClearKernel final : public LocalKernel {
public:
  Cost cost(const OpDesc &op) const override {
    Cost c;
    for (const ValueDesc *v : op.in)
      c.elemOps += double(v->numElements());
    return c;
  }

protected:
  bool allowsShared() const override { return false; }
  llvm::Error checkOp(const OpDesc &op) const override;
  OpOutputs compute(const OpDesc &op,
                    llvm::ArrayRef<const RingTensor *> in) const override;

private:
  /// The output shape \p op must have.
  llvm::Expected<Shape> outShape(const OpDesc &op, Fn f) const;
};

llvm::Expected<Shape> ClearKernel::outShape(const OpDesc &op, Fn f) const {
  const Shape &x = op.in[0]->shape;
  if (isReduce(f)) {
    auto reduced = reducedAxes(op, int64_t(x.size()));
    if (!reduced)
      return reduced.takeError();
    bool keep = op.attrInt("keepdims", 1) != 0;
    Shape s;
    for (size_t i = 0; i < x.size(); ++i)
      if (!(*reduced)[i])
        s.push_back(x[i]);
      else if (keep)
        s.push_back(1);
    return s;
  }
  if (f == Fn::Softmax || f == Fn::CumSum) {
    int64_t axis = op.attrInt("axis", -1);
    if (f == Fn::CumSum && !op.hasAttr("axis"))
      return opError(op, "cumsum needs the attribute 'axis'");
    if (!normAxis(axis, int64_t(x.size())))
      return opError(op, "axis {} is out of range for rank {}", axis, x.size());
    return x;
  }
  Shape s = x;
  for (size_t i = 1; i < op.in.size(); ++i) {
    std::optional<Shape> b = broadcastShapes(s, op.in[i]->shape);
    if (!b)
      return opError(op, "operand shapes {} and {} do not broadcast",
                     shapeString(s), shapeString(op.in[i]->shape));
    s = *b;
  }
  return s;
}

llvm::Error ClearKernel::checkOp(const OpDesc &op) const {
  if (llvm::Error e = checkAttrs(op, {{"fn", AttrKind::Str, true},
                                      {"to", AttrKind::Str},
                                      {"axis", AttrKind::Int},
                                      {"axes", AttrKind::Ints},
                                      {"keepdims", AttrKind::Int},
                                      {"exclusive", AttrKind::Int},
                                      {"reverse", AttrKind::Int},
                                      {"form", AttrKind::Str},
                                      {"c", AttrKind::Float}}))
    return e;
  std::string name = op.attrStr("fn");
  std::optional<FnInfo> info = findFn(name);
  if (!info)
    return opError(op, "unknown function '{}' (runtime/plan/ClearFns.def)",
                   name);
  if (op.in.size() < info->minOperands || op.in.size() > info->maxOperands ||
      op.out.size() != 1)
    return opError(op,
                   "'{}' takes {} to {} operands and one result, got {} "
                   "and {}",
                   name, info->minOperands, info->maxOperands, op.in.size(),
                   op.out.size());
  auto shape = outShape(op, info->fn);
  if (!shape)
    return shape.takeError();
  const ValueDesc &y = *op.out[0];
  if (llvm::Error e = checkShape(op, y, *shape, outName(0)))
    return e;
  if (isComparison(info->fn) && !y.isInt)
    return opError(op, "'{}' gives 0/1: {} ({}) must be an integer", name,
                   outName(0), y.describe());
  if (info->fn == Fn::Cast) {
    std::string to = op.attrStr("to");
    if (to != "f32" && to != "i64" && to != "bool")
      return opError(op, "cast to '{}': expected \"f32\", \"i64\" or \"bool\"",
                     to);
    if (y.isInt != (to != "f32"))
      return opError(op, "cast to {}: {} ({}) has the wrong element type", to,
                     outName(0), y.describe());
  }
  if (info->fn == Fn::Gelu) {
    std::string form = op.attrStr("form", "erf");
    if (form != "erf" && form != "tanh" && form != "quad")
      return opError(op, "gelu form '{}': expected erf, tanh or quad", form);
  }
  if (info->fn == Fn::Softmax) {
    std::string form = op.attrStr("form", "exp");
    if (form != "exp" && form != "2quad")
      return opError(op, "softmax form '{}': expected exp or 2quad", form);
  }
  return llvm::Error::success();
}

double decode(const ValueDesc &v, u64 w) {
  return v.isInt ? double(i64(w)) : decodeFixed(w, v.frac);
}

u64 encode(const ValueDesc &v, double x) {
  if (!v.isInt)
    return encodeFixed(x, v.frac);
  return encodeFixed(std::trunc(x), 0);
}

double gelu(double x, llvm::StringRef form) {
  if (form == "quad")
    return 0.125 * x * x + 0.25 * x + 0.5;
  if (form == "tanh")
    return 0.5 * x *
           (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
}

OpOutputs ClearKernel::compute(const OpDesc &op,
                               llvm::ArrayRef<const RingTensor *> in) const {
  Fn f = findFn(op.attrStr("fn"))->fn;
  const ValueDesc &y = *op.out[0];
  // Decoded operands.
  std::vector<std::vector<double>> x(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    x[i].resize(in[i]->size());
    for (int64_t j = 0; j < in[i]->size(); ++j)
      x[i][j] = decode(*op.in[i], (*in[i])[j]);
  }
  const Shape &xs = op.in[0]->shape;
  int64_t n = y.numElements();
  std::vector<double> r(n, 0.0);

  if (f == Fn::Softmax || f == Fn::CumSum) {
    int64_t axis = *normAxis(op.attrInt("axis", -1), int64_t(xs.size()));
    int64_t len = xs[axis], stride = strides(xs)[axis];
    bool twoQuad = op.attrStr("form", "exp") == "2quad";
    double c = op.attrFloat("c", SoftmaxParams{}.quadC);
    bool exclusive = op.attrInt("exclusive", 0) != 0;
    bool reverse = op.attrInt("reverse", 0) != 0;
    for (int64_t base = 0; base < n; ++base) {
      if ((base / stride) % len != 0)
        continue; // not the first element of its line
      auto at = [&](int64_t k) { return base + k * stride; };
      if (f == Fn::CumSum) {
        double acc = 0;
        for (int64_t t = 0; t < len; ++t) {
          int64_t k = reverse ? len - 1 - t : t;
          if (!exclusive)
            acc += x[0][at(k)];
          r[at(k)] = acc;
          if (exclusive)
            acc += x[0][at(k)];
        }
        continue;
      }
      double m = -INFINITY, sum = 0;
      for (int64_t k = 0; k < len; ++k)
        m = std::max(m, x[0][at(k)]);
      for (int64_t k = 0; k < len; ++k) {
        double v = x[0][at(k)];
        r[at(k)] = twoQuad ? (v + c) * (v + c) : std::exp(v - m);
        sum += r[at(k)];
      }
      for (int64_t k = 0; k < len; ++k)
        r[at(k)] /= sum;
    }
  } else if (isReduce(f)) {
    std::vector<bool> reduced = *reducedAxes(op, int64_t(xs.size()));
    // The output index of every input element: drop (or zero) the reduced
    // coordinates.
    std::vector<int64_t> xst = strides(xs);
    Shape kept;
    for (size_t i = 0; i < xs.size(); ++i)
      kept.push_back(reduced[i] ? 1 : xs[i]);
    std::vector<int64_t> kst = strides(kept);
    std::vector<int64_t> count(n, 0);
    if (f == Fn::ReduceMax)
      std::fill(r.begin(), r.end(), -INFINITY);
    for (int64_t j = 0; j < int64_t(x[0].size()); ++j) {
      int64_t o = 0, rest = j;
      for (size_t d = 0; d < xs.size(); ++d) {
        int64_t c = rest / xst[d];
        rest %= xst[d];
        if (!reduced[d])
          o += c * kst[d];
      }
      if (f == Fn::ReduceMax)
        r[o] = std::max(r[o], x[0][j]);
      else
        r[o] += x[0][j];
      ++count[o];
    }
    if (f == Fn::ReduceMean)
      for (int64_t o = 0; o < n; ++o)
        r[o] /= double(std::max<int64_t>(1, count[o]));
  } else {
    // Element-wise with numpy broadcasting: each operand's index from the
    // output's coordinates.
    std::vector<int64_t> yst = strides(y.shape);
    size_t rank = y.shape.size();
    std::vector<std::vector<int64_t>> ist(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      const Shape &s = op.in[i]->shape;
      std::vector<int64_t> st = strides(s);
      ist[i].assign(rank, 0);
      for (size_t d = 0; d < s.size(); ++d)
        if (s[d] != 1)
          ist[i][rank - s.size() + d] = st[d];
    }
    std::string to = op.attrStr("to"), form = op.attrStr("form", "erf");
    std::vector<double> a(in.size());
    for (int64_t o = 0; o < n; ++o) {
      for (size_t i = 0; i < in.size(); ++i) {
        int64_t k = 0, rest = o;
        for (size_t d = 0; d < rank; ++d) {
          k += (rest / yst[d]) * ist[i][d];
          rest %= yst[d];
        }
        a[i] = x[i][k];
      }
      double v = 0;
      switch (f) {
      case Fn::Add:
        v = a[0] + a[1];
        break;
      case Fn::Sub:
        v = a[0] - a[1];
        break;
      case Fn::Mul:
        v = a[0] * a[1];
        break;
      case Fn::Div:
        v = a[0] / a[1];
        break;
      case Fn::Pow:
        v = std::pow(a[0], a[1]);
        break;
      case Fn::Equal:
        v = a[0] == a[1];
        break;
      case Fn::Less:
        v = a[0] < a[1];
        break;
      case Fn::Greater:
        v = a[0] > a[1];
        break;
      case Fn::Where:
        v = a[0] != 0 ? a[1] : a[2];
        break;
      case Fn::Neg:
        v = -a[0];
        break;
      case Fn::Sqrt:
        v = std::sqrt(a[0]);
        break;
      case Fn::Erf:
        v = std::erf(a[0]);
        break;
      case Fn::Tanh:
        v = std::tanh(a[0]);
        break;
      case Fn::Exp:
        v = std::exp(a[0]);
        break;
      case Fn::Relu:
        v = std::max(a[0], 0.0);
        break;
      case Fn::Sigmoid:
        v = 1 / (1 + std::exp(-a[0]));
        break;
      case Fn::Cast:
        v = to == "bool" ? double(a[0] != 0) : a[0];
        break;
      case Fn::Gelu:
        v = gelu(a[0], form);
        break;
      default:
        break;
      }
      r[o] = v;
    }
  }

  RingTensor out(y.shape);
  for (int64_t o = 0; o < n; ++o)
    out[o] = encode(y, r[o]);
  return {std::move(out)};
}

} // namespace

#define MPC_LOCAL_KERNEL(Id, Name) MPC_DEFINE_KERNEL(Id, Name)
#include "runtime/plan/Kernels.def"
