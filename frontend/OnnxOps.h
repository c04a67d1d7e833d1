//===- frontend/OnnxOps.h - The ONNX operator handler table -----*- C++ -*-===//
//
// Declares every handler listed in OnnxOps.def and the lookup the importer
// dispatches through (onnx-mlir's import_handler_map_, as a table).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace mpc::onnx {

class ImportContext;

/// Imports the current node of the context.
using ImportHandler = llvm::Error (*)(ImportContext &);

#define ONNX_OP(OpType, Handler, MinOpset, MaxOpset)                           \
  llvm::Error Handler(ImportContext &);
#include "frontend/OnnxOps.def"

struct OnnxOpEntry {
  llvm::StringRef opType;
  ImportHandler handler;
  int minOpset, maxOpset;
};

/// Every entry of OnnxOps.def, in table order.
llvm::ArrayRef<OnnxOpEntry> onnxOpTable();

/// The entry for \p opType that covers \p opset, or null. When there is
/// none, \p anyVersion (if given) receives an entry for \p opType at another
/// opset, or null when the op type is unknown.
const OnnxOpEntry *findOnnxOp(llvm::StringRef opType, int opset,
                              const OnnxOpEntry **anyVersion = nullptr);

} // namespace mpc::onnx
