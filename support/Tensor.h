//===- support/Tensor.h - Host tensors and their files ---------*- C++ -*-===//
//
// A plain host tensor (float or integer), NumPy .npy files, and the
// NAME=FILE reader of both tools. Used by the float interpreter, the
// simulator and both tools. ONNX TensorProto .pb files are the frontend's
// (frontend/TensorProto.h): support does not link ONNX, so neither does
// mpc-run.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <map>
#include <memory>
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

/// Rows [first, first + count) of \p t (along its first axis), then copies
/// of row \p first up to \p batch rows (padding a last, partial batch).
HostTensor batchRows(const HostTensor &t, int64_t first, int64_t count,
                     int64_t batch);

/// "1x128x768" for {1,128,768}; "scalar" for {}.
std::string shapeStr(llvm::ArrayRef<int64_t> shape);

/// The number of elements of \p shape, or std::nullopt when a dimension is
/// negative or the product of the non-zero dimensions overflows int64_t
/// (the readers reject such shapes from files before computing sizes).
std::optional<int64_t> checkedNumElements(llvm::ArrayRef<int64_t> shape);

/// The element count of \p shape, read from \p path, or an error naming it
/// (a negative dimension, or a product that overflows int64_t).
llvm::Expected<int64_t> shapeNumElements(llvm::StringRef path,
                                         llvm::ArrayRef<int64_t> shape);

/// The whole file at \p path, or an error naming it.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readFileBytes(llvm::StringRef path);

/// Reads a NumPy .npy file (v1/v2/v3 header, little-endian f4/f8/i4/i8/b1,
/// C order). Errors name the file and what is wrong with it.
llvm::Expected<HostTensor> readNpy(llvm::StringRef path);
/// Decodes the bytes of a .npy file; \p name is the file in errors.
llvm::Expected<HostTensor> parseNpy(llvm::StringRef bytes,
                                    llvm::StringRef name);

/// Writes \p t as .npy (F32 as '<f4', I64 as '<i8', ...). Writes to a
/// temporary file and renames it, so a failure leaves no partial file.
llvm::Error writeNpy(llvm::StringRef path, const HostTensor &t);

/// Parses "NAME=FILE" command-line arguments (\p valueName names the
/// value in the error: "FILE", "DIMS").
llvm::Expected<std::pair<std::string, std::string>>
parseNameEqualsValue(llvm::StringRef arg, llvm::StringRef what,
                     llvm::StringRef valueName = "FILE");

/// Reads one tensor file (readNpy; mpcc's readTensorFile adds .pb).
using TensorFileReader =
    llvm::function_ref<llvm::Expected<HostTensor>(llvm::StringRef path)>;

/// Reads "NAME=FILE" arguments, each file with \p read, keyed by NAME: the
/// one reader of every --input / --calibrate flag. \p flag names the option
/// in errors; a name given twice is an error, found before any file is
/// read.
llvm::Expected<std::map<std::string, HostTensor>>
readNamedTensorFiles(const std::vector<std::string> &specs,
                     llvm::StringRef flag, TensorFileReader read);

/// Writes \p bytes to \p path atomically (temp file + rename).
llvm::Error writeFileAtomic(llvm::StringRef path, llvm::StringRef bytes);

} // namespace mpc
