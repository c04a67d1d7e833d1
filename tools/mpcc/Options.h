//===- tools/mpcc/Options.h - The mpcc command line ------------*- C++ -*-===//
//
// The subcommands and the options more than one of them reads; each
// Cmd*.cpp file declares its own options and calls the libraries
// (driver/Compile.h, driver/Run.h). Every function returns an llvm::Error
// and prints none: mpcc.cpp reports it once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/OnnxImporter.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mpc {
struct CompileFlags;
} // namespace mpc

namespace mpc::tool {

// Made on first use: options in every file refer to them during static
// initialisation, whose order across files is unspecified.
llvm::cl::OptionCategory &category();
llvm::cl::SubCommand &compileCmd();
llvm::cl::SubCommand &evalCmd();
llvm::cl::SubCommand &floatCmd();
llvm::cl::SubCommand &optCmd();
llvm::cl::SubCommand &opsCmd();
llvm::cl::SubCommand &reportCmd();
llvm::cl::SubCommand &simulateCmd();

// Shared by compile and float.
extern llvm::cl::opt<std::string> model;
extern llvm::cl::list<std::string> inputShapes;
extern llvm::cl::list<std::string> constants;
extern llvm::cl::opt<bool> noPatterns;
// Shared by compile and opt.
extern llvm::cl::opt<std::string> outputFile;
extern llvm::cl::opt<std::string> passes;
extern llvm::cl::opt<int> rangeBits;
// Shared by compile and float (float simulates with them when --approx
// is given).
extern llvm::cl::opt<std::string> approx;
extern llvm::cl::opt<std::string> fracBits;
/// Sets \p flags' fracBits (and autoFracBits, where \p autoAllowed) from
/// --frac-bits N|auto.
llvm::Error readFracBits(CompileFlags &flags, bool autoAllowed);
// Shared by float and simulate.
extern llvm::cl::list<std::string> inputs;
extern llvm::cl::list<std::string> outputs;
// Shared by report and compile.
extern llvm::cl::opt<std::string> net;
/// --work-profile PROFILE: local work priced as a profiled run measured it
/// (report; compile --approx auto and frontier).
extern llvm::cl::opt<std::string> workProfile;
// Shared by report and simulate.
extern llvm::cl::opt<std::string> planFile;

/// The import options of --input-shape, --constant and --no-patterns.
llvm::Expected<ImportOptions> importOptions();
/// An error unless the positional model file was given.
llvm::Error requireModel();
/// `--approx list` (compile and float): prints the approximation menu,
/// priced at --frac-bits and --range-bits.
llvm::Error printApproxList();

llvm::Error runCompile();
llvm::Error runEval();
llvm::Error runFloat();
llvm::Error runOpt();
llvm::Error runReport();
llvm::Error runSimulate();

} // namespace mpc::tool
