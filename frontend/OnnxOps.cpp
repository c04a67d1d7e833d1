//===- frontend/OnnxOps.cpp - The ONNX operator handler table -------------===//
//
// Builds the table from OnnxOps.def and looks entries up by op type and
// opset.
//
//===----------------------------------------------------------------------===//

#include "frontend/OnnxOps.h"

using namespace mpc::onnx;

static const OnnxOpEntry kTable[] = {
#define ONNX_OP(OpType, Handler, MinOpset, MaxOpset)                           \
  {OpType, Handler, MinOpset, MaxOpset},
#include "frontend/OnnxOps.def"
};

llvm::ArrayRef<OnnxOpEntry> mpc::onnx::onnxOpTable() { return kTable; }

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
