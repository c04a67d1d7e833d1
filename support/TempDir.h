//===- support/TempDir.h - A private temporary directory -------*- C++ -*-===//
//
// The scratch directory of one run (`mpc-run local`, each batch of `mpcc
// eval`): created mode 0700, removed with its files when it goes out of
// scope, together with any files registered from outside it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Diag.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <string>
#include <vector>

namespace mpc {

struct TempDir {
  llvm::SmallString<128> path;    ///< Empty until create() succeeds.
  std::vector<std::string> extra; ///< Files outside the directory.

  TempDir() = default;
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  ~TempDir() {
    for (const std::string &f : extra)
      llvm::sys::fs::remove(f);
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }

  /// Creates a fresh directory named after \p prefix, readable by this
  /// user only.
  llvm::Error create(llvm::StringRef prefix) {
    if (std::error_code ec =
            llvm::sys::fs::createUniqueDirectory(prefix, path)) {
      path.clear();
      return error("cannot create a temporary directory: {}", ec.message());
    }
    llvm::sys::fs::setPermissions(path, llvm::sys::fs::owner_all);
    return llvm::Error::success();
  }

  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
};

} // namespace mpc
