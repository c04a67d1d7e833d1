//===- runtime/session/Run.h - mpc-run's roles as library calls -*- C++ -*-===//
//
// What `mpc-run` does, callable from code: one role of a run (party 0,
// party 1 or the dealer) as this process, with its network links; all
// three roles as child processes on loopback (`mpc-run local`); and the
// file handling both share (inputs, outputs, profiles). The tool only
// parses its command line into a RunConfig.
//
// A role checks everything it can before any network I/O: the plan, the
// inputs (party 1) or the weights (party 0), and the output files. Errors
// come back as llvm::Error with the role, the phase and the peer named; a
// role that fails writes no output file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/Executor.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace mpc::rt {

/// Party 1 then holds about twice this in material (its corrections and
/// its own PRG shares), party 0 about once. 256 keeps bert-base at seq 128
/// under 1.3 GB per process (512: 1.6 GB for party 1), and is no slower:
/// a process's first touch of its memory is slow on the VMs we measure on
/// (~3.6 s per GiB), and touching less shortened bert-base's wall time by
/// about a second.
constexpr uint32_t kDefaultMaterialWindowMiB = 256;

/// One mpc-run invocation: a role, or `local` (all three).
struct RunConfig {
  enum Mode { Party, Dealer, Local, Serve } mode = Party;
  int party = -1; ///< Mode Party: 0 or 1.
  std::string plan, weights, profile;
  std::string listen;     ///< Party 0 and the dealer: HOST:PORT to listen on.
  std::string connect;    ///< Party 1: party 0's HOST:PORT.
  std::string dealerAddr; ///< Parties: the dealer's HOST:PORT.
  std::vector<std::string> inputs;  ///< NAME=FILE
  std::vector<std::string> outputs; ///< FILE or NAME=FILE
  /// Party 1: a file of requests, one per line, run over one session
  /// (readRequestList); instead of inputs and outputs.
  std::string requests;
  bool revealToBoth = false, quiet = false;
  /// The caller has already shown party 1's review of the plan (what
  /// party 0 learns): `mpcc eval` shows it once for all its runs.
  bool clientReviewShown = false;
  /// The caller has already printed kInsecureWarning (with insecure):
  /// `mpcc eval --insecure` prints it once for all its sessions.
  bool insecureWarningShown = false;
  double timeoutSeconds = 60;
  int threads = 0; ///< 0: all cores.
  /// RunOptions::materialWindowMiB; the parties must agree.
  uint32_t materialWindowMiB = kDefaultMaterialWindowMiB;
  /// Refuse a plan whose estimated memory need (memoryNeed) exceeds this
  /// many MiB in this process; 0: defaultMemoryBudget().
  uint64_t maxMemoryMiB = 0;
  /// After listening, write the bound port (decimal) to this file: how
  /// `mpc-run local` learns the port of a role listening on port 0.
  std::string portFile;

  /// Fault tests (hidden --die-at): "connect", "offline:N" or "online:N";
  /// the process kills itself (SIGKILL, as a crash would) once its links
  /// are up, or when it has done N ops of that phase.
  std::string dieAt;

  /// This role's identity (`mpc-run keygen`): PEM key and certificate.
  std::string keyFile, certFile;
  /// ROLE=CERT for each peer (ROLE: party0, party1, dealer).
  std::vector<std::string> trust;
  /// Plaintext TCP and self-declared roles (a warning on every start).
  bool insecure = false;
  /// mpc-run --emulate-net: this role's links to its peers behave as over
  /// this network (parseNetworkModel's syntax); empty: as they are.
  std::string emulateNet;
  /// `mpc-run serve` (mode Serve: party 0 for many clients) and
  /// `mpc-run dealer --serve`: at most this many sessions at once; a
  /// client over the limit waits (in the listen queue) until one ends.
  bool serve = false; ///< Dealer: --serve.
  unsigned maxSessions = 8;
  /// Serving: accept any client certificate (README, Serving); otherwise
  /// each client is pinned with a --trust party1=CERT.
  bool anyClient = false;
  /// The SHA-256 (hex) the plan file must have: a client pins the plan it
  /// reviewed (`sha256sum model.plan`).
  std::string expectPlan;
};

/// Checks that \p c names what its mode needs (a usage error otherwise).
llvm::Error checkConfig(const RunConfig &c);

/// The warning every start with --insecure prints.
extern const char *const kInsecureWarning;

/// `mpc-run keygen`: writes \p dir/\p name.key (mode 0600) and
/// \p dir/\p name.crt; returns the certificate's fingerprint.
llvm::Expected<std::string> keygen(llvm::StringRef name, llvm::StringRef dir);

/// Runs one role (Party or Dealer mode) in this process.
llvm::Error runRole(const RunConfig &c);

/// `mpc-run local`: the dealer, party 0 and party 1 as child processes
/// of \p exe (this mpc-run) on 127.0.0.1. Each role listens on port 0 and
/// reports the port it got before the next role starts. On success the
/// outputs are in place and, unless quiet, the merged profile is printed;
/// on failure no output file exists and the error names the first role
/// that failed and what the others then said.
llvm::Error runLocal(const RunConfig &c, llvm::StringRef exe);

/// Reads every --input NAME=FILE (.npy only: the runtime does not link ONNX).
llvm::Expected<std::map<std::string, HostTensor>>
readInputs(const std::vector<std::string> &specs);

/// One request of a --requests list: its --input and --output values.
struct RequestFiles {
  std::vector<std::string> inputs, outputs;
};

/// Reads a --requests list: one request per line, written as on the
/// command line, `--input NAME=FILE ... --output FILE|NAME=FILE ...`, its
/// words split as a shell splits them: ', " and \ are special (a path with
/// spaces or quotes goes in quotes, or its special characters after
/// backslashes), and an unterminated quote is an error; blank lines and
/// lines starting with # are skipped. An error names the line.
llvm::Expected<std::vector<RequestFiles>> readRequestList(llvm::StringRef path);
/// \p r as a line of a --requests list (a value in double quotes unless it
/// is plain path characters), ending in a newline; readRequestList reads
/// it back as \p r.
std::string requestListLine(const RequestFiles &r);

/// Party 1's requests: \p c's --input and --output as one, or the lines of
/// --requests.
llvm::Expected<std::vector<RequestFiles>> requestFilesOf(const RunConfig &c);

/// What an error about request \p k (from 0) of \p c starts with: "LIST:
/// request K: " with --requests, else nothing.
std::string requestContext(const RunConfig &c, size_t k);

/// Resolves --output arguments against the outputs \p party can see:
/// output name -> file. A bare FILE is allowed when exactly one output is
/// visible.
llvm::Expected<std::map<std::string, std::string>>
resolveOutputs(const LoadedPlan &plan, int party, bool revealToBoth,
               const std::vector<std::string> &specs);

} // namespace mpc::rt
