//===- runtime/Channel.h - Byte- and round-counting transport --*- C++ -*-===//
//
// One narrow interface between two parties (emp-tool's IOChannel idea):
// exchange() sends a buffer and receives one of a size both sides know
// (message sizes are public: they follow from the plan), concurrently, so two
// parties sending large messages to each other never deadlock. Counters
// record bytes each way and rounds (exchanges that moved any byte).
//
// MemChannel::pair() serves in-process tests; TcpChannel is plain TCP
// (mpc-run --insecure); TlsChannel (runtime/Tls.h) is TLS 1.3 over a
// TcpChannel with the peer's certificate pinned, what mpc-run uses.
// EmulatedChannel decorates any of them with a slower link (mpc-run
// --emulate-net).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>

namespace mpc::rt {

/// The roles of a run: party 0 (model owner), party 1 (client) and the
/// dealer.
constexpr int kDealerRole = 2;
/// "party 0", "party 1", "dealer".
std::string roleName(int role);
/// "party0", "party1", "dealer": ROLE in --trust ROLE=CERT.
llvm::StringRef roleKey(int role);
/// The role of a roleKey(), or -1.
int roleFromKey(llvm::StringRef key);

class Channel {
public:
  virtual ~Channel();

  /// Sends \p out and fills \p in with exactly in.size() bytes from the peer,
  /// concurrently. Either may be empty. Counts one round when any byte moved,
  /// unless \p sameRound: the exchange continues the previous one (a large
  /// message sent in pieces; the peer splits it at the same offsets).
  /// Errors: peer closed (with how many bytes arrived), timeout, I/O.
  llvm::Error exchange(llvm::ArrayRef<uint8_t> out,
                       llvm::MutableArrayRef<uint8_t> in,
                       bool sameRound = false);
  /// One-way helpers (count bytes, and a round each).
  llvm::Error send(llvm::ArrayRef<uint8_t> out) { return exchange(out, {}); }
  llvm::Error recv(llvm::MutableArrayRef<uint8_t> in) {
    return exchange({}, in);
  }

  uint64_t bytesSent() const { return bytesSent_; }
  uint64_t bytesReceived() const { return bytesReceived_; }
  uint64_t rounds() const { return rounds_; }
  void resetCounters() { bytesSent_ = bytesReceived_ = rounds_ = 0; }

  /// Name of the peer for error messages ("party 1 at 127.0.0.1:7000").
  const std::string &peerName() const { return peerName_; }
  void setPeerName(std::string n) { peerName_ = std::move(n); }

  /// The peer's role (0, 1, or 2 for the dealer) as its certificate
  /// proves it, or -1 when the transport authenticates nobody (TcpChannel,
  /// MemChannel): the handshake then takes the role the peer declares.
  int authenticatedRole() const { return authenticatedRole_; }
  /// Keying material both ends derive from this connection's secrets (a
  /// TLS exporter, RFC 8446 section 7.5): the handshake checks that both
  /// ends see the same value, binding its messages to this connection.
  /// All zeros when the transport has no secrets.
  virtual std::array<uint8_t, 32> binding() const { return {}; }
  /// Whether the peer has shut its end down (checked without waiting; for
  /// error messages that name every lost peer).
  virtual bool peerClosed() const { return false; }
  /// The SHA-256 fingerprint (lower-case hex) of the certificate the peer
  /// proved, for logs; empty where the transport authenticates nobody.
  virtual std::string peerCertificate() const { return {}; }

  using Clock = std::chrono::steady_clock;
  /// Bytes of a transfer() that moved.
  struct Moved {
    size_t sent = 0, got = 0;
  };
  /// Moves what it can of \p out and into \p in, concurrently, until both
  /// are done or \p until passes, and says how much moved; the caller
  /// calls again with the rest. Counts nothing: the building block of a
  /// channel layered on this one (EmulatedChannel), whose exchange()
  /// counts. Mem, TCP and TLS channels stop at \p until; a channel that
  /// cannot stop part-way finishes the whole exchange.
  virtual llvm::Expected<Moved> transfer(llvm::ArrayRef<uint8_t> out,
                                         llvm::MutableArrayRef<uint8_t> in,
                                         Clock::time_point until);
  /// Whether bytes a transfer() reported as sent still wait in this
  /// channel (TLS records not yet on the socket): another transfer() sends
  /// them.
  virtual bool sendPending() const { return false; }

protected:
  virtual llvm::Error doExchange(llvm::ArrayRef<uint8_t> out,
                                 llvm::MutableArrayRef<uint8_t> in) = 0;
  std::string peerName_ = "peer";
  int authenticatedRole_ = -1;

private:
  uint64_t bytesSent_ = 0, bytesReceived_ = 0, rounds_ = 0;
};

/// In-memory channel pair for tests. Closing one end (destroying it, or
/// close()) makes the other's pending and later receives fail with
/// "peer closed", exactly like a TCP peer that disconnects.
class MemChannel : public Channel {
public:
  static std::pair<std::unique_ptr<MemChannel>, std::unique_ptr<MemChannel>>
  pair();
  ~MemChannel() override;
  void close();
  /// A receive that waits longer than this fails (a test whose two sides
  /// disagree on message sizes fails instead of hanging). Default 60 s.
  void setTimeout(std::chrono::milliseconds d) { timeout_ = d; }
  bool peerClosed() const override;
  llvm::Expected<Moved> transfer(llvm::ArrayRef<uint8_t> out,
                                 llvm::MutableArrayRef<uint8_t> in,
                                 Clock::time_point until) override;
  struct Shared;

protected:
  llvm::Error doExchange(llvm::ArrayRef<uint8_t> out,
                         llvm::MutableArrayRef<uint8_t> in) override;

private:
  MemChannel(std::shared_ptr<Shared> s, int side);
  std::shared_ptr<Shared> shared_;
  int side_;
  std::chrono::milliseconds timeout_ = std::chrono::seconds(60);
};

/// TCP channel (IPv4/IPv6, TCP_NODELAY, non-blocking full-duplex I/O with
/// poll). A receive that sees no progress for `timeout` fails.
class TcpChannel : public Channel {
public:
  using Duration = std::chrono::milliseconds;
  /// Listens on "HOST:PORT" and accepts one connection.
  static llvm::Expected<std::unique_ptr<TcpChannel>>
  accept(llvm::StringRef address, Duration timeout);
  /// Connects to "HOST:PORT", retrying until \p timeout (the peer may start
  /// later).
  static llvm::Expected<std::unique_ptr<TcpChannel>>
  connect(llvm::StringRef address, Duration timeout);
  ~TcpChannel() override;
  void setTimeout(Duration d) { timeout_ = d; }
  Duration timeout() const { return timeout_; }
  bool peerClosed() const override;
  llvm::Expected<Moved> transfer(llvm::ArrayRef<uint8_t> out,
                                 llvm::MutableArrayRef<uint8_t> in,
                                 Clock::time_point until) override;
  /// The connected socket, for a transport layered on this connection
  /// (TlsChannel); this channel still owns and closes it.
  int fd() const { return fd_; }

protected:
  llvm::Error doExchange(llvm::ArrayRef<uint8_t> out,
                         llvm::MutableArrayRef<uint8_t> in) override;

private:
  friend class TcpListener;
  explicit TcpChannel(int fd) : fd_(fd) {}
  int fd_;
  Duration timeout_ = std::chrono::seconds(60);
};

/// A listening socket that accepts several peers on one port (the dealer and
/// party 1 both connect to party 0, for instance).
class TcpListener {
public:
  static llvm::Expected<std::unique_ptr<TcpListener>>
  listen(llvm::StringRef address);
  ~TcpListener();
  llvm::Expected<std::unique_ptr<TcpChannel>>
  accept(TcpChannel::Duration timeout);
  /// The port actually bound (useful with port 0).
  int port() const { return port_; }
  /// The listening socket, to poll it with other descriptors (a server's
  /// accept loop); this listener still owns and closes it.
  int fd() const { return fd_; }

private:
  TcpListener(int fd, int port) : fd_(fd), port_(port) {}
  int fd_;
  int port_;
};

/// A link between two roles: bandwidth (each direction) and round-trip
/// time. `mpcc report --net` predicts with it; `mpc-run --emulate-net`
/// emulates it.
struct NetworkModel {
  std::string name;
  double bytesPerSecond = 0;
  double rttSeconds = 0;
};

/// "lan" (10 Gbit/s, 0.2 ms), "wan" (400 Mbit/s, 40 ms), "loopback"
/// (measured-like: 20 Gbit/s, 0.02 ms) or "bw=GBIT,rtt=MS". \p option
/// names the flag in errors.
llvm::Expected<NetworkModel>
parseNetworkModel(llvm::StringRef spec, llvm::StringRef option = "--net");

/// A channel over \p inner whose sends reach the peer as over a link of
/// a NetworkModel: the bytes of a send queue behind earlier ones at the
/// link's bandwidth and arrive half the round-trip time after their last
/// bit left. It emulates this end's outgoing direction; the peer's
/// EmulatedChannel emulates the other. A thread of its own does all of
/// inner's I/O, so a send is delivered on time while the caller computes
/// and a receive is never held up by this end's queue. A sender waits
/// while more than kEmulatedBufferBytes are queued, as on a full socket.
class EmulatedChannel : public Channel {
public:
  EmulatedChannel(std::unique_ptr<Channel> inner, const NetworkModel &net,
                  std::chrono::milliseconds timeout);
  /// Delivers what is still queued (or gives up after the timeout).
  ~EmulatedChannel() override;
  std::array<uint8_t, 32> binding() const override { return binding_; }
  bool peerClosed() const override { return inner_->peerClosed(); }
  std::string peerCertificate() const override {
    return inner_->peerCertificate();
  }
  struct Queue;

protected:
  llvm::Error doExchange(llvm::ArrayRef<uint8_t> out,
                         llvm::MutableArrayRef<uint8_t> in) override;

private:
  void ioLoop();
  std::unique_ptr<Channel> inner_;
  NetworkModel net_;
  std::chrono::milliseconds timeout_;
  std::array<uint8_t, 32> binding_;
  std::unique_ptr<Queue> q_;
  std::thread io_;
};

/// Typed helpers: ring words over a channel.
llvm::Error sendWords(Channel &ch, llvm::ArrayRef<uint64_t> words);
llvm::Error recvWords(Channel &ch, llvm::MutableArrayRef<uint64_t> words);

} // namespace mpc::rt
