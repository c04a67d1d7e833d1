//===- tests/unit/ir/IRTestUtil.h - Helpers shared by the IR tests -*- C++ -*-//
#pragma once

#include "llvm/Support/Error.h"

#include <catch2/catch.hpp>

#include <string>

namespace mpc::test {

/// The value of \p e, failing the test with the error message otherwise.
template <typename T> T ok(llvm::Expected<T> e) {
  if (!e)
    FAIL(llvm::toString(e.takeError()));
  return std::move(*e);
}

/// The message of \p e; fails the test when \p e is success.
inline std::string errorOf(llvm::Error e) {
  if (!e)
    FAIL("expected an error, got success");
  return llvm::toString(std::move(e));
}

template <typename T> std::string errorOf(llvm::Expected<T> e) {
  if (e)
    FAIL("expected an error, got a value");
  return llvm::toString(e.takeError());
}

} // namespace mpc::test
