//===- frontend/ConstEval.h - Constant data for import-time folding -*- C++
//-*-//
//
// Conversions between IR constant data and HostTensors (what the IR's
// evaluateOp works on), and the few evaluators
// for ONNX operators that have no IR op of their own (Expand, Range,
// ConstantOfShape) and therefore cannot be folded through evaluateOp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "support/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace mpc::onnx {

/// The host form of constant \p v (F32 -> HostType::F32 in `f`; I64 and
/// Bool -> HostType::I64 / Bool in `i`).
HostTensor toHost(const Value &v);
/// Constant data of \p t (floats in `f`, integers and booleans in `i`).
ConstData fromHost(const HostTensor &t);
/// The IR element type that holds host type \p t.
ElemType elemOf(HostType t);

/// Maps an ONNX element type to an IR element type: float types to F32,
/// integer types to I64, bool to Bool (the types hostTypeFromOnnx reads);
/// errors for the rest.
llvm::Expected<ElemType> elemFromOnnx(int32_t dataType);

/// Broadcasts \p t to \p shape (numpy rules, as ONNX Expand: the result
/// shape is the broadcast of both).
llvm::Expected<HostTensor> expandTo(const HostTensor &t,
                                    llvm::ArrayRef<int64_t> shape);

/// The most elements a constant made at import may have (guards against
/// shapes in a malformed model that would exhaust memory).
constexpr int64_t kMaxConstantElements = int64_t(1) << 28;

/// Row-major strides of \p shape.
std::vector<int64_t> stridesOf(llvm::ArrayRef<int64_t> shape);
/// Product of \p shape (saturating at INT64_MAX).
int64_t numElementsOf(llvm::ArrayRef<int64_t> shape);

} // namespace mpc::onnx
