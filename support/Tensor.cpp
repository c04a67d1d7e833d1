//===- support/Tensor.cpp - Host tensors and their files ------------------===//
//
// HostTensor helpers and NumPy .npy files (header versions 1-3,
// little-endian, C order; the header is a Python dict literal parsed by
// hand). Every error names the file and what is wrong with it. Writes go
// through a temporary file and a rename.
//
//===----------------------------------------------------------------------===//

#include "support/Tensor.h"

#include "support/Diag.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <climits>
#include <cstring>

using namespace mpc;

llvm::StringRef mpc::hostTypeName(HostType t) {
  switch (t) {
  case HostType::F32:
    return "float32";
  case HostType::F64:
    return "float64";
  case HostType::I64:
    return "int64";
  case HostType::I32:
    return "int32";
  case HostType::Bool:
    return "bool";
  }
  return "?";
}

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

HostTensor HostTensor::floats(std::vector<int64_t> shape, std::vector<double> v,
                              HostType t) {
  HostTensor r;
  r.type = t;
  r.shape = std::move(shape);
  r.f = std::move(v);
  return r;
}

HostTensor HostTensor::ints(std::vector<int64_t> shape, std::vector<int64_t> v,
                            HostType t) {
  HostTensor r;
  r.type = t;
  r.shape = std::move(shape);
  r.i = std::move(v);
  return r;
}

std::optional<int64_t> mpc::checkedNumElements(llvm::ArrayRef<int64_t> shape) {
  int64_t nonZero = 1;
  bool zero = false;
  for (int64_t d : shape) {
    if (d < 0)
      return std::nullopt;
    if (d == 0)
      zero = true;
    else if (nonZero > INT64_MAX / d)
      return std::nullopt;
    else
      nonZero *= d;
  }
  return zero ? 0 : nonZero;
}

HostTensor mpc::batchRows(const HostTensor &t, int64_t first, int64_t count,
                          int64_t batch) {
  int64_t rowSize = t.shape[0] ? t.numElements() / t.shape[0] : 0;
  HostTensor r;
  r.type = t.type;
  r.shape = t.shape;
  r.shape[0] = batch;
  auto take = [&](const auto &src, auto &dst) {
    for (int64_t row = 0; row < batch; ++row) {
      int64_t from = first + (row < count ? row : 0);
      dst.insert(dst.end(), src.begin() + from * rowSize,
                 src.begin() + (from + 1) * rowSize);
    }
  };
  if (t.isFloat())
    take(t.f, r.f);
  else
    take(t.i, r.i);
  return r;
}

std::string mpc::shapeStr(llvm::ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t k = 0; k < shape.size(); ++k)
    s += (k ? "x" : "") + std::to_string(shape[k]);
  return s;
}

/// Bytes per element as stored in .npy data.
static size_t elemSize(HostType t) {
  switch (t) {
  case HostType::F32:
  case HostType::I32:
    return 4;
  case HostType::F64:
  case HostType::I64:
    return 8;
  case HostType::Bool:
    return 1;
  }
  return 0;
}

/// Decodes \p n little-endian elements of type \p t from \p p into \p out.
static void decodeLE(HostType t, const char *p, int64_t n, HostTensor &out) {
  auto load = [&](auto tag, int64_t k) {
    decltype(tag) v;
    std::memcpy(&v, p + k * sizeof(v), sizeof(v));
    return v;
  };
  bool isF = t == HostType::F32 || t == HostType::F64;
  if (isF)
    out.f.resize(n);
  else
    out.i.resize(n);
  for (int64_t k = 0; k < n; ++k) {
    switch (t) {
    case HostType::F32:
      out.f[k] = load(float(), k);
      break;
    case HostType::F64:
      out.f[k] = load(double(), k);
      break;
    case HostType::I32:
      out.i[k] = load(int32_t(), k);
      break;
    case HostType::I64:
      out.i[k] = load(int64_t(), k);
      break;
    case HostType::Bool:
      out.i[k] = p[k] != 0;
      break;
    }
  }
}

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

namespace {
/// The fields of an .npy header dict.
struct NpyHeader {
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
};
} // namespace

/// Parses "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 8), }".
static llvm::Expected<NpyHeader> parseNpyHeader(llvm::StringRef path,
                                                llvm::StringRef h) {
  NpyHeader res;
  bool haveDescr = false, haveOrder = false, haveShape = false;
  auto bad = [&](llvm::StringRef why) {
    return error("{}: malformed .npy header ({}): {}", path.str(), why.str(),
                 h.trim().str());
  };
  h = h.trim();
  if (!h.consume_front("{"))
    return bad("expected '{'");
  while (true) {
    h = h.ltrim();
    if (h.consume_front("}"))
      break;
    char q = h.empty() ? 0 : h.front();
    if (q != '\'' && q != '"')
      return bad("expected a quoted key");
    size_t end = h.find(q, 1);
    if (end == llvm::StringRef::npos)
      return bad("unterminated key");
    llvm::StringRef key = h.slice(1, end);
    h = h.drop_front(end + 1).ltrim();
    if (!h.consume_front(":"))
      return bad("expected ':'");
    h = h.ltrim();
    if (key == "descr") {
      char vq = h.empty() ? 0 : h.front();
      size_t vend = h.find(vq, 1);
      if ((vq != '\'' && vq != '"') || vend == llvm::StringRef::npos)
        return bad("descr must be a string");
      res.descr = h.slice(1, vend).str();
      h = h.drop_front(vend + 1);
      haveDescr = true;
    } else if (key == "fortran_order") {
      if (h.consume_front("True"))
        res.fortran = true;
      else if (!h.consume_front("False"))
        return bad("fortran_order must be True or False");
      haveOrder = true;
    } else if (key == "shape") {
      if (!h.consume_front("("))
        return bad("shape must be a tuple");
      while (true) {
        h = h.ltrim();
        if (h.consume_front(")"))
          break;
        size_t digits = std::min(h.find_first_not_of("0123456789"), h.size());
        int64_t d;
        if (digits == 0 || h.substr(0, digits).getAsInteger(10, d))
          return bad("shape entries must be non-negative integers");
        res.shape.push_back(d);
        h = h.drop_front(digits).ltrim();
        if (h.consume_front(")"))
          break;
        if (!h.consume_front(","))
          return bad("expected ',' in shape");
      }
      haveShape = true;
    } else {
      return bad(("unknown key '" + key + "'").str());
    }
    h = h.ltrim();
    if (h.consume_front(","))
      continue;
    if (h.consume_front("}"))
      break;
    return bad("expected ',' or '}'");
  }
  if (!haveDescr || !haveOrder || !haveShape)
    return bad("needs 'descr', 'fortran_order' and 'shape'");
  return res;
}

/// Maps a .npy descr to a HostType; errors say why a descr is unsupported.
static llvm::Expected<HostType> npyType(llvm::StringRef path,
                                        llvm::StringRef descr) {
  if (descr == "<f4")
    return HostType::F32;
  if (descr == "<f8")
    return HostType::F64;
  if (descr == "<i4")
    return HostType::I32;
  if (descr == "<i8")
    return HostType::I64;
  if (descr == "|b1")
    return HostType::Bool;
  if (descr.startswith(">"))
    return error("{}: big-endian data ('{}') is not supported; save it "
                 "little-endian (e.g. x.astype('<f4'))",
                 path.str(), descr.str());
  return error("{}: unsupported dtype '{}' (expected '<f4', '<f8', '<i4', "
               "'<i8' or '|b1')",
               path.str(), descr.str());
}

llvm::Expected<int64_t> mpc::shapeNumElements(llvm::StringRef path,
                                              llvm::ArrayRef<int64_t> shape) {
  std::optional<int64_t> n = checkedNumElements(shape);
  if (!n)
    return error("{}: invalid shape {}: a dimension is negative or the "
                 "element count overflows",
                 path.str(), shapeStr(shape));
  return *n;
}

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
mpc::readFileBytes(llvm::StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return error("{}: cannot read: {}", path.str(), buf.getError().message());
  return std::move(*buf);
}

llvm::Expected<HostTensor> mpc::readNpy(llvm::StringRef path) {
  auto buf = readFileBytes(path);
  if (!buf)
    return buf.takeError();
  return parseNpy((*buf)->getBuffer(), path);
}

llvm::Expected<HostTensor> mpc::parseNpy(llvm::StringRef data,
                                         llvm::StringRef path) {
  if (!data.startswith("\x93NUMPY"))
    return error("{}: not a .npy file (bad magic)", path.str());
  if (data.size() < 10)
    return error("{}: truncated .npy header", path.str());
  unsigned major = static_cast<unsigned char>(data[6]);
  size_t lenBytes;
  if (major == 1)
    lenBytes = 2;
  else if (major == 2 || major == 3)
    lenBytes = 4;
  else
    return error("{}: unsupported .npy version {}", path.str(), major);
  if (data.size() < 8 + lenBytes)
    return error("{}: truncated .npy header", path.str());
  size_t headerLen = 0;
  for (size_t k = 0; k < lenBytes; ++k)
    headerLen |= static_cast<size_t>(static_cast<unsigned char>(data[8 + k]))
                 << (8 * k);
  size_t dataStart = 8 + lenBytes + headerLen;
  if (data.size() < dataStart)
    return error("{}: truncated .npy header: it says {} bytes, the file has "
                 "{}",
                 path.str(), headerLen, data.size() - 8 - lenBytes);
  auto header = parseNpyHeader(path, data.slice(8 + lenBytes, dataStart));
  if (!header)
    return header.takeError();
  if (header->fortran)
    return error("{}: Fortran-order arrays are not supported; save a "
                 "C-contiguous array (numpy.ascontiguousarray)",
                 path.str());
  auto type = npyType(path, header->descr);
  if (!type)
    return type.takeError();
  HostTensor t;
  t.type = *type;
  t.shape = header->shape;
  auto n = shapeNumElements(path, t.shape);
  if (!n)
    return n.takeError();
  // Compared in elements, not bytes: n * size may overflow.
  size_t have = data.size() - dataStart, size = elemSize(*type);
  if (have / size < static_cast<uint64_t>(*n))
    return error("{}: truncated data: header says {} elements, file has {}",
                 path.str(), *n, have / size);
  if (have / size > static_cast<uint64_t>(*n) || have % size != 0)
    return error("{}: {} unexpected bytes after the {} elements the header "
                 "declares",
                 path.str(), have - static_cast<size_t>(*n) * size, *n);
  decodeLE(*type, data.data() + dataStart, *n, t);
  return t;
}

/// Appends \p v little-endian to \p out.
template <typename T> static void appendLE(std::string &out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

llvm::Error mpc::writeNpy(llvm::StringRef path, const HostTensor &t) {
  int64_t n = t.numElements();
  size_t have = t.isFloat() ? t.f.size() : t.i.size();
  if (static_cast<int64_t>(have) != n)
    return error("{}: cannot write: shape {} needs {} elements, tensor has {}",
                 path.str(), shapeStr(t.shape), n, have);
  const char *descr = "";
  switch (t.type) {
  case HostType::F32:
    descr = "<f4";
    break;
  case HostType::F64:
    descr = "<f8";
    break;
  case HostType::I32:
    descr = "<i4";
    break;
  case HostType::I64:
    descr = "<i8";
    break;
  case HostType::Bool:
    descr = "|b1";
    break;
  }
  std::string shape = "(";
  for (size_t k = 0; k < t.shape.size(); ++k)
    shape += (k ? ", " : "") + std::to_string(t.shape[k]);
  shape += t.shape.size() == 1 ? ",)" : ")";
  std::string dict = fmt::format(
      "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape);
  // Pad with spaces so that the data starts on a 64-byte boundary, and end
  // the header with '\n' (as numpy does).
  size_t total = 10 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  if (dict.size() > 0xffff)
    return error("{}: cannot write: .npy header too long", path.str());
  std::string out("\x93NUMPY\x01\x00", 8);
  appendLE<uint16_t>(out, static_cast<uint16_t>(dict.size()));
  out += dict;
  out.reserve(out.size() + static_cast<size_t>(n) * elemSize(t.type));
  for (int64_t k = 0; k < n; ++k) {
    switch (t.type) {
    case HostType::F32:
      appendLE<float>(out, static_cast<float>(t.f[k]));
      break;
    case HostType::F64:
      appendLE<double>(out, t.f[k]);
      break;
    case HostType::I32:
      appendLE<int32_t>(out, static_cast<int32_t>(t.i[k]));
      break;
    case HostType::I64:
      appendLE<int64_t>(out, t.i[k]);
      break;
    case HostType::Bool:
      out += static_cast<char>(t.i[k] != 0);
      break;
    }
  }
  return writeFileAtomic(path, out);
}

llvm::Error mpc::writeFileAtomic(llvm::StringRef path, llvm::StringRef bytes) {
  int fd;
  llvm::SmallString<256> tmp;
  if (auto ec =
          llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%%%", fd, tmp))
    return error("{}: cannot create temporary file: {}", path.str(),
                 ec.message());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << bytes;
    os.close();
    if (os.has_error()) {
      std::string msg = os.error().message();
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return error("{}: write failed: {}", path.str(), msg);
    }
  }
  if (auto ec = llvm::sys::fs::rename(tmp, path)) {
    llvm::sys::fs::remove(tmp);
    return error("{}: cannot rename temporary file into place: {}", path.str(),
                 ec.message());
  }
  return llvm::Error::success();
}

llvm::Expected<std::pair<std::string, std::string>>
mpc::parseNameEqualsValue(llvm::StringRef arg, llvm::StringRef what,
                          llvm::StringRef valueName) {
  auto [name, value] = arg.split('=');
  if (name.empty() || value.empty() || !arg.contains('='))
    return error("{} expects NAME={}, got '{}'", what.str(), valueName.str(),
                 arg.str());
  return std::make_pair(name.str(), value.str());
}

llvm::Expected<std::map<std::string, HostTensor>>
mpc::readNamedTensorFiles(const std::vector<std::string> &specs,
                          llvm::StringRef flag, TensorFileReader read) {
  std::vector<std::pair<std::string, std::string>> named;
  for (const std::string &arg : specs) {
    auto kv = parseNameEqualsValue(arg, flag);
    if (!kv)
      return kv.takeError();
    for (const auto &[name, file] : named)
      if (name == kv->first)
        return error("{}: input '{}' is given twice", flag.str(), name);
    named.push_back(std::move(*kv));
  }
  std::map<std::string, HostTensor> tensors;
  for (const auto &[name, file] : named) {
    auto t = read(file);
    if (!t)
      return t.takeError();
    tensors.emplace(name, std::move(*t));
  }
  return tensors;
}
