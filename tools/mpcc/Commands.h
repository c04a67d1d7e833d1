//===- tools/mpcc/Commands.h - The mpcc subcommands -------------*- C++ -*-===//
//
// What each `mpcc` subcommand does, as functions over plain argument
// structs, so that mpcc.cpp only parses the command line and reports
// errors. Every function returns an llvm::Error; none prints an error.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Tensor.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>
#include <vector>

namespace mpc {
struct ImportOptions;
class Graph;
} // namespace mpc

namespace mpc::tool {

/// Import options from the common flags (--input-shape, --no-patterns).
llvm::Expected<ImportOptions>
importOptions(const std::vector<std::string> &inputShapes, bool patterns);
/// Writes \p text to \p path atomically, or to stdout for "" / "-".
llvm::Error writeText(llvm::StringRef path, llvm::StringRef text);

struct CompileArgs {
  std::string model;  ///< .onnx, .onnxtext
  std::string output; ///< "-" or empty: stdout
  /// What to write: ir (imported), mir (lowered), plan-text, plan (plan +
  /// weights files). Empty: plan when -o ends in .plan, else ir.
  std::string emit;
  std::string approx = "accurate"; ///< Preset, or KIND=NAME,... overrides.
  std::string passes;              ///< Override the default pipeline.
  bool printAfterAll = false;
  bool timePasses = false;
  int fracBits = 16;
  int rangeBits = 15;
  bool revealToBoth = false;
  std::vector<std::string> inputShapes; ///< "NAME=DIMS" each.
  /// "NAME=FILE" sample inputs: the float interpreter checks the GeLU,
  /// tanh and softmax inputs they produce against rangeBits.
  std::vector<std::string> calibrate;
  bool patterns = true;
  bool stats = false; ///< Print pattern counts to stderr.
};

/// Reads "NAME=FILE" tensor files (.npy or .pb); \p flag names the option
/// in errors. A name given twice is an error.
llvm::Expected<std::map<std::string, HostTensor>>
readInputFiles(const std::vector<std::string> &specs, llvm::StringRef flag);

/// Keys \p files by the graph input each ONNX input name refers to.
llvm::Expected<std::map<std::string, HostTensor>>
bindInputFiles(const Graph &g, std::map<std::string, HostTensor> files,
               llvm::StringRef flag);

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
  std::string passes; ///< Pipeline to run before printing (a,b,c).
  int rangeBits = 15; ///< CompileOptions::rangeBits.
};

/// `mpcc opt`: parses textual IR, verifies it and prints it back.
llvm::Error runOpt(const OptArgs &args);

struct ReportArgs {
  std::string plan;
  std::string net = "lan";
  std::string format = "text";
};

/// `mpcc report`: per-op and total cost of a plan on a network model.
llvm::Error runReport(const ReportArgs &args);

struct SimulateArgs {
  std::string plan, weights;
  std::vector<std::string> inputs; ///< "NAME=FILE".
  std::string output;              ///< FILE.npy (first output).
  std::string profile;             ///< Optional profile JSON.
};

/// `mpcc simulate`: runs the plan with both parties and the dealer in this
/// process (in-memory channels, the same arithmetic as mpc-run).
llvm::Error runSimulate(const SimulateArgs &args, llvm::raw_ostream &summary);

/// Compiles to a plan: import, pipeline, emit (shared by compile and tests).
llvm::Error compileToPlan(const CompileArgs &args);

} // namespace mpc::tool
