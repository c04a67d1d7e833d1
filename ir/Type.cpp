//===- ir/Type.cpp - Tensor types: shape, element, scale, visibility ------===//
//
// TensorType helpers: element counts, derived types, equality (fracBits and
// owner only count where they mean something), the textual form
// `vis<dims, elem>` and numpy broadcasting of shapes.
//
//===----------------------------------------------------------------------===//

#include "ir/Type.h"

#include <fmt/format.h>

using namespace mpc;

int64_t TensorType::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

TensorType TensorType::withShape(llvm::ArrayRef<int64_t> s) const {
  TensorType t = *this;
  t.shape.assign(s.begin(), s.end());
  return t;
}

TensorType TensorType::withVis(Vis v, int o) const {
  TensorType t = *this;
  t.vis = v;
  t.owner = v == Vis::Private ? o : -1;
  return t;
}

TensorType TensorType::withElem(ElemType e, int bits) const {
  TensorType t = *this;
  t.elem = e;
  t.fracBits = e == ElemType::Fixed ? bits : 0;
  return t;
}

bool TensorType::operator==(const TensorType &o) const {
  if (shape != o.shape || elem != o.elem || vis != o.vis)
    return false;
  if (elem == ElemType::Fixed && fracBits != o.fracBits)
    return false;
  if (vis == Vis::Private && owner != o.owner)
    return false;
  return true;
}

std::string mpc::elemTypeStr(ElemType e, int fracBits) {
  switch (e) {
  case ElemType::F32:
    return "f32";
  case ElemType::I64:
    return "i64";
  case ElemType::Bool:
    return "bool";
  case ElemType::Fixed:
    return fmt::format("fx{}", fracBits);
  }
  return "?";
}

std::string mpc::visStr(Vis v, int owner) {
  switch (v) {
  case Vis::Public:
    return "public";
  case Vis::Private:
    return fmt::format("private{}", owner);
  case Vis::Shared:
    return "shared";
  }
  return "?";
}

std::string TensorType::str() const {
  std::string s = visStr(vis, owner) + "<";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  if (!shape.empty())
    s += ", ";
  s += elemTypeStr(elem, fracBits) + ">";
  return s;
}

bool mpc::broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b,
                          llvm::SmallVectorImpl<int64_t> &out) {
  size_t rank = std::max(a.size(), b.size());
  llvm::SmallVector<int64_t, 4> res(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    // Align trailing dimensions.
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return false;
    res[i] = da == 1 ? db : da;
  }
  out.assign(res.begin(), res.end());
  return true;
}
