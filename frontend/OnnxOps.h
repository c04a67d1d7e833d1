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
#include "llvm/Support/raw_ostream.h"

namespace mpc::onnx {

class ImportContext;

/// Imports the current node of the context.
using ImportHandler = llvm::Error (*)(ImportContext &);

#define ONNX_OP(OpType, Handler, MinOpset, MaxOpset, ...)                      \
  llvm::Error Handler(ImportContext &);
#include "frontend/OnnxOps.def"

struct OnnxOpEntry {
  llvm::StringRef opType;
  ImportHandler handler;
  int minOpset, maxOpset;
  llvm::StringRef doc; ///< How it is computed under 2PC; may be empty.
};

/// An op mpcc does not import, and why (ONNX_UNSUPPORTED in OnnxOps.def).
struct OnnxUnsupportedEntry {
  llvm::StringRef opType, reason;
};

/// Every entry of OnnxOps.def, in table order.
llvm::ArrayRef<OnnxOpEntry> onnxOpTable();

/// Every ONNX_UNSUPPORTED entry of OnnxOps.def, in table order.
llvm::ArrayRef<OnnxUnsupportedEntry> onnxUnsupportedOps();

/// Writes the supported-op table as Markdown (`mpcc ops`, the README's
/// table): op, opsets, how it is computed; then the unsupported ops.
void printOnnxOpTable(llvm::raw_ostream &os);

/// The entry for \p opType that covers \p opset, or null. When there is
/// none, \p anyVersion (if given) receives an entry for \p opType at another
/// opset, or null when the op type is unknown.
const OnnxOpEntry *findOnnxOp(llvm::StringRef opType, int opset,
                              const OnnxOpEntry **anyVersion = nullptr);

} // namespace mpc::onnx
