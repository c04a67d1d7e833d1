//===- frontend/TensorProto.cpp - ONNX TensorProto decoding ---------------===//
//
// raw_data is little-endian in the element type's own width (bool one byte,
// float16 two); without it the values sit in the typed field ONNX assigns
// the type (float16 bits, int8/16, uint8/16 and bool in int32_data, uint32
// in uint64_data). Counts are compared in elements, not bytes: the byte
// count of a hostile shape overflows.
//
//===----------------------------------------------------------------------===//

#include "frontend/TensorProto.h"

#include "support/Diag.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <climits>
#include <cmath>
#include <cstring>

using namespace mpc;

namespace pb = ::ONNX_NAMESPACE;

llvm::Expected<HostType> mpc::onnx::hostTypeFromOnnx(int32_t dataType) {
  switch (dataType) {
  case pb::TensorProto::FLOAT:
  case pb::TensorProto::FLOAT16:
    return HostType::F32;
  case pb::TensorProto::DOUBLE:
    return HostType::F64;
  case pb::TensorProto::INT32:
    return HostType::I32;
  case pb::TensorProto::INT64:
  case pb::TensorProto::INT16:
  case pb::TensorProto::INT8:
  case pb::TensorProto::UINT8:
  case pb::TensorProto::UINT16:
  case pb::TensorProto::UINT32:
    return HostType::I64;
  case pb::TensorProto::BOOL:
    return HostType::Bool;
  default:
    break;
  }
  const std::string &name = pb::TensorProto::DataType_Name(
      static_cast<pb::TensorProto::DataType>(dataType));
  return error("unsupported tensor element type {}",
               name.empty() ? std::to_string(dataType) : name);
}

/// IEEE half -> double.
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

/// Bytes per element of ONNX type \p dt in raw_data (types
/// hostTypeFromOnnx accepts).
static size_t rawElemBytes(int32_t dt) {
  switch (dt) {
  case pb::TensorProto::DOUBLE:
  case pb::TensorProto::INT64:
    return 8;
  case pb::TensorProto::FLOAT:
  case pb::TensorProto::INT32:
  case pb::TensorProto::UINT32:
    return 4;
  case pb::TensorProto::FLOAT16:
  case pb::TensorProto::INT16:
  case pb::TensorProto::UINT16:
    return 2;
  default: // INT8, UINT8, BOOL
    return 1;
  }
}

/// Decodes \p n little-endian elements of \p T from \p p, converted by \p f.
template <typename T, typename Out, typename F = Out (*)(T)>
static void decodeRaw(
    const char *p, int64_t n, std::vector<Out> &out,
    F f = [](T x) { return static_cast<Out>(x); }) {
  out.resize(n);
  for (int64_t k = 0; k < n; ++k) {
    T x;
    std::memcpy(&x, p + k * sizeof(T), sizeof(T));
    out[k] = f(x);
  }
}

/// "truncated data" when \p have < \p n elements, else "too much data".
static llvm::Error countMismatch(llvm::StringRef where, int64_t n,
                                 const char *field, uint64_t have) {
  return error("{}: {}: dims say {} elements, {} has {}", where.str(),
               have < static_cast<uint64_t>(n) ? "truncated data"
                                               : "too much data",
               n, field, have);
}

/// Copies typed field \p field into \p out, checking its length.
template <typename Field, typename Vec>
static llvm::Error copyTyped(llvm::StringRef where, const Field &field,
                             int64_t n, Vec &out, const char *fieldName) {
  if (static_cast<int64_t>(field.size()) != n)
    return countMismatch(where, n, fieldName, field.size());
  out.assign(field.begin(), field.end());
  return llvm::Error::success();
}

llvm::Expected<HostTensor> mpc::onnx::tensorFromProto(const pb::TensorProto &t,
                                                      llvm::StringRef where) {
  std::string at = where.empty() ? "tensor '" + t.name() + "'" : where.str();
  if (t.data_location() == pb::TensorProto::EXTERNAL)
    return error("{}: stores its data in an external file, which mpcc does "
                 "not read",
                 at);
  int32_t dt = t.data_type();
  auto type = hostTypeFromOnnx(dt);
  if (!type)
    return addContext(type.takeError(), at + ": ");
  HostTensor h;
  h.type = *type;
  h.shape.assign(t.dims().begin(), t.dims().end());
  auto count = shapeNumElements(at, h.shape);
  if (!count)
    return count.takeError();
  int64_t n = *count;

  if (t.has_raw_data()) {
    const std::string &raw = t.raw_data();
    size_t size = rawElemBytes(dt);
    if (raw.size() % size != 0 || raw.size() / size != static_cast<uint64_t>(n))
      return countMismatch(at, n, "raw_data", raw.size() / size);
    const char *p = raw.data();
    switch (dt) {
    case pb::TensorProto::FLOAT:
      decodeRaw<float>(p, n, h.f);
      break;
    case pb::TensorProto::DOUBLE:
      decodeRaw<double>(p, n, h.f);
      break;
    case pb::TensorProto::FLOAT16:
      decodeRaw<uint16_t>(p, n, h.f, halfToDouble);
      break;
    case pb::TensorProto::INT64:
      decodeRaw<int64_t>(p, n, h.i);
      break;
    case pb::TensorProto::INT32:
      decodeRaw<int32_t>(p, n, h.i);
      break;
    case pb::TensorProto::INT16:
      decodeRaw<int16_t>(p, n, h.i);
      break;
    case pb::TensorProto::INT8:
      decodeRaw<int8_t>(p, n, h.i);
      break;
    case pb::TensorProto::UINT8:
    case pb::TensorProto::BOOL:
      decodeRaw<uint8_t>(p, n, h.i);
      break;
    case pb::TensorProto::UINT16:
      decodeRaw<uint16_t>(p, n, h.i);
      break;
    case pb::TensorProto::UINT32:
      decodeRaw<uint32_t>(p, n, h.i);
      break;
    default:
      llvm_unreachable("type filtered by hostTypeFromOnnx");
    }
  } else {
    llvm::Error err = llvm::Error::success();
    switch (dt) {
    case pb::TensorProto::FLOAT:
      err = copyTyped(at, t.float_data(), n, h.f, "float_data");
      break;
    case pb::TensorProto::DOUBLE:
      err = copyTyped(at, t.double_data(), n, h.f, "double_data");
      break;
    case pb::TensorProto::FLOAT16:
      err = copyTyped(at, t.int32_data(), n, h.f, "int32_data");
      // Each int32 holds one half's 16 bits; anything else is corrupt (and
      // converting it to uint16 would be undefined).
      for (size_t k = 0; !err && k < h.f.size(); ++k) {
        double &v = h.f[k];
        if (v < 0 || v > 65535)
          return error("{}: FLOAT16 element {} is {:.0f} in int32_data, not "
                       "the bits of a half (0..65535)",
                       at, k, v);
        v = halfToDouble(static_cast<uint16_t>(v));
      }
      break;
    case pb::TensorProto::INT64:
      err = copyTyped(at, t.int64_data(), n, h.i, "int64_data");
      break;
    case pb::TensorProto::UINT32:
      err = copyTyped(at, t.uint64_data(), n, h.i, "uint64_data");
      break;
    default: // INT32, INT16, INT8, UINT8, UINT16, BOOL
      err = copyTyped(at, t.int32_data(), n, h.i, "int32_data");
      break;
    }
    if (err)
      return err;
  }
  if (h.type == HostType::Bool)
    for (int64_t &v : h.i)
      v = v != 0;
  return h;
}

llvm::Expected<HostTensor> mpc::readTensorProto(llvm::StringRef path) {
  auto buf = readFileBytes(path);
  if (!buf)
    return buf.takeError();
  return parseTensorProto((*buf)->getBuffer(), path);
}

llvm::Expected<HostTensor> mpc::parseTensorProto(llvm::StringRef data,
                                                 llvm::StringRef name) {
  pb::TensorProto proto;
  if (data.size() > static_cast<size_t>(INT32_MAX) ||
      !proto.ParseFromArray(data.data(), static_cast<int>(data.size())))
    return error("{}: not a valid ONNX TensorProto", name.str());
  return onnx::tensorFromProto(proto, name);
}

llvm::Expected<HostTensor> mpc::readTensorFile(llvm::StringRef path) {
  llvm::StringRef ext = llvm::sys::path::extension(path);
  if (ext.equals_insensitive(".npy"))
    return readNpy(path);
  if (ext.equals_insensitive(".pb"))
    return readTensorProto(path);
  return error("{}: unknown tensor file type '{}' (expected .npy or .pb)",
               path.str(), ext.str());
}
