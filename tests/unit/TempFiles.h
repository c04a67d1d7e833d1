//===- tests/unit/TempFiles.h - Temporary files for reader tests -*- C++
//-*-===//
//
// A fresh temporary directory removed with its files at scope exit, and raw
// bytes written to a file: what the file-reader tests share.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

namespace mpc::test {

/// A fresh temporary directory, removed with its files at scope exit.
struct TempDir {
  llvm::SmallString<128> path;
  explicit TempDir(llvm::StringRef prefix) {
    REQUIRE(!llvm::sys::fs::createUniqueDirectory(prefix, path));
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p = path;
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
};

inline void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream os(path, std::ios::binary);
  os.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

} // namespace mpc::test
