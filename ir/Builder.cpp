//===- ir/Builder.cpp - Creating ops with inferred result types -----------===//
//
// Result type inference for every op in Ops.def, following ONNX/numpy
// semantics for shapes, plus the Builder that creates ops with the inferred
// types at its insertion point and location. Inference errors say which op
// and what does not fit; the Builder attaches its location.
//
//===----------------------------------------------------------------------===//

#include "ir/Builder.h"

#include "ir/OpSchema.h"
#include "ir/ShapeUtils.h"
#include "support/Tensor.h"

#include "llvm/ADT/STLExtras.h"

#include <cassert>
#include <string_view>

using namespace mpc;

//===----------------------------------------------------------------------===//
// Attribute access during inference
//===----------------------------------------------------------------------===//

using AttrMap = std::map<std::string, Attr>;

static int64_t attrInt(const AttrMap &m, const char *n, int64_t def) {
  auto it = m.find(n);
  if (it == m.end())
    return def;
  if (auto *v = std::get_if<int64_t>(&it->second))
    return *v;
  return def;
}

static std::vector<int64_t> attrInts(const AttrMap &m, const char *n) {
  auto it = m.find(n);
  if (it == m.end())
    return {};
  if (auto *v = std::get_if<std::vector<int64_t>>(&it->second))
    return *v;
  return {};
}

static std::string attrString(const AttrMap &m, const char *n,
                              const char *def) {
  auto it = m.find(n);
  if (it == m.end())
    return def;
  if (auto *v = std::get_if<std::string>(&it->second))
    return *v;
  return def;
}

//===----------------------------------------------------------------------===//
// Element-type rules
//===----------------------------------------------------------------------===//

static bool isNumeric(const TensorType &t) { return t.elem != ElemType::Bool; }
static bool isFloatLike(const TensorType &t) {
  return t.elem == ElemType::F32 || t.elem == ElemType::Fixed;
}
static bool sameElem(const TensorType &a, const TensorType &b) {
  return a.elem == b.elem &&
         (a.elem != ElemType::Fixed || a.fracBits == b.fracBits);
}
static std::string elemOf(const TensorType &t) {
  return elemTypeStr(t.elem, t.fracBits);
}

static llvm::Error needNumeric(const TensorType &t, const char *what) {
  if (isNumeric(t))
    return llvm::Error::success();
  return error("{} must be numeric, got {}", what, elemOf(t));
}
static llvm::Error needFloat(const TensorType &t, const char *what) {
  if (isFloatLike(t))
    return llvm::Error::success();
  return error("{} must be f32 or fixed point, got {}", what, elemOf(t));
}
static llvm::Error needSameElem(const TensorType &a, const TensorType &b) {
  if (sameElem(a, b))
    return llvm::Error::success();
  return error("element types differ: {} vs {}", elemOf(a), elemOf(b));
}

void mpc::commonVisibility(llvm::ArrayRef<const Value *> operands, Vis &vis,
                           int &owner) {
  vis = Vis::Public;
  owner = -1;
  for (const Value *v : operands) {
    const TensorType &t = v->type();
    if (t.vis == Vis::Public)
      continue;
    if (t.vis == Vis::Shared || (vis == Vis::Private && owner != t.owner)) {
      vis = Vis::Shared;
      owner = -1;
      return;
    }
    vis = Vis::Private;
    owner = t.owner;
  }
}

//===----------------------------------------------------------------------===//
// Per-kind shape and element inference
//===----------------------------------------------------------------------===//

namespace {
/// Shape and element of the (single) result; visibility is added later.
struct Inferred {
  llvm::SmallVector<int64_t, 4> shape;
  ElemType elem = ElemType::F32;
  int fracBits = 0;

  static Inferred like(const TensorType &t, llvm::ArrayRef<int64_t> s) {
    return {llvm::SmallVector<int64_t, 4>(s.begin(), s.end()), t.elem,
            t.fracBits};
  }
};
} // namespace

static llvm::Error needFixedPair(const TensorType &a, const TensorType &b) {
  if (a.elem != ElemType::Fixed || b.elem != ElemType::Fixed)
    return error("operands must be fixed point, got {} and {}", elemOf(a),
                 elemOf(b));
  return llvm::Error::success();
}

static llvm::Expected<Inferred> broadcastBinary(const TensorType &a,
                                                const TensorType &b) {
  Inferred r = Inferred::like(a, {});
  if (!broadcastShapes(a.shape, b.shape, r.shape))
    return error("shapes do not broadcast: {} vs {}", shapeStr(a.shape),
                 shapeStr(b.shape));
  return r;
}

static llvm::Expected<Inferred>
linearType(const TensorType &x, const TensorType &w, const TensorType *b) {
  if (auto e = needNumeric(x, "input"))
    return e;
  if (auto e = needSameElem(x, w))
    return e;
  if (x.rank() < 1)
    return error("input must have rank >= 1, got a scalar");
  if (w.rank() != 2)
    return error("weight must be [K, N], got {}", shapeStr(w.shape));
  if (x.shape.back() != w.shape[0])
    return error("inner dimensions differ: {} vs {}", shapeStr(x.shape),
                 shapeStr(w.shape));
  if (b) {
    if (auto e = needSameElem(x, *b))
      return e;
    if (b->rank() != 1 || b->shape[0] != w.shape[1])
      return error("bias must be [{}], got {}", w.shape[1], shapeStr(b->shape));
  }
  Inferred r = Inferred::like(x, x.shape);
  r.shape.back() = w.shape[1];
  return r;
}

static llvm::Expected<Inferred> transposeType(const TensorType &a,
                                              const AttrMap &attrs) {
  std::vector<int64_t> perm = attrInts(attrs, "perm");
  if (static_cast<int64_t>(perm.size()) != a.rank())
    return error("perm [{}] has {} entries but the input has rank {}",
                 fmt::join(perm, ", "), perm.size(), a.rank());
  llvm::SmallVector<bool, 4> seen(perm.size(), false);
  Inferred r = Inferred::like(a, {});
  for (int64_t p : perm) {
    if (p < 0 || p >= a.rank() || seen[p])
      return error("perm [{}] is not a permutation of 0..{}",
                   fmt::join(perm, ", "), a.rank() - 1);
    seen[p] = true;
    r.shape.push_back(a.shape[p]);
  }
  return r;
}

static llvm::Expected<Inferred> concatType(llvm::ArrayRef<const Value *> ops,
                                           const AttrMap &attrs) {
  const TensorType &first = ops[0]->type();
  auto axis = normalizeAxis(attrInt(attrs, "axis", 0), first.rank());
  if (!axis)
    return axis.takeError();
  Inferred r = Inferred::like(first, first.shape);
  for (size_t i = 1; i < ops.size(); ++i) {
    const TensorType &t = ops[i]->type();
    if (auto e = needSameElem(first, t))
      return e;
    bool fits = t.rank() == first.rank();
    for (int64_t d = 0; fits && d < t.rank(); ++d)
      fits = d == *axis || t.shape[d] == first.shape[d];
    if (!fits)
      return error("operand {} has shape {}, which does not fit {} along "
                   "axis {}",
                   i, shapeStr(t.shape), shapeStr(first.shape), *axis);
    r.shape[*axis] += t.shape[*axis];
  }
  return r;
}

static llvm::Expected<Inferred> gatherType(const TensorType &data,
                                           const TensorType &idx,
                                           const AttrMap &attrs) {
  if (idx.elem != ElemType::I64)
    return error("indices must be i64, got {}", elemOf(idx));
  auto axis = normalizeAxis(attrInt(attrs, "axis", 0), data.rank());
  if (!axis)
    return axis.takeError();
  Inferred r = Inferred::like(data, {});
  r.shape.append(data.shape.begin(), data.shape.begin() + *axis);
  r.shape.append(idx.shape.begin(), idx.shape.end());
  r.shape.append(data.shape.begin() + *axis + 1, data.shape.end());
  return r;
}

static llvm::Expected<Inferred> reduceType(const TensorType &a,
                                           const AttrMap &attrs) {
  if (auto e = needNumeric(a, "input"))
    return e;
  auto axes = resolveReduceAxes(a.rank(), attrInts(attrs, "axes"));
  if (!axes)
    return axes.takeError();
  bool keep = attrInt(attrs, "keepdims", 1) != 0;
  return Inferred::like(a, reducedShape(a.shape, *axes, keep));
}

static llvm::Expected<Inferred> layerNormType(const TensorType &x,
                                              const TensorType &gamma,
                                              const TensorType &beta,
                                              const AttrMap &attrs) {
  if (auto e = needFloat(x, "input"))
    return e;
  auto axis = normalizeAxis(attrInt(attrs, "axis", -1), x.rank());
  if (!axis)
    return axis.takeError();
  llvm::ArrayRef<int64_t> norm =
      llvm::ArrayRef<int64_t>(x.shape).drop_front(static_cast<size_t>(*axis));
  for (const TensorType *p : {&gamma, &beta}) {
    if (auto e = needSameElem(x, *p))
      return e;
    llvm::SmallVector<int64_t, 4> b;
    if (p->rank() > static_cast<int64_t>(norm.size()) ||
        !broadcastShapes(norm, p->shape, b) ||
        llvm::ArrayRef<int64_t>(b) != norm)
      return error("{} has shape {}, which does not broadcast to the "
                   "normalised shape {}",
                   p == &gamma ? "scale" : "bias", shapeStr(p->shape),
                   shapeStr(norm));
  }
  return Inferred::like(x, x.shape);
}

//===----------------------------------------------------------------------===//
// The rules Ops.def names (column Infer): infer<Rule>(operands, attributes)
//===----------------------------------------------------------------------===//

using Operands = llvm::ArrayRef<const Value *>;
using Results = llvm::SmallVector<TensorType, 1>;

static const TensorType &ty(Operands ops, unsigned i) { return ops[i]->type(); }

/// The input with `bits` fractional bits removed (trunc, gelu.mpc).
static llvm::Expected<Inferred> truncated(const TensorType &x, int64_t bits) {
  if (x.elem != ElemType::Fixed)
    return error("input must be fixed point, got {}", elemOf(x));
  if (bits < 0 || bits > x.fracBits)
    return error("cannot remove {} bits from {}", bits, elemOf(x));
  Inferred r = Inferred::like(x, x.shape);
  r.fracBits = x.fracBits - static_cast<int>(bits);
  return r;
}

static llvm::Expected<Inferred> inferArith(Operands ops, const AttrMap &) {
  if (auto e = needNumeric(ty(ops, 0), "lhs"))
    return e;
  if (auto e = needSameElem(ty(ops, 0), ty(ops, 1)))
    return e;
  return broadcastBinary(ty(ops, 0), ty(ops, 1));
}

static llvm::Expected<Inferred> inferPow(Operands ops, const AttrMap &) {
  if (auto e = needNumeric(ty(ops, 0), "base"))
    return e;
  if (auto e = needNumeric(ty(ops, 1), "exponent"))
    return e;
  return broadcastBinary(ty(ops, 0), ty(ops, 1));
}

static llvm::Expected<Inferred> inferNumeric(Operands ops, const AttrMap &) {
  if (auto e = needNumeric(ty(ops, 0), "input"))
    return e;
  return Inferred::like(ty(ops, 0), ty(ops, 0).shape);
}

static llvm::Expected<Inferred> inferFloatMap(Operands ops, const AttrMap &) {
  if (auto e = needFloat(ty(ops, 0), "input"))
    return e;
  return Inferred::like(ty(ops, 0), ty(ops, 0).shape);
}

static llvm::Expected<Inferred> inferWhere(Operands ops, const AttrMap &) {
  if (ty(ops, 0).elem != ElemType::Bool)
    return error("condition must be bool, got {}", elemOf(ty(ops, 0)));
  if (auto e = needSameElem(ty(ops, 1), ty(ops, 2)))
    return e;
  Inferred r = Inferred::like(ty(ops, 1), {});
  llvm::SmallVector<int64_t, 4> ab;
  if (!broadcastShapes(ty(ops, 1).shape, ty(ops, 2).shape, ab) ||
      !broadcastShapes(ty(ops, 0).shape, ab, r.shape))
    return error("shapes do not broadcast: {}, {}, {}",
                 shapeStr(ty(ops, 0).shape), shapeStr(ty(ops, 1).shape),
                 shapeStr(ty(ops, 2).shape));
  return r;
}

static llvm::Expected<Inferred> inferEqual(Operands ops, const AttrMap &) {
  if (auto e = needSameElem(ty(ops, 0), ty(ops, 1)))
    return e;
  auto r = broadcastBinary(ty(ops, 0), ty(ops, 1));
  if (r)
    r->elem = ElemType::Bool, r->fracBits = 0;
  return r;
}

static llvm::Expected<Inferred> inferCast(Operands ops, const AttrMap &attrs) {
  std::string to = attrString(attrs, "to", "");
  Inferred r = Inferred::like(ty(ops, 0), ty(ops, 0).shape);
  r.fracBits = 0;
  if (to == "f32")
    r.elem = ElemType::F32;
  else if (to == "i64")
    r.elem = ElemType::I64;
  else if (to == "bool")
    r.elem = ElemType::Bool;
  else
    return error("cannot cast to \"{}\" (expected \"f32\", \"i64\" or "
                 "\"bool\")",
                 to);
  return r;
}

static llvm::Expected<Inferred> inferMatMul(Operands ops, const AttrMap &) {
  if (auto e = needNumeric(ty(ops, 0), "lhs"))
    return e;
  if (auto e = needSameElem(ty(ops, 0), ty(ops, 1)))
    return e;
  auto s = matmulShape(ty(ops, 0).shape, ty(ops, 1).shape);
  if (!s)
    return s.takeError();
  return Inferred::like(ty(ops, 0), *s);
}

static llvm::Expected<Inferred> inferLinear(Operands ops, const AttrMap &) {
  return linearType(ty(ops, 0), ty(ops, 1),
                    ops.size() > 2 ? &ty(ops, 2) : nullptr);
}

static llvm::Expected<Inferred> inferReshape(Operands ops,
                                             const AttrMap &attrs) {
  auto s = resolveReshape(ty(ops, 0).shape, attrInts(attrs, "shape"));
  if (!s)
    return s.takeError();
  return Inferred::like(ty(ops, 0), *s);
}

static llvm::Expected<Inferred> inferTranspose(Operands ops,
                                               const AttrMap &attrs) {
  return transposeType(ty(ops, 0), attrs);
}

static llvm::Expected<Inferred> inferSlice(Operands ops, const AttrMap &attrs) {
  auto s = resolveSlice(ty(ops, 0).shape, attrInts(attrs, "starts"),
                        attrInts(attrs, "ends"), attrInts(attrs, "axes"),
                        attrInts(attrs, "steps"));
  if (!s)
    return s.takeError();
  Inferred r = Inferred::like(ty(ops, 0), {});
  for (const SliceAxis &a : *s)
    r.shape.push_back(a.count);
  return r;
}

static llvm::Expected<Inferred> inferConcat(Operands ops,
                                            const AttrMap &attrs) {
  return concatType(ops, attrs);
}

static llvm::Expected<Inferred> inferGather(Operands ops,
                                            const AttrMap &attrs) {
  return gatherType(ty(ops, 0), ty(ops, 1), attrs);
}

static llvm::Expected<Inferred> inferReduce(Operands ops,
                                            const AttrMap &attrs) {
  return reduceType(ty(ops, 0), attrs);
}

static llvm::Expected<Inferred> inferEmbedding(Operands ops, const AttrMap &) {
  if (auto e = needFloat(ty(ops, 0), "table"))
    return e;
  if (ty(ops, 0).rank() != 2)
    return error("table must be [V, D], got {}", shapeStr(ty(ops, 0).shape));
  if (ty(ops, 1).elem != ElemType::I64)
    return error("ids must be i64, got {}", elemOf(ty(ops, 1)));
  Inferred r = Inferred::like(ty(ops, 0), ty(ops, 1).shape);
  r.shape.push_back(ty(ops, 0).shape[1]);
  return r;
}

static llvm::Expected<Inferred> inferLayerNorm(Operands ops,
                                               const AttrMap &attrs) {
  return layerNormType(ty(ops, 0), ty(ops, 1), ty(ops, 2), attrs);
}

static llvm::Expected<Inferred> inferGelu(Operands ops, const AttrMap &attrs) {
  if (auto e = needFloat(ty(ops, 0), "input"))
    return e;
  if (auto f = parseGeluForm(
          attrString(attrs, "form", geluFormName(GeluForm::Erf).data()));
      !f)
    return f.takeError();
  return Inferred::like(ty(ops, 0), ty(ops, 0).shape);
}

static llvm::Expected<Inferred> inferSoftmax(Operands ops,
                                             const AttrMap &attrs) {
  if (auto e = needFloat(ty(ops, 0), "input"))
    return e;
  if (auto a = normalizeAxis(attrInt(attrs, "axis", -1), ty(ops, 0).rank()); !a)
    return a.takeError();
  if (auto f = parseSoftmaxForm(
          attrString(attrs, "form", softmaxFormName(SoftmaxForm::Exp).data()));
      !f)
    return f.takeError();
  return Inferred::like(ty(ops, 0), ty(ops, 0).shape);
}

static llvm::Expected<Inferred> inferCumSum(Operands ops,
                                            const AttrMap &attrs) {
  if (auto e = needNumeric(ty(ops, 0), "input"))
    return e;
  if (auto a = normalizeAxis(attrInt(attrs, "axis", 0), ty(ops, 0).rank()); !a)
    return a.takeError();
  return Inferred::like(ty(ops, 0), ty(ops, 0).shape);
}

static llvm::Expected<Results> inferByRule(OpKind kind, Operands ops,
                                           const AttrMap &attrs);

/// clear: the type of the semantic op `fn`, a real result in fixed point
/// with `frac` bits.
static llvm::Expected<Results> inferClear(Operands ops, const AttrMap &attrs) {
  std::string fn = attrString(attrs, "fn", "");
  std::optional<OpKind> k = opKindFromName(fn);
  if (!k || opKindStage(*k) == OpStage::Lowered)
    return error("fn \"{}\" is not a semantic op", fn);
  AttrMap inner = attrs;
  inner.erase("fn");
  inner.erase("frac");
  auto r = inferByRule(*k, ops, inner);
  if (r)
    for (TensorType &t : *r)
      if (t.elem == ElemType::F32 || t.elem == ElemType::Fixed) {
        t.elem = ElemType::Fixed;
        t.fracBits = static_cast<int>(attrInt(attrs, "frac", 0));
      }
  return r;
}

static llvm::Expected<Inferred> inferMaskBias(Operands ops,
                                              const AttrMap &attrs) {
  Inferred r = Inferred::like(ty(ops, 0), ty(ops, 0).shape);
  r.elem = attrs.count("frac") ? ElemType::Fixed : ElemType::F32;
  r.fracBits = static_cast<int>(attrInt(attrs, "frac", 0));
  return r;
}

// Protocol ops: fixed point in, fixed point out; products add scales.

/// linear.pw: one result x.w_j per weight, all shared, scales added.
static llvm::Expected<Results> inferLinearPw(Operands ops, const AttrMap &) {
  const TensorType &x = ops[0]->type();
  Results res;
  for (size_t j = 1; j < ops.size(); ++j) {
    const TensorType &w = ops[j]->type();
    if (auto e = needFixedPair(x, w))
      return e;
    if (!w.isPrivateTo(0))
      return error("operand {} must be a weight private to party 0, got {}", j,
                   visStr(w.vis, w.owner));
    if (w.rank() != 2 || x.rank() < 1 || x.shape.back() != w.shape[0])
      return error("inner dimensions differ: {} vs {}", shapeStr(x.shape),
                   shapeStr(w.shape));
    TensorType t = x;
    t.shape.back() = w.shape[1];
    t.fracBits = x.fracBits + w.fracBits;
    t.vis = Vis::Shared;
    t.owner = -1;
    res.push_back(t);
  }
  return res;
}

static llvm::Expected<Inferred> inferFixedProduct(Operands ops,
                                                  const AttrMap &) {
  if (auto e = needFixedPair(ty(ops, 0), ty(ops, 1)))
    return e;
  auto r = broadcastBinary(ty(ops, 0), ty(ops, 1));
  if (r)
    r->fracBits = ty(ops, 0).fracBits + ty(ops, 1).fracBits;
  return r;
}

static llvm::Expected<Inferred> inferFixedSquare(Operands ops,
                                                 const AttrMap &) {
  if (ty(ops, 0).elem != ElemType::Fixed)
    return error("input must be fixed point, got {}", elemOf(ty(ops, 0)));
  Inferred r = Inferred::like(ty(ops, 0), ty(ops, 0).shape);
  r.fracBits = 2 * ty(ops, 0).fracBits;
  return r;
}

static llvm::Expected<Inferred> inferLastAxisMax(Operands ops,
                                                 const AttrMap &) {
  if (ty(ops, 0).elem != ElemType::Fixed || ty(ops, 0).rank() == 0)
    return error("input must be a fixed-point tensor of rank >= 1, got {}",
                 elemOf(ty(ops, 0)));
  Inferred r = Inferred::like(ty(ops, 0), ty(ops, 0).shape);
  r.shape.back() = 1;
  return r;
}

static llvm::Expected<Inferred> inferFixedMatMul(Operands ops,
                                                 const AttrMap &) {
  if (auto e = needFixedPair(ty(ops, 0), ty(ops, 1)))
    return e;
  auto s = matmulShape(ty(ops, 0).shape, ty(ops, 1).shape);
  if (!s)
    return s.takeError();
  Inferred r = Inferred::like(ty(ops, 0), *s);
  r.fracBits = ty(ops, 0).fracBits + ty(ops, 1).fracBits;
  return r;
}

static llvm::Expected<Inferred> inferTrunc(Operands ops, const AttrMap &attrs) {
  return truncated(ty(ops, 0), attrInt(attrs, "bits", 0));
}

static llvm::Expected<Inferred> inferOneHot(Operands ops,
                                            const AttrMap &attrs) {
  if (ty(ops, 0).elem != ElemType::I64)
    return error("ids must be i64, got {}", elemOf(ty(ops, 0)));
  int64_t depth = attrInt(attrs, "depth", 0);
  if (depth <= 0)
    return error("depth must be positive, got {}", depth);
  Inferred r = Inferred::like(ty(ops, 0), ty(ops, 0).shape);
  r.shape.push_back(depth);
  r.elem = ElemType::Fixed;
  r.fracBits = 0;
  return r;
}

/// embed.lookup (ids private to party 1, table a weight [V, D]) -> shared
/// ids.shape + [D] at the table's scale.
static llvm::Expected<Inferred> inferEmbedLookup(Operands ops,
                                                 const AttrMap &) {
  const TensorType &ids = ty(ops, 0), &table = ty(ops, 1);
  if (ids.elem != ElemType::I64)
    return error("ids must be i64, got {}", elemOf(ids));
  if (table.elem != ElemType::Fixed || table.rank() != 2)
    return error("table must be fixed point [V, D], got {} {}", elemOf(table),
                 shapeStr(table.shape));
  if (!table.isPrivateTo(0))
    return error("table must be a weight private to party 0, got {}",
                 visStr(table.vis, table.owner));
  Inferred r = Inferred::like(table, ids.shape);
  r.shape.push_back(table.shape[1]);
  return r;
}

static llvm::Expected<Inferred> inferGeluMpc(Operands ops,
                                             const AttrMap &attrs) {
  // trunc_bits: GeLU truncates its input first (passes/FuseGeluInput).
  return truncated(ty(ops, 0), attrInt(attrs, "trunc_bits", 0));
}

static llvm::Expected<Inferred> inferFixedMap(Operands ops, const AttrMap &) {
  if (ty(ops, 0).elem != ElemType::Fixed)
    return error("input must be fixed point, got {}", elemOf(ty(ops, 0)));
  return Inferred::like(ty(ops, 0), ty(ops, 0).shape);
}

/// reveal: the input's type, visible to `to` (both for -1), less
/// trunc_bits fractional bits (the receiver truncates:
/// passes/RevealBeforeTrunc).
static llvm::Expected<Results> inferReveal(Operands ops, const AttrMap &attrs) {
  auto r = truncated(ty(ops, 0), attrInt(attrs, "trunc_bits", 0));
  if (!r)
    return r.takeError();
  int64_t to = attrInt(attrs, "to", 1);
  if (to != 0 && to != 1 && to != -1)
    return error("'to' must be 0, 1 or -1 (both), got {}", to);
  Results res;
  res.push_back(TensorType(r->shape, r->elem,
                           to == -1 ? Vis::Public : Vis::Private,
                           to == -1 ? -1 : static_cast<int>(to), r->fracBits));
  return res;
}

/// The single result of a rule that infers shape and element, with the
/// operands' common visibility.
static llvm::Expected<Results> withVisibility(Operands ops,
                                              llvm::Expected<Inferred> r) {
  if (!r)
    return r.takeError();
  Vis vis;
  int owner;
  commonVisibility(ops, vis, owner);
  Results res;
  res.push_back(TensorType(r->shape, r->elem, vis, owner, r->fracBits));
  return res;
}
static llvm::Expected<Results> withVisibility(Operands,
                                              llvm::Expected<Results> r) {
  return r;
}

static llvm::Expected<Results> inferByRule(OpKind kind, Operands ops,
                                           const AttrMap &attrs) {
  switch (kind) {
#define MPC_OP(Enum, Text, Stage, Min, Max, AttrList, Infer, Kernel)           \
  case OpKind::Enum:                                                           \
    return withVisibility(ops, infer##Infer(ops, attrs));
#include "ir/Ops.def"
  }
  return error("unknown op kind");
}

/// The rules whose result is the operands' broadcast shape, each element
/// computed from the operands' elements at that index.
static constexpr bool isElementwiseRule(std::string_view rule) {
  for (std::string_view r : {"Arith", "Pow", "Numeric", "FloatMap", "Where",
                             "Equal", "Cast", "Gelu", "MaskBias"})
    if (r == rule)
      return true;
  return false;
}

bool mpc::isElementwise(OpKind kind) {
  switch (kind) {
#define MPC_OP(Enum, Text, Stage, Min, Max, AttrList, Infer, Kernel)           \
  case OpKind::Enum:                                                           \
    return isElementwiseRule(#Infer);
#include "ir/Ops.def"
  }
  return false;
}

llvm::Expected<llvm::SmallVector<TensorType, 1>>
mpc::inferResultTypes(OpKind kind, llvm::ArrayRef<const Value *> operands,
                      const std::map<std::string, Attr> &attrs) {
  llvm::StringRef name = opKindName(kind);
  const OpSchema &schema = opSchema(kind);
  unsigned n = operands.size();
  if (n < schema.minOperands || n > schema.maxOperands) {
    std::string want =
        schema.minOperands == schema.maxOperands
            ? std::to_string(schema.minOperands)
        : schema.maxOperands == kVariadic
            ? fmt::format("at least {}", schema.minOperands)
            : fmt::format("{} to {}", schema.minOperands, schema.maxOperands);
    return error("{}: expects {} operand{}, got {}", name.str(), want,
                 want == "1" ? "" : "s", n);
  }
  std::vector<std::string> problems = checkAttrs(kind, attrs);
  if (!problems.empty())
    return error("{}: {}", name.str(), fmt::join(problems, "; "));
  auto inferred = inferByRule(kind, operands, attrs);
  if (!inferred)
    return addContext(inferred.takeError(), (name + ": ").str());
  return inferred;
}

//===----------------------------------------------------------------------===//
// Builder
//===----------------------------------------------------------------------===//

llvm::Expected<Op *> Builder::create(OpKind kind,
                                     llvm::ArrayRef<Value *> operands,
                                     std::map<std::string, Attr> attrs) {
  llvm::SmallVector<const Value *, 4> ops(operands.begin(), operands.end());
  assert(llvm::all_of(ops, [](const Value *v) { return v != nullptr; }) &&
         "null operand");
  auto types = inferResultTypes(kind, ops, attrs);
  if (!types)
    return diag(loc_, "{}", llvm::toString(types.takeError()));
  return createWithTypes(kind, operands, *types, std::move(attrs));
}

Op *Builder::createWithTypes(OpKind kind, llvm::ArrayRef<Value *> operands,
                             llvm::ArrayRef<TensorType> resultTypes,
                             std::map<std::string, Attr> attrs) {
  Op *op = g_.createOp(pos_, kind, operands, resultTypes, loc_);
  for (auto &[name, value] : attrs)
    op->setAttr(name, std::move(value));
  return op;
}

Value *Builder::constF32(llvm::ArrayRef<int64_t> shape, std::vector<double> v,
                         llvm::StringRef hint) {
  TensorType t(shape, ElemType::F32);
  assert(static_cast<int64_t>(v.size()) == t.numElements() &&
         "constant data does not match its shape");
  ConstData data;
  data.f = std::move(v);
  return g_.addConstant(g_.uniqueName(hint), std::move(t), std::move(data));
}

Value *Builder::constI64(llvm::ArrayRef<int64_t> shape, std::vector<int64_t> v,
                         llvm::StringRef hint) {
  TensorType t(shape, ElemType::I64);
  assert(static_cast<int64_t>(v.size()) == t.numElements() &&
         "constant data does not match its shape");
  ConstData data;
  data.i = std::move(v);
  return g_.addConstant(g_.uniqueName(hint), std::move(t), std::move(data));
}
