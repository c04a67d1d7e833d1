//===- runtime/session/Serve.cpp - A model owner serving many clients -----===//
//
// `mpc-run serve` is party 0 for many clients, `mpc-run dealer --serve` the
// dealer for many sessions. Each accepts connections in one process and
// runs every session in a child process of its own (fork after accept):
//
//   isolation  a session's state (seeds, PRG streams, masks, shares,
//              material) lives in its own address space, so concurrent
//              sessions share no mutable state (the ring-thread pool, the
//              OpenSSL contexts, allocator arenas are each the child's);
//              a client that lies, disconnects or crashes its session ends
//              that child only, never the server;
//   memory     a session's buffers return to the system when its child
//              exits, so the server's footprint does not grow with the
//              sessions served; the weights are read once, before any
//              fork, and shared copy-on-write;
//   limits     at most --max-sessions children at once: beyond that the
//              server stops accepting, and a new client waits in the
//              kernel's listen queue until a session ends (or its own
//              --timeout passes), rather than being refused.
//
// The accepting process does no cryptography and starts no threads: the
// TLS handshakes run in the children. The server's child draws the
// session's pairing token (SessionImpl.h), sends it to its client and
// connects to the dealer service with it; the dealer service reads the
// token in the clear before TLS, without blocking on any one connection
// (poll), and forks a child when both parties of a token have arrived.
//
// Each request is logged by the child as one line on stderr (session
// number, request number, online time, bytes, resident memory); a session's
// end as one more (requests done, or the error). SIGINT or SIGTERM stops
// accepting and passes the signal to the sessions: the server's refuse any
// further request, finish the current one and end (the dealer's end with
// them); then the process exits 0. A second signal aborts the sessions
// left (SIGKILL).
//
//===----------------------------------------------------------------------===//
#include "runtime/session/SessionImpl.h"

#include "runtime/Wipe.h"

#include "support/Diag.h"

#include "llvm/Support/raw_ostream.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>

using namespace mpc;
using namespace mpc::rt;
using Clock = std::chrono::steady_clock;

namespace {

/// Signals received (SIGINT, SIGTERM); the accepting process also wakes
/// its poll through the pipe.
volatile sig_atomic_t stopSignals = 0;
int wakeFd = -1;

void onStop(int) {
  stopSignals = stopSignals + 1;
  if (wakeFd >= 0) {
    char b = 1;
    (void)!::write(wakeFd, &b, 1);
  }
}

/// Installs onStop for SIGINT and SIGTERM; returns the pipe's read end.
llvm::Expected<int> catchStopSignals() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    return mpc::error("cannot make a pipe: {}", std::strerror(errno));
  wakeFd = fds[1];
  struct sigaction sa {};
  sa.sa_handler = onStop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return fds[0];
}

/// One line on stderr, in one write (the children share it).
void logLine(const std::string &line) {
  std::string l = line + "\n";
  (void)!::write(2, l.data(), l.size());
}

/// The sessions running as child processes.
class Sessions {
public:
  Sessions(std::string who, unsigned max) : who_(std::move(who)), max_(max) {}
  bool full() const { return running_.size() >= max_; }
  bool empty() const { return running_.empty(); }

  /// Forks a child that runs \p body (its exit code) as session \p n;
  /// the parent returns at once.
  template <typename F> void start(size_t n, F body) {
    pid_t pid = ::fork();
    if (pid == 0) {
      // The child: a stop signal only marks the session as stopping.
      wakeFd = -1;
      ::_exit(body());
    }
    if (pid < 0) {
      logLine(fmt::format("{}: session {}: cannot fork: {}", who_, n,
                          std::strerror(errno)));
      return;
    }
    running_[pid] = n;
  }

  /// Reaps the children that have exited (waiting for one if \p block).
  void reap(bool block) {
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, block ? 0 : WNOHANG);
      if (pid <= 0)
        return;
      auto it = running_.find(pid);
      if (it == running_.end())
        continue;
      if (!WIFEXITED(status))
        logLine(fmt::format("{}: session {}: killed by signal {}", who_,
                            it->second, WTERMSIG(status)));
      running_.erase(it);
      block = false;
    }
  }

  /// Passes \p sig on to every session.
  void signal(int sig) {
    for (auto &[pid, n] : running_)
      ::kill(pid, sig);
  }

private:
  std::string who_;
  unsigned max_;
  std::map<pid_t, size_t> running_;
};

/// Empties the wake pipe when \p p says it is readable.
void drain(int wake, const pollfd &p) {
  char buf[64];
  if (p.revents & POLLIN)
    while (::read(wake, buf, sizeof buf) > 0) {
    }
}

/// Waits until \p fd is readable, the wake pipe is, or \p ms pass.
/// Returns whether \p fd is readable.
bool waitReadable(int fd, int wake, int ms) {
  // A negative fd is ignored by poll(2).
  pollfd p[2] = {{wake, POLLIN, 0}, {fd, POLLIN, 0}};
  if (::poll(p, 2, ms) <= 0)
    return false;
  drain(wake, p[0]);
  return fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR));
}

/// After a stop signal: the sessions finish their current request; a
/// second signal kills them. Returns once all have ended.
void stopSessions(Sessions &sessions, const std::string &who, int wake) {
  logLine(fmt::format("{}: stopping: no new sessions; waiting for the "
                      "running ones (a second signal aborts them)",
                      who));
  sessions.signal(SIGTERM);
  bool aborted = false;
  while (!sessions.empty()) {
    if (stopSignals > 1 && !aborted) {
      logLine(fmt::format("{}: aborting the sessions left", who));
      sessions.signal(SIGKILL);
      aborted = true;
    }
    waitReadable(-1, wake, 100);
    sessions.reap(false);
  }
  logLine(fmt::format("{}: stopped", who));
}

/// Session \p n of `mpc-run serve`, in its child process.
int serveSession(const RunConfig &c, const LoadedPlan &plan, WeightMap &weights,
                 const Links &links, std::unique_ptr<TcpChannel> tcp,
                 size_t n) {
  std::string tag = fmt::format("serve: session {} ({})", n, tcp->peerName());
  auto fail = [&](llvm::Error e, size_t done) {
    logLine(fmt::format("{}: ended after {}: {}", tag,
                        counted(int64_t(done), "request"),
                        llvm::toString(std::move(e))));
    return 1;
  };
  auto peer = links.secure(std::move(tcp), {1});
  if (!peer)
    return fail(peer.takeError(), 0);
  auto token = newPairToken();
  if (!token)
    return fail(token.takeError(), 0);
  if (llvm::Error e = sendPairing(**peer, *token))
    return fail(std::move(e), 0);
  auto dealer = links.connect(c.dealerAddr, kDealerRole, &*token);
  if (!dealer)
    return fail(addContext(dealer.takeError(), "connecting to the dealer: "),
                0);
  logLine(fmt::format("{}: started{}", tag, links.clientLabel(**peer)));
  RunOptions ro;
  ro.materialWindowMiB = c.materialWindowMiB;
  size_t done = 0;
  SessionHooks hooks;
  hooks.next = [&](size_t k) -> llvm::Expected<std::optional<Request>> {
    // Stopping: the request under way was the last; refuse the next.
    if (k > 0 && stopSignals > 0)
      return std::nullopt;
    Request r;
    r.last = stopSignals > 0;
    return std::optional<Request>(std::move(r));
  };
  hooks.done = [&](size_t k, PartyResult res) {
    done = k + 1;
    logLine(requestLogLine(tag, k, res.profile));
    return llvm::Error::success();
  };
  if (llvm::Error e = runPartySession(0, plan, std::move(weights), **peer,
                                      **dealer, ro, hooks))
    return fail(std::move(e), done);
  logLine(fmt::format("{}: ended after {}", tag,
                      counted(int64_t(done), "request")));
  return 0;
}

/// Session \p n of the dealer service, in its child process.
int dealSession(const RunConfig &c, const LoadedPlan &plan, const Links &links,
                std::unique_ptr<TcpChannel> tcp[2], size_t n) {
  std::string tag = fmt::format("dealer: session {}", n);
  size_t done = 0;
  auto fail = [&](llvm::Error e) {
    logLine(fmt::format("{}: ended after {}: {}", tag,
                        counted(int64_t(done), "request"),
                        llvm::toString(std::move(e))));
    return 1;
  };
  std::unique_ptr<Channel> ch[2];
  for (int i = 0; i < 2; ++i) {
    auto a = links.secure(std::move(tcp[i]), otherRoles(ch[0].get()));
    if (!a)
      return fail(a.takeError());
    ch[i] = std::move(*a);
  }
  // Which client: party 1's link (over TLS the certificate says which).
  const Channel *client = nullptr;
  for (const std::unique_ptr<Channel> &party : ch)
    if (party->authenticatedRole() == 1)
      client = party.get();
  logLine(fmt::format("{}: started{}", tag,
                      client ? links.clientLabel(*client) : std::string()));
  llvm::Error e = runDealerSession(
      plan, *ch[0], *ch[1], RunOptions(), [&](size_t k, RunProfile p) {
        done = k + 1;
        logLine(fmt::format("{}: request {}: dealt {} bytes to party 1 in "
                            "{:.1f} ms, rss {:.1f} MiB",
                            tag, k + 1, p.dealerBytes1, p.offlineSeconds * 1e3,
                            double(currentRssBytes()) / (1 << 20)));
        return llvm::Error::success();
      });
  if (e)
    return fail(std::move(e));
  logLine(fmt::format("{}: ended after {}", tag,
                      counted(int64_t(done), "request")));
  return 0;
}

/// A connection to the dealer service whose pairing preamble is still
/// arriving.
struct Pending {
  std::unique_ptr<TcpChannel> tcp;
  std::array<uint8_t, kPairingBytes> buf{};
  size_t have = 0;
  Clock::time_point deadline;
};

} // namespace

llvm::Error mpc::rt::runServe(const RunConfig &c, const LoadedPlan &plan) {
  auto w = readWeightsFile(c.weights, plan);
  if (!w)
    return w.takeError();
  Wiped<WeightMap> weights(std::move(*w));
  auto l = listenAs(c, 0, "serve: ");
  auto wake = l ? catchStopSignals() : llvm::Expected<int>(l.takeError());
  if (!wake)
    return wake.takeError();
  Links *links = &l->links;
  std::unique_ptr<TcpListener> *listener = &l->listener;
  logLine(fmt::format("serve: listening on port {}, at most {} sessions at "
                      "once, dealer at {}",
                      (*listener)->port(), c.maxSessions, c.dealerAddr));
  Sessions sessions("serve", c.maxSessions);
  for (size_t n = 1; stopSignals == 0;) {
    sessions.reap(false);
    int fd = sessions.full() ? -1 : (*listener)->fd();
    if (!waitReadable(fd, *wake, 200))
      continue;
    auto tcp = (*listener)->accept(std::chrono::milliseconds(100));
    if (!tcp) {
      llvm::consumeError(tcp.takeError()); // gone before accept: no session
      continue;
    }
    std::unique_ptr<TcpChannel> t = std::move(*tcp);
    size_t id = n++;
    sessions.start(id, [&] {
      ::close((*listener)->fd()); // the port stays the server's alone
      return serveSession(c, plan, *weights, *links, std::move(t), id);
    });
  }
  stopSessions(sessions, "serve", *wake);
  return llvm::Error::success();
}

llvm::Error mpc::rt::runDealerService(const RunConfig &c,
                                      const LoadedPlan &plan) {
  auto l = listenAs(c, kDealerRole, "dealer: ");
  auto wake = l ? catchStopSignals() : llvm::Expected<int>(l.takeError());
  if (!wake)
    return wake.takeError();
  Links *links = &l->links;
  std::unique_ptr<TcpListener> *listener = &l->listener;
  logLine(fmt::format("dealer: serving on port {}, at most {} sessions at "
                      "once",
                      (*listener)->port(), c.maxSessions));
  Sessions sessions("dealer", c.maxSessions);
  std::vector<Pending> pending;
  std::map<PairToken, Pending> waiting; // first halves, by token
  size_t n = 1;
  while (stopSignals == 0) {
    sessions.reap(false);
    std::vector<pollfd> fds;
    fds.push_back({*wake, POLLIN, 0});
    bool accepting = !sessions.full();
    if (accepting)
      fds.push_back({(*listener)->fd(), POLLIN, 0});
    for (const Pending &p : pending)
      fds.push_back({p.tcp->fd(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 200) <= 0)
      continue;
    drain(*wake, fds[0]);
    if (accepting && (fds[1].revents & POLLIN)) {
      auto tcp = (*listener)->accept(std::chrono::milliseconds(100));
      if (tcp) {
        Pending p;
        p.tcp = std::move(*tcp);
        p.deadline = Clock::now() + links->timeout;
        pending.push_back(std::move(p));
      } else {
        llvm::consumeError(tcp.takeError());
      }
    }
    // Preambles: read what has arrived, never waiting on one connection.
    auto now = Clock::now();
    for (size_t i = 0; i < pending.size();) {
      Pending &p = pending[i];
      ssize_t got = ::recv(p.tcp->fd(), p.buf.data() + p.have,
                           p.buf.size() - p.have, MSG_DONTWAIT);
      if (got > 0)
        p.have += size_t(got);
      bool closed = got == 0 || (got < 0 && errno != EAGAIN &&
                                 errno != EWOULDBLOCK && errno != EINTR);
      if (p.have < p.buf.size() && !closed && now < p.deadline) {
        ++i;
        continue;
      }
      Pending done = std::move(p);
      pending.erase(pending.begin() + i);
      std::unique_ptr<TcpChannel> &tcp = done.tcp;
      bool complete = done.have == done.buf.size();
      if (!complete) {
        logLine(fmt::format("dealer: {}: {} before its pairing preamble; "
                            "dropped",
                            tcp->peerName(),
                            closed ? "closed the connection" : "timed out"));
        continue;
      }
      auto token = parsePairing(done.buf);
      if (!token) {
        logLine(fmt::format("dealer: {}: {}; dropped", tcp->peerName(),
                            llvm::toString(token.takeError())));
        continue;
      }
      auto other = waiting.find(*token);
      if (other == waiting.end()) {
        waiting[*token] = std::move(done);
        continue;
      }
      std::unique_ptr<TcpChannel> pair[2] = {std::move(other->second.tcp),
                                             std::move(tcp)};
      waiting.erase(other);
      size_t id = n++;
      sessions.start(id, [&] {
        // Only this session's two connections stay open in the child.
        ::close((*listener)->fd());
        for (Pending &q : pending)
          ::close(q.tcp->fd());
        for (auto &[t, q] : waiting)
          ::close(q.tcp->fd());
        return dealSession(c, plan, *links, pair, id);
      });
    }
    // A half whose partner never came: dropped after the timeout.
    for (auto it = waiting.begin(); it != waiting.end();) {
      const TcpChannel &t = *it->second.tcp;
      if (t.peerClosed() || now >= it->second.deadline) {
        logLine(fmt::format("dealer: {}: its session's other party did not "
                            "come; dropped",
                            t.peerName()));
        it = waiting.erase(it);
      } else {
        ++it;
      }
    }
  }
  stopSessions(sessions, "dealer", *wake);
  return llvm::Error::success();
}
