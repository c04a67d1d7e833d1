//===- runtime/TcpChannel.cpp - TCP transport -----------------------------===//
//
// Sockets are non-blocking with TCP_NODELAY and large kernel buffers. An
// exchange polls for readability and writability at once and moves whatever
// the kernel accepts in either direction, so two parties that send large
// messages to each other simultaneously never deadlock. A wait with no
// progress in either direction for the timeout fails, as do end-of-file and
// I/O errors, each with a message that names the peer. Writes use
// MSG_NOSIGNAL: a vanished peer is an error, never SIGPIPE.
//
//===----------------------------------------------------------------------===//

#include "runtime/Channel.h"
#include "runtime/Poll.h"
#include "support/Diag.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

using namespace mpc::rt;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSocketBuffer = 4 << 20;
constexpr size_t kMaxIo = 1 << 20; ///< Bytes per send/recv call.

std::string errnoText(int err) { return std::strerror(err); }

double seconds(TcpChannel::Duration d) { return d.count() / 1000.0; }

/// Splits "HOST:PORT" or "[V6HOST]:PORT".
llvm::Error splitAddress(llvm::StringRef address, std::string &host,
                         std::string &port) {
  size_t colon = address.rfind(':');
  if (colon == llvm::StringRef::npos || colon + 1 == address.size())
    return mpc::error("bad address '{}': expected HOST:PORT", address.str());
  llvm::StringRef h = address.take_front(colon);
  if (h.startswith("[") && h.endswith("]"))
    h = h.drop_front().drop_back();
  llvm::StringRef p = address.drop_front(colon + 1);
  unsigned portNum;
  if (p.getAsInteger(10, portNum) || portNum > 65535)
    return mpc::error("bad port '{}' in address '{}'", p.str(), address.str());
  host = h.empty() ? "0.0.0.0" : h.str();
  port = p.str();
  return llvm::Error::success();
}

struct AddrInfo {
  addrinfo *list = nullptr;
  ~AddrInfo() {
    if (list)
      freeaddrinfo(list);
  }
};

llvm::Error resolve(llvm::StringRef address, bool passive, AddrInfo &out) {
  std::string host, port;
  if (llvm::Error e = splitAddress(address, host, port))
    return e;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &out.list);
  if (rc != 0)
    return mpc::error("cannot resolve '{}': {}", address.str(),
                      gai_strerror(rc));
  return llvm::Error::success();
}

std::string describe(const sockaddr *sa) {
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(sa,
                  sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6)
                                            : sizeof(sockaddr_in),
                  host, sizeof(host), serv, sizeof(serv),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "unknown peer";
  if (sa->sa_family == AF_INET6)
    return std::string("[") + host + "]:" + serv;
  return std::string(host) + ":" + serv;
}

/// Non-blocking, no Nagle, big buffers.
void configure(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int buf = kSocketBuffer;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int msLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return int(std::max<int64_t>(0, left.count()));
}

/// One non-blocking connect attempt to \p ai, waiting up to \p ms.
/// Returns the fd, or -1 with \p err set.
int tryConnect(const addrinfo *ai, int ms, int &err) {
  int fd =
      socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    err = errno;
    return -1;
  }
  configure(fd);
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
    return fd;
  if (errno != EINPROGRESS) {
    err = errno;
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int rc;
  do
    rc = poll(&p, 1, ms);
  while (rc < 0 && errno == EINTR);
  if (rc == 0) {
    err = ETIMEDOUT;
    ::close(fd);
    return -1;
  }
  int soErr = 0;
  socklen_t len = sizeof(soErr);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &soErr, &len);
  if (rc < 0 || soErr != 0) {
    err = rc < 0 ? errno : soErr;
    ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace

// --- TcpListener -------------------------------------------------------------

llvm::Expected<std::unique_ptr<TcpListener>>
TcpListener::listen(llvm::StringRef address) {
  AddrInfo ai;
  if (llvm::Error e = resolve(address, /*passive=*/true, ai))
    return e;
  int lastErr = 0;
  for (addrinfo *a = ai.list; a; a = a->ai_next) {
    int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      lastErr = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
      lastErr = errno;
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr *>(&bound), &len);
    int port = bound.ss_family == AF_INET6
                   ? ntohs(reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port)
                   : ntohs(reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
    return std::unique_ptr<TcpListener>(new TcpListener(fd, port));
  }
  return mpc::error("cannot listen on {}: {}", address.str(),
                    errnoText(lastErr));
}

TcpListener::~TcpListener() { ::close(fd_); }

llvm::Expected<std::unique_ptr<TcpChannel>>
TcpListener::accept(TcpChannel::Duration timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int rc = poll(&p, 1, msLeft(deadline));
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0)
      return mpc::error("waiting for a connection on port {}: {}", port_,
                        errnoText(errno));
    if (rc == 0)
      return mpc::error("no peer connected to port {} within {:g} s", port_,
                        seconds(timeout));
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd =
        ::accept4(fd_, reinterpret_cast<sockaddr *>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
        continue;
      return mpc::error("accepting on port {}: {}", port_, errnoText(errno));
    }
    configure(fd);
    std::unique_ptr<TcpChannel> ch(new TcpChannel(fd));
    ch->setPeerName(describe(reinterpret_cast<sockaddr *>(&peer)));
    return ch;
  }
}

// --- TcpChannel
// ----------------------------------------------------------------

llvm::Expected<std::unique_ptr<TcpChannel>>
TcpChannel::accept(llvm::StringRef address, Duration timeout) {
  auto listener = TcpListener::listen(address);
  if (!listener)
    return listener.takeError();
  return (*listener)->accept(timeout);
}

llvm::Expected<std::unique_ptr<TcpChannel>>
TcpChannel::connect(llvm::StringRef address, Duration timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  int attempts = 0, lastErr = 0;
  for (;;) {
    AddrInfo ai;
    if (llvm::Error e = resolve(address, /*passive=*/false, ai))
      return e;
    for (addrinfo *a = ai.list; a; a = a->ai_next) {
      ++attempts;
      int fd =
          tryConnect(a, std::max(1, std::min(msLeft(deadline), 1000)), lastErr);
      if (fd >= 0) {
        std::unique_ptr<TcpChannel> ch(new TcpChannel(fd));
        ch->setPeerName(describe(a->ai_addr));
        return ch;
      }
    }
    if (Clock::now() >= deadline)
      break;
    // The peer may not be listening yet: retry a little later.
    std::this_thread::sleep_for(std::min<Clock::duration>(
        std::chrono::milliseconds(50), deadline - Clock::now()));
  }
  return mpc::error("cannot connect to {} within {:g} s ({} attempts): {}",
                    address.str(), seconds(timeout), attempts,
                    errnoText(lastErr));
}

TcpChannel::~TcpChannel() { ::close(fd_); }

bool TcpChannel::peerClosed() const {
  // POLLRDHUP: the peer has shut down its sending side (a FIN arrived),
  // even if unread data is still queued before it.
  pollfd p{fd_, POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0)
    return false;
  return p.revents & (POLLRDHUP | POLLHUP | POLLERR);
}

llvm::Error TcpChannel::doExchange(llvm::ArrayRef<uint8_t> out,
                                   llvm::MutableArrayRef<uint8_t> in) {
  // Without a deadline, transfer() returns only when everything moved.
  return transfer(out, in, Clock::time_point::max()).takeError();
}

llvm::Expected<Channel::Moved>
TcpChannel::transfer(llvm::ArrayRef<uint8_t> out,
                     llvm::MutableArrayRef<uint8_t> in,
                     Clock::time_point until) {
  size_t sent = 0, got = 0;
  Clock::time_point lastProgress = Clock::now();
  while (sent < out.size() || got < in.size()) {
    pollfd p{fd_, 0, 0};
    if (sent < out.size())
      p.events |= POLLOUT;
    if (got < in.size())
      p.events |= POLLIN;
    Clock::time_point stall = lastProgress + timeout_;
    int rc = detail::pollUntil(p, std::min(stall, until));
    if (rc < 0) {
      if (errno == EINTR)
        continue;
      return mpc::error("waiting on {}: {}", peerName_, errnoText(errno));
    }
    if (rc == 0 && Clock::now() >= until && until < stall)
      return Moved{sent, got};
    if (rc == 0) {
      if (got < in.size())
        return mpc::error("no data from {} for {:g} s (received {} of {} "
                          "bytes)",
                          peerName_, seconds(timeout_), got, in.size());
      return mpc::error("{} accepted no data for {:g} s (sent {} of {} "
                        "bytes)",
                        peerName_, seconds(timeout_), sent, out.size());
    }
    if (p.revents & POLLNVAL)
      return mpc::error("channel to {} is not open", peerName_);
    bool progress = false;
    if (got < in.size() && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n =
          ::recv(fd_, in.data() + got, std::min(in.size() - got, kMaxIo), 0);
      if (n > 0) {
        got += size_t(n);
        progress = true;
      } else if (n == 0) {
        return mpc::error("{} closed the connection after {} of {} bytes",
                          peerName_, got, in.size());
      } else if (errno == ECONNRESET) {
        return mpc::error("{} closed the connection (reset) after {} of {} "
                          "bytes",
                          peerName_, got, in.size());
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return mpc::error("receiving from {}: {}", peerName_, errnoText(errno));
      }
    }
    if (sent < out.size() && (p.revents & (POLLOUT | POLLHUP | POLLERR))) {
      ssize_t n = ::send(fd_, out.data() + sent,
                         std::min(out.size() - sent, kMaxIo), MSG_NOSIGNAL);
      if (n > 0) {
        sent += size_t(n);
        progress = true;
      } else if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
        return mpc::error("{} closed the connection with {} of {} bytes "
                          "sent",
                          peerName_, sent, out.size());
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                 errno != EINTR) {
        return mpc::error("sending to {}: {}", peerName_, errnoText(errno));
      }
    }
    if (progress)
      lastProgress = Clock::now();
  }
  return Moved{sent, got};
}
