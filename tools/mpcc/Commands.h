//===- tools/mpcc/Commands.h - The mpcc subcommands -------------*- C++ -*-===//
//
// What each `mpcc` subcommand does, as functions over plain argument
// structs, so that mpcc.cpp only parses the command line and reports
// errors. Every function returns an llvm::Error; none prints an error.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace mpc::tool {

struct CompileArgs {
  std::string model;                    ///< .onnx, .onnxtext
  std::string output;                   ///< "-" or empty: stdout
  std::string emit = "ir";              ///< What to write.
  std::vector<std::string> inputShapes; ///< "NAME=DIMS" each.
  bool patterns = true;
  bool stats = false; ///< Print pattern counts to stderr.
};

/// `mpcc compile`: imports the model and writes what --emit asks for.
llvm::Error runCompile(const CompileArgs &args);

struct FloatArgs {
  std::string model;
  std::vector<std::string> inputs;      ///< "NAME=FILE" (.npy or .pb).
  std::vector<std::string> outputs;     ///< "FILE" or "NAME=FILE".
  std::vector<std::string> inputShapes; ///< Override shapes of the files.
  bool patterns = true;
};

/// `mpcc float`: runs the float reference interpreter on the imported
/// model and writes the outputs as .npy; prints a one-line summary to
/// \p summary.
llvm::Error runFloat(const FloatArgs &args, llvm::raw_ostream &summary);

struct OptArgs {
  std::string input;  ///< Textual IR (.mir).
  std::string output; ///< "-" or empty: stdout.
  bool verify = true;
};

/// `mpcc opt`: parses textual IR, verifies it and prints it back.
llvm::Error runOpt(const OptArgs &args);

} // namespace mpc::tool
