//===- runtime/plan/Handshake.h - The hello of every link ------*- C++ -*-===//
//
// Every link of a run (dealer-party 0, dealer-party 1, party 0-party 1)
// starts with both ends sending a hello at once (a fixed 124 bytes, so a
// mismatch is seen by both ends and neither waits). A hello says who sends
// it, whom it believes it talks to, the plan (its SHA-256), the run's
// session id and the link's binding:
//
//   roles    Over TLS a connection's role is the one its pinned certificate
//            proves (Channel::authenticatedRole); the hello's role must be
//            that one, and the peer role it names must be the receiver's.
//            Without TLS (--insecure) the declared role is all there is.
//   session  The dealer draws a fresh 32-byte session id per run and sends
//            it in its hello to both parties; the parties then exchange it
//            in their own hello and each checks the other's. Both parties
//            therefore take part in the same run of the same dealer: a
//            party cannot be spliced into another run (another client's,
//            or a recorded one) without the check failing.
//   binding  Each end puts the link's TLS exporter value (RFC 8446 7.5,
//            derived from this connection's secrets) in its hello and
//            checks the peer's: the hello, and so the session id, the plan
//            digest and the roles, are bound to this TLS connection and
//            were not relayed from another one.
//
// Everything after the hellos (the dealer's seeds, party 0's common seed)
// travels inside the same TLS connections. parseHello works on raw bytes,
// so it can be fuzzed.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/PlanReader.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>

namespace mpc::rt {

/// The version of the hello and of the messages that follow it between
/// the roles (independent of the plan format's). 3: party 1 confirms to
/// the dealer that it received its material (Executor.h, sessions).
constexpr uint32_t kHelloVersion = 3;
/// Bytes of an encoded hello.
constexpr size_t kHelloBytes = 124;
/// Hello::peerRole of a dealer that cannot know whom it talks to
/// (no authenticated role without TLS).
constexpr int kAnyRole = 255;
/// Hello::flags bit: the party runs with --reveal-to-both.
constexpr uint32_t kHelloRevealToBoth = 1;

using SessionId = std::array<uint8_t, 32>;
using LinkBinding = std::array<uint8_t, 32>;

struct Hello {
  int role = 0;     ///< The sender: 0, 1, or 2 (dealer).
  int peerRole = 0; ///< Whom the sender believes it talks to (or kAnyRole).
  uint32_t flags = 0;
  uint32_t windowMiB = 0; ///< RunOptions::materialWindowMiB (parties).
  PlanDigest digest{};
  SessionId session{}; ///< Zero in a party's hello to the dealer.
  LinkBinding binding{};
};

/// The wire form: magic "MPCCRUN2", version, plan format version, role,
/// peer role, two zero bytes, flags, window, digest, session, binding
/// (integers little-endian).
std::array<uint8_t, kHelloBytes> encodeHello(const Hello &h);
/// Parses a hello: size, magic, versions, role ranges, reserved bytes and
/// flags are checked; nothing about the receiver's expectations.
llvm::Expected<Hello> parseHello(llvm::ArrayRef<uint8_t> bytes);

/// What a receiver expects of a hello.
struct HelloExpectation {
  int me = 0;             ///< The receiver's role.
  int peer = 0;           ///< The sender's role as the receiver knows it.
  bool authenticated = 0; ///< peer is proven by a certificate.
  const PlanDigest *digest = nullptr;
  LinkBinding binding{};
  /// The session id the sender must state (parties to each other).
  const SessionId *session = nullptr;
};

/// Checks a parsed hello against \p e; \p peerName names the sender in
/// messages ("handshake: party 0 at 10.0.0.2:7000 runs a different plan").
llvm::Error checkHello(const Hello &theirs, const HelloExpectation &e,
                       llvm::StringRef peerName);

} // namespace mpc::rt
