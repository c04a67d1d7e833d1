//===- support/Diag.cpp - Errors that say what and where -----------------===//

#include "support/Diag.h"

#include "llvm/Support/raw_ostream.h"

using namespace mpc;

char DiagError::ID = 0;

std::string Location::str() const {
  if (empty())
    return "";
  std::string s = fmt::format("[onnx node '{}'", onnxNode);
  if (!onnxOpType.empty()) {
    s += fmt::format(" ({}", onnxOpType);
    if (opset > 0)
      s += fmt::format(", opset {}", opset);
    s += ")";
  }
  s += "]";
  return s;
}

void DiagError::log(llvm::raw_ostream &os) const {
  std::string where = loc_.str();
  if (!where.empty())
    os << where << " ";
  os << msg_;
}

llvm::Error mpc::addContext(llvm::Error err, llvm::StringRef context) {
  if (!err)
    return err;
  std::string msg = llvm::toString(std::move(err));
  return llvm::make_error<DiagError>(Location{}, (context + msg).str());
}

std::string mpc::counted(int64_t n, llvm::StringRef noun) {
  return fmt::format("{} {}{}", n, noun.str(), n == 1 ? "" : "s");
}
