//===- runtime/session/SessionImpl.h - Session internals -------*- C++ -*-===//
//
// Pieces shared by the files of runtime/session. Internal.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tls.h"
#include "runtime/plan/Profile.h"
#include "runtime/session/Run.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace mpc::rt {

/// Writes \p p as profile JSON with the plan's predicted cost beside it.
llvm::Error writeProfileFile(const std::string &path, const RunProfile &p,
                             const LoadedPlan &plan,
                             const PeakRss *rss = nullptr);

/// The current resident set size of this process (VmRSS), in bytes.
uint64_t currentRssBytes();

/// One request's log line: "WHO: request K: online X ms, R rounds, B
/// bytes between the parties, D dealer bytes, rss M MiB".
std::string requestLogLine(llvm::StringRef who, size_t k, const RunProfile &p);

/// Reads the plan of \p c and checks it against --expect-plan.
llvm::Expected<LoadedPlan> loadPlan(const RunConfig &c);

/// checkMemoryBudget for \p role with --max-memory (or its default).
llvm::Error checkMemory(const LoadedPlan &plan, const RunConfig &c, int role);

/// Party 1's review of the plan before it connects (ClientCheck.h): an
/// error for a plan that would disclose more than the outputs it allows;
/// otherwise prints what party 0 learns, one line on stderr.
llvm::Error reviewPlanAsClient(const LoadedPlan &plan, const RunConfig &c);

/// How one role opens its links: TLS with its identity and pinned peers,
/// or plain TCP with --insecure.
struct Links {
  std::shared_ptr<TlsContext> tls; ///< Null with --insecure.
  std::chrono::milliseconds timeout{60000};
  /// --emulate-net: each channel is wrapped in an EmulatedChannel.
  std::optional<NetworkModel> emulate;

  /// Connects to \p role at \p address (retrying until the timeout).
  llvm::Expected<std::unique_ptr<Channel>> connect(const std::string &address,
                                                   int role) const;
  /// Accepts one connection on \p l from one of \p roles.
  llvm::Expected<std::unique_ptr<Channel>>
  accept(TcpListener &l, llvm::ArrayRef<int> roles) const;
  /// \p ch, in an EmulatedChannel when emulating.
  std::unique_ptr<Channel> emulated(std::unique_ptr<Channel> ch) const;
};

/// The peers \p role talks to.
std::vector<int> peersOf(int role);

/// Loads the identity and the pins of \p c for role \p me (or, with
/// --insecure, prints the warning).
llvm::Expected<Links> makeLinks(const RunConfig &c, int me);

} // namespace mpc::rt
