//===- support/Tensor.h - Host tensors and their files ---------*- C++ -*-===//
//
// A plain host tensor (float or integer) and readers/writers for the two file
// formats users hand us: NumPy .npy and ONNX TensorProto .pb. Used by the
// float interpreter, the simulator and both tools.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mpc {

/// Element type of a host tensor as stored in a file.
enum class HostType : uint8_t { F32, F64, I64, I32, Bool };

/// \returns "float32", "int64", ...
llvm::StringRef hostTypeName(HostType t);

/// A dense row-major tensor in host memory. Floating types keep their values
/// in `f`, integer and boolean types in `i`; the other vector is empty.
struct HostTensor {
  HostType type = HostType::F32;
  std::vector<int64_t> shape;
  std::vector<double> f;
  std::vector<int64_t> i;

  bool isFloat() const {
    return type == HostType::F32 || type == HostType::F64;
  }
  int64_t numElements() const;
  static HostTensor floats(std::vector<int64_t> shape, std::vector<double> v,
                           HostType t = HostType::F32);
  static HostTensor ints(std::vector<int64_t> shape, std::vector<int64_t> v,
                         HostType t = HostType::I64);
};

/// "1x128x768" for {1,128,768}; "scalar" for {}.
std::string shapeStr(llvm::ArrayRef<int64_t> shape);

/// The number of elements of \p shape, or std::nullopt when a dimension is
/// negative or the product of the non-zero dimensions overflows int64_t
/// (the readers reject such shapes from files before computing sizes).
std::optional<int64_t> checkedNumElements(llvm::ArrayRef<int64_t> shape);

/// Reads a NumPy .npy file (v1/v2/v3 header, little-endian f4/f8/i4/i8/b1,
/// C order). Errors name the file and what is wrong with it.
llvm::Expected<HostTensor> readNpy(llvm::StringRef path);
/// Decodes the bytes of a .npy file; \p name is the file in errors.
llvm::Expected<HostTensor> parseNpy(llvm::StringRef bytes,
                                    llvm::StringRef name);

/// Writes \p t as .npy (F32 as '<f4', I64 as '<i8', ...). Writes to a
/// temporary file and renames it, so a failure leaves no partial file.
llvm::Error writeNpy(llvm::StringRef path, const HostTensor &t);

/// Reads an ONNX TensorProto (.pb), as in ONNX's own test data.
llvm::Expected<HostTensor> readTensorProto(llvm::StringRef path);
/// Decodes the bytes of a TensorProto file; \p name is the file in errors.
llvm::Expected<HostTensor> parseTensorProto(llvm::StringRef bytes,
                                            llvm::StringRef name);

/// Reads .npy or .pb by extension.
llvm::Expected<HostTensor> readTensorFile(llvm::StringRef path);

/// Parses "NAME=FILE" command-line arguments.
llvm::Expected<std::pair<std::string, std::string>>
parseNameEqualsValue(llvm::StringRef arg, llvm::StringRef what);

/// Reads "NAME=FILE" arguments (each file .npy or .pb by extension), keyed
/// by NAME: the one reader of every --input / --calibrate flag. \p flag
/// names the option in errors; a name given twice is an error, found
/// before any file is read.
llvm::Expected<std::map<std::string, HostTensor>>
readNamedTensorFiles(const std::vector<std::string> &specs,
                     llvm::StringRef flag);

/// Writes \p bytes to \p path atomically (temp file + rename).
llvm::Error writeFileAtomic(llvm::StringRef path, llvm::StringRef bytes);

} // namespace mpc
