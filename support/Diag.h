//===- support/Diag.h - Errors that say what and where ---------*- C++ -*-===//
//
// One error type for user-caused failures across mpcc: a location (the ONNX
// node and op type an op came from, or a file) plus a message. Libraries
// return these through llvm::Error / llvm::Expected; tools print them once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/Support/Error.h"

#include <fmt/format.h>

#include <string>

namespace mpc {

/// Where something came from: the ONNX node (name and op type) an IR op was
/// imported from, and the pass that derived it, or a file name.
struct Location {
  std::string onnxNode;   ///< ONNX node name, or a file path; may be empty.
  std::string onnxOpType; ///< ONNX op type, e.g. "Gemm"; may be empty.
  int opset = 0;          ///< Opset of the model, 0 when unknown.
  std::string derivedBy;  ///< Pass that created the op; empty if imported.

  bool empty() const { return onnxNode.empty() && onnxOpType.empty(); }
  /// "[onnx node 'n' (Gemm, opset 17)]", or "" for an empty location.
  std::string str() const;
};

/// A user-facing error with a location.
class DiagError : public llvm::ErrorInfo<DiagError> {
public:
  static char ID;
  DiagError(Location loc, std::string msg)
      : loc_(std::move(loc)), msg_(std::move(msg)) {}

  void log(llvm::raw_ostream &os) const override;
  std::error_code convertToErrorCode() const override {
    return llvm::inconvertibleErrorCode();
  }
  const Location &loc() const { return loc_; }
  /// The message without the location (message() from ErrorInfoBase
  /// gives the full text, location included).
  const std::string &msg() const { return msg_; }

private:
  Location loc_;
  std::string msg_;
};

/// Creates a DiagError at \p loc with a fmt-formatted message.
template <typename... Args>
llvm::Error diag(const Location &loc, fmt::format_string<Args...> f,
                 Args &&...args) {
  return llvm::make_error<DiagError>(
      loc, fmt::format(f, std::forward<Args>(args)...));
}

/// Creates an error without a location.
template <typename... Args>
llvm::Error error(fmt::format_string<Args...> f, Args &&...args) {
  return llvm::make_error<DiagError>(
      Location{}, fmt::format(f, std::forward<Args>(args)...));
}

/// Prefixes every error in \p err with \p context ("reading plan x.plan: ").
llvm::Error addContext(llvm::Error err, llvm::StringRef context);

/// A count and its noun for messages: "1 request", "3 requests".
std::string counted(int64_t n, llvm::StringRef noun);

} // namespace mpc
