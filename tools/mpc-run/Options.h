//===- tools/mpc-run/Options.h - mpc-run's command line --------*- C++ -*-===//
//
// The parsed command line of mpc-run, shared by the role modes (mpc-run.cpp)
// and `mpc-run local` (Local.cpp).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/Executor.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace mpc::tool {

/// Party 1 then holds about twice this in material (its corrections and
/// its own PRG shares), party 0 about once: with the weights, bert-base at
/// seq 128 stays under 3 GB per party.
constexpr uint32_t kDefaultMaterialWindowMiB = 512;

struct Options {
  enum Mode { Party, Dealer, Local } mode = Party;
  int party = -1;
  std::string plan, weights, listen, connect, dealerAddr, profile;
  std::vector<std::string> inputs;  ///< NAME=FILE
  std::vector<std::string> outputs; ///< FILE or NAME=FILE
  bool revealToBoth = false, quiet = false;
  double timeoutSeconds = 60;
  int threads = 0;
  /// RunOptions::materialWindowMiB; the parties must agree.
  uint32_t materialWindowMiB = kDefaultMaterialWindowMiB;
};

/// Reads every --input NAME=FILE (.npy or .pb).
llvm::Expected<std::map<std::string, HostTensor>>
readInputs(const std::vector<std::string> &specs);

/// Resolves --output arguments against the outputs \p party can see:
/// output name -> file. A bare FILE is allowed when exactly one output is
/// visible.
llvm::Expected<std::map<std::string, std::string>>
resolveOutputs(const rt::LoadedPlan &plan, int party, bool revealToBoth,
               const std::vector<std::string> &specs);

/// `mpc-run local`: the three roles as child processes on loopback.
int runLocal(const Options &o, const char *argv0);

/// Prints "mpc-run: error: ..." to stderr.
void reportError(llvm::Error e);

} // namespace mpc::tool
