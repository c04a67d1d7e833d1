//===- runtime/session/SessionImpl.h - Session internals -------*- C++ -*-===//
//
// Pieces shared by the files of runtime/session. Internal.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tls.h"
#include "runtime/plan/Profile.h"
#include "runtime/session/Run.h"

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace mpc::rt {

/// Writes \p p as profile JSON with the plan's predicted cost beside it,
/// each op's work counts, and the \p network it was measured on
/// (RunProfile::network).
llvm::Error writeProfileFile(const std::string &path, const RunProfile &p,
                             const LoadedPlan &plan, llvm::StringRef network,
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

/// Pairing: every party -> dealer connection starts, before TLS, with
/// "MPCCPAIR" and a 32-byte token that party 0 drew for the session and
/// sent party 1 inside their TLS link, first thing. The dealer runs the
/// two connections with the same token as one session: a dealer service
/// (`mpc-run dealer --serve`) tells its concurrent sessions apart by it.
/// The token only routes; who is who is still proven by the certificates,
/// and that both parties are in the same run by the session id of the
/// hellos (Handshake.h). A token seen on the wire lets an attacker who can
/// connect take a session's place at the dealer, which fails that
/// session's handshake: a denial of service, as cutting the link is.
using PairToken = std::array<uint8_t, 32>;
constexpr size_t kPairingBytes = 40;
/// A fresh random token (party 0, per session).
llvm::Expected<PairToken> newPairToken();
std::array<uint8_t, kPairingBytes> encodePairing(const PairToken &t);
llvm::Expected<PairToken> parsePairing(llvm::ArrayRef<uint8_t> bytes);
/// Reads the pairing preamble of a connection to the dealer.
llvm::Expected<PairToken> readPairing(TcpChannel &tcp);

/// How one role opens its links: TLS with its identity and pinned peers,
/// or plain TCP with --insecure.
struct Links {
  std::shared_ptr<TlsContext> tls; ///< Null with --insecure.
  std::chrono::milliseconds timeout{60000};
  /// --emulate-net: each channel is wrapped in an EmulatedChannel.
  std::optional<NetworkModel> emulate;
  /// The --trust file of each pinned fingerprint (for logs).
  std::map<Fingerprint, std::string> certFiles;

  /// Connects to \p role at \p address (retrying until the timeout); to
  /// the dealer with the session's \p pairing token first.
  llvm::Expected<std::unique_ptr<Channel>>
  connect(const std::string &address, int role,
          const PairToken *pairing = nullptr) const;
  /// Accepts one connection on \p l from one of \p roles.
  llvm::Expected<std::unique_ptr<Channel>>
  accept(TcpListener &l, llvm::ArrayRef<int> roles) const;
  /// An accepted connection from one of \p roles, over TLS unless
  /// --insecure.
  llvm::Expected<std::unique_ptr<Channel>>
  secure(std::unique_ptr<TcpChannel> tcp, llvm::ArrayRef<int> roles) const;
  /// \p ch, in an EmulatedChannel when emulating.
  std::unique_ptr<Channel> emulated(std::unique_ptr<Channel> ch) const;
  /// For a served session's log: " by the client pinned by FILE (SHA-256
  /// F)", or a client let in by --any-client; empty with --insecure.
  std::string clientLabel(const Channel &client) const;
};

/// The peers \p role talks to.
std::vector<int> peersOf(int role);

/// Loads the identity and the pins of \p c for role \p me (or, with
/// --insecure, prints the warning). Serving (mpc-run serve, dealer
/// --serve), party 1 may be trusted with several certificates, or with
/// any (--any-client).
llvm::Expected<Links> makeLinks(const RunConfig &c, int me);

/// Listens on c.listen and reports the port bound (RunConfig::portFile).
llvm::Expected<std::unique_ptr<TcpListener>> listenOn(const RunConfig &c);

/// A listening role's links and listener (the dealer, party 0 serving);
/// errors start with \p who.
struct Listening {
  Links links;
  std::unique_ptr<TcpListener> listener;
};
llvm::Expected<Listening> listenAs(const RunConfig &c, int role,
                                   llvm::StringRef who);

/// The roles the dealer accepts on a party's connection: either party
/// for the first (\p first null), the other one for the second.
std::vector<int> otherRoles(const Channel *first);

/// The pairing token party 0 sends party 1 over \p peer; party 1 receives
/// it (\p token is in/out).
llvm::Error sendPairing(Channel &peer, const PairToken &token);
llvm::Error recvPairing(Channel &peer, PairToken &token);

/// `mpc-run serve` and `mpc-run dealer --serve` (Serve.cpp).
llvm::Error runServe(const RunConfig &c, const LoadedPlan &plan);
llvm::Error runDealerService(const RunConfig &c, const LoadedPlan &plan);

} // namespace mpc::rt
