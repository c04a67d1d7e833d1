//===- frontend/import/ShapeOps.cpp - Reshaping and shape arithmetic ------===//
//
// Reshape, Flatten, Unsqueeze, Squeeze become the IR's `reshape` with a
// fully static shape attribute; Transpose keeps its permutation; Shape,
// Range and ConstantOfShape always produce constants (shapes are static
// after binding); Expand folds on constants; Identity and same-type Cast are
// aliases; Constant nodes become constants. Axes and shapes given as inputs
// (opset 13+) must fold to constants; the error says so otherwise.
// Shape and Range produce public constants (shapes, index sequences: their
// scalars are read as structure, like Slice's bounds); a Constant node or a
// ConstantOfShape fill is model data, private to party 0.
//
//===----------------------------------------------------------------------===//

#include "frontend/ConstEval.h"
#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"
#include "frontend/TensorProto.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <climits>
#include <cmath>

using namespace mpc;
using namespace mpc::onnx;

/// Reshapes \p x to \p shape (an alias when the shape does not change).
static llvm::Error reshapeOutput(ImportContext &ctx, Value *x,
                                 llvm::ArrayRef<int64_t> shape) {
  if (llvm::ArrayRef<int64_t>(x->type().shape) == shape) {
    ctx.setOutput(0, x);
    return llvm::Error::success();
  }
  std::vector<int64_t> s(shape.begin(), shape.end());
  auto r = ctx.emit(OpKind::Reshape, {x}, {{"shape", s}});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importReshape(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  std::vector<int64_t> spec;
  if (ctx.opset() < 5) {
    spec = ctx.attrInts("shape").value_or(std::vector<int64_t>{});
  } else {
    auto s = ctx.inputInts(1, "the shape input of Reshape");
    if (!s)
      return s.takeError();
    spec = std::move(*s);
  }
  const TensorType &t = (*x)->type();
  bool allowZero = ctx.attrInt("allowzero", 0) != 0;
  int64_t known = 1, inferAt = -1;
  std::vector<int64_t> shape(spec.size());
  for (size_t k = 0; k < spec.size(); ++k) {
    int64_t d = spec[k];
    if (d == 0 && !allowZero) {
      if (k >= t.shape.size())
        return ctx.fail("shape entry {} is 0 (copy) but the input has rank {}",
                        k, t.rank());
      d = t.shape[k];
    }
    if (d == -1) {
      if (inferAt >= 0)
        return ctx.fail("shape {} has more than one -1", shapeStr(spec));
      inferAt = static_cast<int64_t>(k);
      continue;
    }
    if (d < 0)
      return ctx.fail("shape {} has a negative entry", shapeStr(spec));
    if (d != 0 && known > INT64_MAX / d)
      return ctx.fail("shape {} has more elements than int64 counts",
                      shapeStr(spec));
    shape[k] = d;
    known *= d;
  }
  int64_t n = t.numElements();
  if (inferAt >= 0) {
    if (known == 0 || n % known != 0)
      return ctx.fail("cannot reshape {} to {}", t.str(), shapeStr(spec));
    shape[inferAt] = n / known;
  } else if (known != n) {
    return ctx.fail("cannot reshape {} ({} elements) to {}", t.str(), n,
                    shapeStr(shape));
  }
  if (n == 0) {
    // allowzero's literal 0: the result has no elements, so no values to
    // compute; the IR's reshape reads 0 as "copy", so it is a constant.
    ctx.setOutput(
        0, ctx.addConstant(ctx.nameHint(0), TensorType(shape, t.elem), {}));
    return llvm::Error::success();
  }
  return reshapeOutput(ctx, *x, shape);
}

llvm::Error mpc::onnx::importFlatten(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  const TensorType &t = (*x)->type();
  int64_t axis = ctx.attrInt("axis", 1);
  if (axis < -t.rank() || axis > t.rank())
    return ctx.fail("axis {} is out of range for rank {}", axis, t.rank());
  if (axis < 0)
    axis += t.rank();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < t.rank(); ++d)
    (d < axis ? outer : inner) *= t.shape[d];
  return reshapeOutput(ctx, *x, {outer, inner});
}

/// The axes of Unsqueeze/Squeeze/Reduce*: an attribute before
/// \p inputFromOpset, input 1 from then on. nullopt when absent.
static llvm::Expected<std::optional<std::vector<int64_t>>>
axesOf(ImportContext &ctx, int inputFromOpset, llvm::StringRef what) {
  if (ctx.opset() < inputFromOpset)
    return ctx.attrInts("axes");
  if (!ctx.hasInput(1))
    return std::nullopt;
  auto a = ctx.inputInts(1, what);
  if (!a)
    return a.takeError();
  return std::optional<std::vector<int64_t>>(std::move(*a));
}

llvm::Error mpc::onnx::importUnsqueeze(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  auto axes = axesOf(ctx, 13, "the axes input of Unsqueeze");
  if (!axes)
    return axes.takeError();
  if (!*axes)
    return ctx.fail("missing axes");
  const TensorType &t = (*x)->type();
  int64_t outRank = t.rank() + static_cast<int64_t>((*axes)->size());
  std::vector<bool> isNew(outRank, false);
  for (int64_t a : **axes) {
    auto n = ctx.normAxis(a, outRank, "axis");
    if (!n)
      return n.takeError();
    if (isNew[*n])
      return ctx.fail("axis {} is repeated", a);
    isNew[*n] = true;
  }
  std::vector<int64_t> shape;
  size_t src = 0;
  for (int64_t d = 0; d < outRank; ++d)
    shape.push_back(isNew[d] ? 1 : t.shape[src++]);
  return reshapeOutput(ctx, *x, shape);
}

llvm::Error mpc::onnx::importSqueeze(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  auto axes = axesOf(ctx, 13, "the axes input of Squeeze");
  if (!axes)
    return axes.takeError();
  const TensorType &t = (*x)->type();
  std::vector<bool> drop(t.rank(), false);
  if (*axes) {
    for (int64_t a : **axes) {
      auto n = ctx.normAxis(a, t.rank(), "axis");
      if (!n)
        return n.takeError();
      if (t.shape[*n] != 1)
        return ctx.fail("cannot squeeze axis {} of size {}", a, t.shape[*n]);
      drop[*n] = true;
    }
  } else {
    for (int64_t d = 0; d < t.rank(); ++d)
      drop[d] = t.shape[d] == 1;
  }
  std::vector<int64_t> shape;
  for (int64_t d = 0; d < t.rank(); ++d)
    if (!drop[d])
      shape.push_back(t.shape[d]);
  return reshapeOutput(ctx, *x, shape);
}

llvm::Error mpc::onnx::importTranspose(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  int64_t rank = (*x)->type().rank();
  std::vector<int64_t> perm;
  if (auto p = ctx.attrInts("perm")) {
    perm = *p;
  } else {
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  }
  if (static_cast<int64_t>(perm.size()) != rank)
    return ctx.fail("perm has {} entries for rank {}", perm.size(), rank);
  std::vector<bool> seen(rank, false);
  for (int64_t &p : perm) {
    auto n = ctx.normAxis(p, rank, "perm entry");
    if (!n)
      return n.takeError();
    if (seen[*n])
      return ctx.fail("perm repeats axis {}", *n);
    seen[*n] = true;
    p = *n;
  }
  auto r = ctx.emit(OpKind::Transpose, {*x}, {{"perm", perm}});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importShape(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  const auto &shape = (*x)->type().shape;
  int64_t rank = static_cast<int64_t>(shape.size());
  // Opset 15 adds start/end (clamped, negative from the back).
  int64_t start = ctx.attrInt("start", 0), end = ctx.attrInt("end", rank);
  auto clampAxis = [rank](int64_t a) {
    if (a < 0)
      a += rank;
    return std::clamp<int64_t>(a, 0, rank);
  };
  start = clampAxis(start);
  end = std::max(start, clampAxis(end));
  std::vector<int64_t> dims(shape.begin() + start, shape.begin() + end);
  int64_t n = static_cast<int64_t>(dims.size());
  ctx.setOutput(0, ctx.constI64({n}, std::move(dims), ctx.nameHint()));
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importRange(ImportContext &ctx) {
  llvm::SmallVector<Value *, 3> in;
  for (unsigned i = 0; i < 3; ++i) {
    auto v = ctx.input(i);
    if (!v)
      return v.takeError();
    if (!(*v)->isConstant() || (*v)->type().numElements() != 1)
      return ctx.fail("input {} must be a constant scalar", i);
    in.push_back(*v);
  }
  bool isFloat = in[0]->type().elem == ElemType::F32;
  auto scalar = [&](Value *v) {
    return isFloat ? v->constData().f[0]
                   : static_cast<double>(v->constData().i[0]);
  };
  double start = scalar(in[0]), limit = scalar(in[1]), delta = scalar(in[2]);
  if (delta == 0 || !std::isfinite((limit - start) / delta))
    return ctx.fail("cannot make a range from {} to {} by {}", start, limit,
                    delta);
  int64_t n = std::max<int64_t>(
      static_cast<int64_t>(std::ceil((limit - start) / delta)), 0);
  if (n > kMaxConstantElements)
    return ctx.fail("range of {} elements is too large", n);
  if (isFloat) {
    std::vector<double> v(n);
    for (int64_t k = 0; k < n; ++k)
      v[k] = start + k * delta;
    ctx.setOutput(0, ctx.constF32({n}, std::move(v), ctx.nameHint()));
  } else {
    std::vector<int64_t> v(n);
    int64_t s = in[0]->constData().i[0], d = in[2]->constData().i[0];
    for (int64_t k = 0; k < n; ++k)
      v[k] = s + k * d;
    ctx.setOutput(0, ctx.constI64({n}, std::move(v), ctx.nameHint()));
  }
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importConstantOfShape(ImportContext &ctx) {
  auto shape = ctx.inputInts(0, "the shape input of ConstantOfShape");
  if (!shape)
    return shape.takeError();
  for (int64_t d : *shape)
    if (d < 0 || d > kMaxConstantElements)
      return ctx.fail("bad dimension in shape {}", shapeStr(*shape));
  if (numElementsOf(*shape) > kMaxConstantElements)
    return ctx.fail("a constant of shape {} is too large", shapeStr(*shape));
  HostTensor fill = HostTensor::floats({1}, {0.0});
  if (const auto *a = ctx.attr("value")) {
    auto t = tensorFromProto(a->t());
    if (!t)
      return ctx.fail("value: {}", llvm::toString(t.takeError()));
    if (t->numElements() != 1)
      return ctx.fail("value must have one element");
    fill = std::move(*t);
  }
  HostTensor out;
  out.type = fill.type;
  out.shape = *shape;
  int64_t n = numElementsOf(*shape);
  if (fill.isFloat())
    out.f.assign(n, fill.f[0]);
  else
    out.i.assign(n, fill.i[0]);
  // A fill from the model file is the owner's, like any model constant;
  // the default fill (0) is the compiler's.
  if (ctx.attr("value")) {
    ctx.setOutput(0, ctx.addModelConstant(ctx.nameHint(), out));
    return llvm::Error::success();
  }
  TensorType type(out.shape, elemOf(out.type));
  ctx.setOutput(0, ctx.addConstant(ctx.nameHint(), type, fromHost(out)));
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importExpand(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  auto shape = ctx.inputInts(1, "the shape input of Expand");
  if (!shape)
    return shape.takeError();
  const TensorType &t = (*x)->type();
  if ((*x)->isConstant()) {
    auto e = expandTo(toHost(**x), *shape);
    if (!e)
      return ctx.fail("{}", llvm::toString(e.takeError()));
    ctx.setOutput(0, ctx.addConstant(ctx.nameHint(), t.withShape(e->shape),
                                     fromHost(*e)));
    return llvm::Error::success();
  }
  llvm::SmallVector<int64_t, 4> out;
  if (!broadcastShapes(t.shape, *shape, out))
    return ctx.fail("cannot expand {} to {}", t.str(), shapeStr(*shape));
  if (llvm::ArrayRef<int64_t>(out) == llvm::ArrayRef<int64_t>(t.shape)) {
    ctx.setOutput(0, *x);
    return llvm::Error::success();
  }
  if (t.elem == ElemType::Bool) {
    // x == true broadcasts a bool x (a mask: the client computes it).
    ConstData ones;
    ones.i.assign(numElementsOf(out), 1);
    Value *o = ctx.addConstant("true", TensorType(out, t.elem), ones);
    auto r = ctx.emit(OpKind::Equal, {*x, o});
    if (!r)
      return r.takeError();
    ctx.setOutput(0, *r);
    return llvm::Error::success();
  }
  // x + 0 broadcasts x to the target shape; the IR has no broadcast op.
  ConstData zeros;
  if (t.elem == ElemType::F32)
    zeros.f.assign(numElementsOf(out), 0.0);
  else
    zeros.i.assign(numElementsOf(out), 0);
  Value *z = ctx.addConstant("zeros", TensorType(out, t.elem), zeros);
  auto r = ctx.emit(OpKind::Add, {*x, z});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importIdentity(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  ctx.setOutput(0, *x);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importCast(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  auto to = elemFromOnnx(static_cast<int32_t>(ctx.attrInt("to", 0)));
  if (!to)
    return ctx.fail("unsupported attribute to: {}",
                    llvm::toString(to.takeError()));
  if (*to == (*x)->type().elem) {
    ctx.setOutput(0, *x);
    return llvm::Error::success();
  }
  std::string name = *to == ElemType::F32   ? "f32"
                     : *to == ElemType::I64 ? "i64"
                                            : "bool";
  auto r = ctx.emit(OpKind::Cast, {*x}, {{"to", name}});
  if (!r)
    return r.takeError();
  ctx.setOutput(0, *r);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importConstant(ImportContext &ctx) {
  if (ctx.node().attribute_size() != 1)
    return ctx.fail("expects exactly one attribute, got {}",
                    ctx.node().attribute_size());
  const pb::AttributeProto &a = ctx.node().attribute(0);
  HostTensor t;
  if (a.name() == "value") {
    auto v = tensorFromProto(a.t());
    if (!v)
      return ctx.fail("{}", llvm::toString(v.takeError()));
    t = std::move(*v);
  } else if (a.name() == "value_float") {
    t = HostTensor::floats({}, {a.f()});
  } else if (a.name() == "value_floats") {
    t = HostTensor::floats(
        {a.floats_size()},
        std::vector<double>(a.floats().begin(), a.floats().end()));
  } else if (a.name() == "value_int") {
    t = HostTensor::ints({}, {a.i()});
  } else if (a.name() == "value_ints") {
    t = HostTensor::ints({a.ints_size()}, std::vector<int64_t>(a.ints().begin(),
                                                               a.ints().end()));
  } else {
    return ctx.fail("unsupported attribute {}", a.name());
  }
  ctx.setOutput(0, ctx.addModelConstant(ctx.nameHint(), t));
  return llvm::Error::success();
}
