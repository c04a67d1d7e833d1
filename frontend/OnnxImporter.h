//===- frontend/OnnxImporter.h - ONNX models to MPC IR ----------*- C++ -*-===//
//
// The ONNX frontend: loads a model (binary protobuf, or ONNX's textual syntax
// for small test models), checks it with onnx::checker, binds the dynamic
// input dimensions, imports every node through the handler table in
// OnnxOps.def (folding everything computable from constants, so shape
// sub-graphs of dynamic exports disappear), then recognises Transformer
// patterns (LayerNorm, GeLU, Softmax, attention masks, embeddings, linear
// layers) and removes what became dead.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/patterns/Patterns.h"
#include "ir/Graph.h"
#include "support/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mpc {

struct ImportOptions {
  /// Static shapes for graph inputs, by input name. Required for every input
  /// with a dynamic (symbolic or unknown) dimension; when given for a static
  /// input it must agree with the model.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Shapes of sample input files (mpcc float --input, compile
  /// --calibrate), used like inputShapes where inputShapes has no entry;
  /// a name the model lacks is ignored here (the caller reports it in the
  /// terms of its own flag).
  std::map<std::string, std::vector<int64_t>> shapeHints;
  /// Graph inputs bound to a value (mpcc --constant NAME=FILE): each becomes
  /// a public constant of the model, as if the model held it, so shape and
  /// index operands given as inputs (ONNX's node tests pass them so) can be
  /// read at compile time. The value is in the plan: never bind a private
  /// input this way.
  std::map<std::string, HostTensor> constantInputs;
  /// Run pattern recognition after import (mpcc --no-patterns turns it off).
  bool recognisePatterns = true;
  /// When non-null, receives the pattern match counts.
  PatternStats *stats = nullptr;
};

/// Imports the ONNX model file at \p path (binary ModelProto; a file ending
/// in ".onnxtext" is read as ONNX textual syntax). Errors say which file and,
/// for a node, its name, op type and opset.
llvm::Expected<std::unique_ptr<Graph>>
importOnnxFile(llvm::StringRef path, const ImportOptions &opts = {});

/// Imports a model written in ONNX's textual syntax (onnx/defs/parser.h).
/// Leading lines starting with `//` or `#` (lit RUN/CHECK lines) are
/// ignored. \p bufferName names the text in errors.
llvm::Expected<std::unique_ptr<Graph>>
importOnnxText(llvm::StringRef text, const ImportOptions &opts = {},
               llvm::StringRef bufferName = "<text>");

/// Imports a serialized binary ModelProto held in memory.
llvm::Expected<std::unique_ptr<Graph>>
importOnnxBytes(llvm::StringRef bytes, const ImportOptions &opts = {},
                llvm::StringRef bufferName = "<bytes>");

/// The name an ONNX tensor name gets in the IR: a leading '/' dropped,
/// characters outside [A-Za-z0-9_.] replaced by '_', 'v' prefixed when it
/// would start with a digit ("onnx::MatMul_12" -> "onnx__MatMul_12").
std::string sanitizeOnnxName(llvm::StringRef name);

/// Parses "1x128" (or "1,128") into dimensions; errors name \p what.
llvm::Expected<std::vector<int64_t>> parseShape(llvm::StringRef text,
                                                llvm::StringRef what);

/// Parses a "--input-shape" argument "NAME=1x128" into \p shapes; a second
/// binding for the same name is an error.
llvm::Error
parseInputShapeArg(llvm::StringRef arg,
                   std::map<std::string, std::vector<int64_t>> &shapes);

} // namespace mpc
