//===- support/Npz.h - NumPy .npz archives ---------------------*- C++ -*-===//
//
// Reads what numpy.savez and numpy.savez_compressed write: a zip archive
// of NAME.npy members, stored or deflated (zip64 sizes included). Every
// error names the archive and, where one is at fault, the member.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace mpc {

/// The arrays of a .npz archive in the order it stores them, keyed by the
/// member name without ".npy".
using NpzArrays = std::vector<std::pair<std::string, HostTensor>>;

/// Reads the .npz archive at \p path.
llvm::Expected<NpzArrays> readNpz(llvm::StringRef path);
/// Decodes the bytes of a .npz archive; \p name is the archive in errors.
llvm::Expected<NpzArrays> parseNpz(llvm::StringRef bytes, llvm::StringRef name);

} // namespace mpc
