//===- frontend/TensorProto.h - ONNX TensorProto decoding ------*- C++ -*-===//
//
// The one decoder of ONNX TensorProto: model initializers, Constant and
// ConstantOfShape values, and the .pb tensor files mpcc reads (ONNX's test
// data, `--input NAME=FILE.pb`). It lives in the frontend because it needs
// ONNX's protobuf classes; mpc-run does not link them and reads .npy only.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <onnx/onnx_pb.h>

#include <cstdint>

namespace mpc::onnx {

/// The host type that holds ONNX element type \p dataType: float, double
/// and int32 as themselves, float16 as float, the other integer types
/// (int8/16, uint8/16/32) as int64, bool as bool; an error naming the type
/// for the rest. The one list of element types the frontend reads.
llvm::Expected<HostType> hostTypeFromOnnx(int32_t dataType);

/// Decodes \p t (raw_data or the typed fields) into a host tensor of the
/// type hostTypeFromOnnx gives. Errors (external data, unsupported types,
/// bad shapes, data that does not match the shape) start with \p where, or
/// with "tensor 'NAME'" when \p where is empty.
llvm::Expected<HostTensor>
tensorFromProto(const ::ONNX_NAMESPACE::TensorProto &t,
                llvm::StringRef where = {});

} // namespace mpc::onnx

namespace mpc {

/// Reads an ONNX TensorProto (.pb) file, as in ONNX's own test data.
llvm::Expected<HostTensor> readTensorProto(llvm::StringRef path);
/// Decodes the bytes of a TensorProto file; \p name is the file in errors.
llvm::Expected<HostTensor> parseTensorProto(llvm::StringRef bytes,
                                            llvm::StringRef name);

/// Reads .npy or .pb by extension: what mpcc's `NAME=FILE` options read
/// (pass it to readNamedTensorFiles).
llvm::Expected<HostTensor> readTensorFile(llvm::StringRef path);

} // namespace mpc
