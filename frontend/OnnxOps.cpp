//===- frontend/OnnxOps.cpp - The ONNX operator handler table -------------===//
//
// Builds the table from OnnxOps.def and looks entries up by op type and
// opset.
//
//===----------------------------------------------------------------------===//

#include "frontend/OnnxOps.h"

using namespace mpc::onnx;

static const OnnxOpEntry kTable[] = {
#define ONNX_OP(OpType, Handler, MinOpset, MaxOpset, ...)                      \
  {OpType, Handler, MinOpset, MaxOpset, "" __VA_ARGS__},
#include "frontend/OnnxOps.def"
};

static const OnnxUnsupportedEntry kUnsupported[] = {
#define ONNX_OP(OpType, Handler, MinOpset, MaxOpset, ...)
#define ONNX_UNSUPPORTED(OpType, Reason) {OpType, Reason},
#include "frontend/OnnxOps.def"
};

llvm::ArrayRef<OnnxOpEntry> mpc::onnx::onnxOpTable() { return kTable; }

llvm::ArrayRef<OnnxUnsupportedEntry> mpc::onnx::onnxUnsupportedOps() {
  return kUnsupported;
}

void mpc::onnx::printOnnxOpTable(llvm::raw_ostream &os) {
  os << "| ONNX op | opsets | how mpcc computes it |\n|---|---|---|\n";
  for (const OnnxOpEntry &e : kTable)
    os << "| " << e.opType << " | " << e.minOpset << "–" << e.maxOpset << " | "
       << (e.doc.empty() ? "(not documented)" : e.doc) << " |\n";
  for (const OnnxUnsupportedEntry &e : kUnsupported)
    os << "| " << e.opType << " | — | **not supported**: " << e.reason
       << " |\n";
}

const OnnxOpEntry *mpc::onnx::findOnnxOp(llvm::StringRef opType, int opset,
                                         const OnnxOpEntry **anyVersion) {
  if (anyVersion)
    *anyVersion = nullptr;
  for (const OnnxOpEntry &e : kTable) {
    if (e.opType != opType)
      continue;
    if (opset >= e.minOpset && opset <= e.maxOpset)
      return &e;
    if (anyVersion)
      *anyVersion = &e;
  }
  return nullptr;
}
