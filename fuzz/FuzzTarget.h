//===- fuzz/FuzzTarget.h - What the fuzz targets share ----------*- C++ -*-===//
//
// Each target of fuzz/ is one file that defines libFuzzer's entry point,
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
// (and, when it needs set-up, LLVMFuzzerInitialize), feeding the bytes to
// one reader of untrusted input exactly as the tools do. The same file is
// linked with libFuzzer (-DMPCC_FUZZ=ON, clang) and with ReplayMain.cpp
// (every build: the ctest entries fuzz-replay-NAME run it over the seed
// corpus and the regression inputs). A target fails, and libFuzzer records
// the input, on a crash, a sanitizer report, a hang, a leak, or a call to
// fail() below: a rejected input must come back as an error, never as an
// "internal error", and an accepted one must satisfy the reader's contract.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace mpc::fuzz {

/// Reports a broken contract and aborts (libFuzzer saves the input).
[[noreturn]] inline void fail(const std::string &what) {
  std::fprintf(stderr, "fuzz target: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

/// Consumes the error of a rejected input \p in; an "internal error" (a
/// message the project reserves for its own bugs) is a finding, unless the
/// input itself holds those words (messages quote names from the input).
inline void rejected(llvm::Error e, llvm::StringRef in) {
  std::string msg = llvm::toString(std::move(e));
  if (llvm::StringRef(msg).contains("internal error") &&
      !in.contains("internal error"))
    fail("input reached an internal error: " + msg);
}

/// Returns the value of an accepted input \p in, or nullptr after
/// rejected().
template <typename T> T *accepted(llvm::Expected<T> &r, llvm::StringRef in) {
  if (r)
    return &*r;
  rejected(r.takeError(), in);
  return nullptr;
}

/// The contract of the .npy and .pb readers for a tensor they accept: a
/// valid shape whose element count is the length of the vector of its type
/// (the other one empty), booleans 0 or 1.
inline void checkHostTensor(const HostTensor &t) {
  std::optional<int64_t> n = checkedNumElements(t.shape);
  size_t held = t.isFloat() ? t.f.size() : t.i.size();
  size_t other = t.isFloat() ? t.i.size() : t.f.size();
  if (!n || static_cast<uint64_t>(*n) != held || other != 0)
    fail("accepted tensor of shape " + shapeStr(t.shape) + " holds " +
         std::to_string(held) + " elements");
  if (t.type == HostType::Bool)
    for (int64_t v : t.i)
      if (v != 0 && v != 1)
        fail("accepted bool tensor holds " + std::to_string(v));
}

inline llvm::StringRef asString(const uint8_t *data, size_t size) {
  return {reinterpret_cast<const char *>(data), size};
}

} // namespace mpc::fuzz
