//===- frontend/ConstEval.cpp - Constant data for import-time folding -----===//
//
// The host-side helpers the importer folds with.
//
//===----------------------------------------------------------------------===//

#include "frontend/ConstEval.h"

#include "frontend/TensorProto.h"

#include "support/Diag.h"

#include <climits>
#include <cmath>
#include <cstring>

using namespace mpc;
using namespace mpc::onnx;

HostTensor mpc::onnx::toHost(const Value &v) {
  assert(v.isConstant() && "toHost on a non-constant value");
  const TensorType &t = v.type();
  const ConstData &d = v.constData();
  std::vector<int64_t> shape(t.shape.begin(), t.shape.end());
  switch (t.elem) {
  case ElemType::F32:
  case ElemType::Fixed:
    return HostTensor::floats(std::move(shape), d.f);
  case ElemType::I64:
    return HostTensor::ints(std::move(shape), d.i);
  case ElemType::Bool:
    return HostTensor::ints(std::move(shape), d.i, HostType::Bool);
  }
  llvm_unreachable("unknown element type");
}

ConstData mpc::onnx::fromHost(const HostTensor &t) {
  ConstData d;
  if (t.isFloat())
    d.f = t.f;
  else
    d.i = t.i;
  return d;
}

ElemType mpc::onnx::elemOf(HostType t) {
  switch (t) {
  case HostType::F32:
  case HostType::F64:
    return ElemType::F32;
  case HostType::I64:
  case HostType::I32:
    return ElemType::I64;
  case HostType::Bool:
    return ElemType::Bool;
  }
  llvm_unreachable("unknown host type");
}

llvm::Expected<ElemType> mpc::onnx::elemFromOnnx(int32_t dataType) {
  auto t = hostTypeFromOnnx(dataType);
  if (!t)
    return t.takeError();
  return elemOf(*t);
}

std::vector<int64_t> mpc::onnx::stridesOf(llvm::ArrayRef<int64_t> shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t k = static_cast<int64_t>(shape.size()) - 2; k >= 0; --k)
    s[k] = s[k + 1] * shape[k + 1];
  return s;
}

int64_t mpc::onnx::numElementsOf(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > INT64_MAX / d)
      return INT64_MAX; // Saturates; callers compare against limits.
    n *= d;
  }
  return n;
}

llvm::Expected<HostTensor> mpc::onnx::expandTo(const HostTensor &t,
                                               llvm::ArrayRef<int64_t> shape) {
  llvm::SmallVector<int64_t, 4> out;
  if (!broadcastShapes(t.shape, shape, out))
    return error("cannot broadcast shape {} to {}", shapeStr(t.shape),
                 shapeStr(shape));
  for (int64_t d : out)
    if (d < 0)
      return error("cannot broadcast to a negative dimension in {}",
                   shapeStr(shape));
  HostTensor r;
  r.type = t.type;
  r.shape.assign(out.begin(), out.end());
  int64_t n = numElementsOf(r.shape);
  if (n > kMaxConstantElements)
    return error("a constant of shape {} is too large", shapeStr(r.shape));
  size_t rank = r.shape.size(), off = rank - t.shape.size();
  std::vector<int64_t> inStrides = stridesOf(t.shape);
  std::vector<int64_t> outStrides = stridesOf(r.shape);
  (t.isFloat() ? r.f.resize(n) : r.i.resize(n));
  for (int64_t k = 0; k < n; ++k) {
    int64_t src = 0;
    for (size_t d = off; d < rank; ++d) {
      int64_t idx = (k / outStrides[d]) % r.shape[d];
      if (t.shape[d - off] != 1)
        src += idx * inStrides[d - off];
    }
    if (t.isFloat())
      r.f[k] = t.f[src];
    else
      r.i[k] = t.i[src];
  }
  return r;
}
