//===- frontend/ConstEval.cpp - Constant data for import-time folding -----===//
//
// TensorProto decoding and the host-side helpers the importer folds with.
//
//===----------------------------------------------------------------------===//

#include "frontend/ConstEval.h"

#include "support/Diag.h"

#include <climits>
#include <cmath>
#include <cstring>

using namespace mpc;
using namespace mpc::onnx;

namespace pb = ::ONNX_NAMESPACE;

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
  switch (dataType) {
  case pb::TensorProto::FLOAT:
  case pb::TensorProto::DOUBLE:
  case pb::TensorProto::FLOAT16:
    return ElemType::F32;
  case pb::TensorProto::INT64:
  case pb::TensorProto::INT32:
  case pb::TensorProto::INT16:
  case pb::TensorProto::INT8:
  case pb::TensorProto::UINT8:
  case pb::TensorProto::UINT16:
  case pb::TensorProto::UINT32:
    return ElemType::I64;
  case pb::TensorProto::BOOL:
    return ElemType::Bool;
  default:
    break;
  }
  const std::string &name = pb::TensorProto::DataType_Name(
      static_cast<pb::TensorProto::DataType>(dataType));
  return error("unsupported tensor element type {}",
               name.empty() ? std::to_string(dataType) : name);
}

/// IEEE half -> float.
static double halfToDouble(uint16_t h) {
  int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(frac, -24);
  else if (exp == 31)
    v = frac ? NAN : INFINITY;
  else
    v = std::ldexp(frac + 1024, exp - 25);
  return sign ? -v : v;
}

/// Decodes \p n little-endian elements of \p T from \p raw.
template <typename T, typename Out>
static void decodeRaw(const std::string &raw, int64_t n,
                      std::vector<Out> &out) {
  out.resize(n);
  for (int64_t k = 0; k < n; ++k) {
    T x;
    std::memcpy(&x, raw.data() + k * sizeof(T), sizeof(T));
    out[k] = static_cast<Out>(x);
  }
}

static size_t elemBytes(int32_t dt) {
  switch (dt) {
  case pb::TensorProto::DOUBLE:
  case pb::TensorProto::INT64:
  case pb::TensorProto::UINT64:
    return 8;
  case pb::TensorProto::FLOAT:
  case pb::TensorProto::INT32:
  case pb::TensorProto::UINT32:
    return 4;
  case pb::TensorProto::FLOAT16:
  case pb::TensorProto::INT16:
  case pb::TensorProto::UINT16:
    return 2;
  default:
    return 1;
  }
}

llvm::Expected<HostTensor>
mpc::onnx::tensorFromProto(const pb::TensorProto &t) {
  if (t.data_location() == pb::TensorProto::EXTERNAL)
    return error("tensor '{}' stores its data in an external file, which "
                 "mpcc does not read",
                 t.name());
  auto elem = elemFromOnnx(t.data_type());
  if (!elem)
    return addContext(elem.takeError(), "tensor '" + t.name() + "': ");
  HostTensor h;
  h.shape.assign(t.dims().begin(), t.dims().end());
  std::optional<int64_t> count = checkedNumElements(h.shape);
  if (!count)
    return error("tensor '{}' has an invalid shape {} (a negative dimension, "
                 "or more elements than int64 counts)",
                 t.name(), shapeStr(h.shape));
  int64_t n = *count;
  int32_t dt = t.data_type();
  h.type = *elem == ElemType::F32   ? HostType::F32
           : *elem == ElemType::I64 ? HostType::I64
                                    : HostType::Bool;
  std::vector<double> &f = h.f;
  std::vector<int64_t> &i = h.i;

  if (t.has_raw_data()) {
    const std::string &raw = t.raw_data();
    if (raw.size() != static_cast<size_t>(n) * elemBytes(dt))
      return error("tensor '{}' has {} bytes of data, expected {} for shape "
                   "{}",
                   t.name(), raw.size(), n * elemBytes(dt), shapeStr(h.shape));
    switch (dt) {
    case pb::TensorProto::FLOAT:
      decodeRaw<float>(raw, n, f);
      break;
    case pb::TensorProto::DOUBLE:
      decodeRaw<double>(raw, n, f);
      break;
    case pb::TensorProto::FLOAT16: {
      std::vector<uint16_t> bits;
      decodeRaw<uint16_t>(raw, n, bits);
      f.resize(n);
      for (int64_t k = 0; k < n; ++k)
        f[k] = halfToDouble(bits[k]);
      break;
    }
    case pb::TensorProto::INT64:
      decodeRaw<int64_t>(raw, n, i);
      break;
    case pb::TensorProto::INT32:
      decodeRaw<int32_t>(raw, n, i);
      break;
    case pb::TensorProto::INT16:
      decodeRaw<int16_t>(raw, n, i);
      break;
    case pb::TensorProto::INT8:
      decodeRaw<int8_t>(raw, n, i);
      break;
    case pb::TensorProto::UINT8:
      decodeRaw<uint8_t>(raw, n, i);
      break;
    case pb::TensorProto::UINT16:
      decodeRaw<uint16_t>(raw, n, i);
      break;
    case pb::TensorProto::UINT32:
      decodeRaw<uint32_t>(raw, n, i);
      break;
    case pb::TensorProto::BOOL:
      decodeRaw<uint8_t>(raw, n, i);
      break;
    default:
      llvm_unreachable("type filtered by elemFromOnnx");
    }
  } else {
    int64_t have = 0;
    switch (dt) {
    case pb::TensorProto::FLOAT:
      f.assign(t.float_data().begin(), t.float_data().end());
      have = f.size();
      break;
    case pb::TensorProto::DOUBLE:
      f.assign(t.double_data().begin(), t.double_data().end());
      have = f.size();
      break;
    case pb::TensorProto::FLOAT16:
      for (int32_t bits : t.int32_data())
        f.push_back(halfToDouble(static_cast<uint16_t>(bits)));
      have = f.size();
      break;
    case pb::TensorProto::INT64:
      i.assign(t.int64_data().begin(), t.int64_data().end());
      have = i.size();
      break;
    case pb::TensorProto::UINT32:
      i.assign(t.uint64_data().begin(), t.uint64_data().end());
      have = i.size();
      break;
    default: // INT32, INT16, INT8, UINT8, UINT16, BOOL live in int32_data.
      i.assign(t.int32_data().begin(), t.int32_data().end());
      have = i.size();
      break;
    }
    if (have != n)
      return error("tensor '{}' has {} elements, expected {} for shape {}",
                   t.name(), have, n, shapeStr(h.shape));
  }
  if (h.type == HostType::Bool)
    for (int64_t &v : i)
      v = v != 0;
  return h;
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
