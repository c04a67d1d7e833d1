//===- bench/bench_transport.cpp - TLS against plain TCP, exchanges only --===//
//
// What TLS adds to the online phase, without the protocols around it: two
// parties in one process (one thread each) make the same sequence of
// exchanges over loopback TCP and over TLS 1.3 on loopback TCP, the two
// alternating, and the median seconds of each and TLS's overhead are
// printed. The default traffic is bert-base's online phase in round
// figures: about 1000 exchanges of 1 MiB each way (~1 GB in all).
//
// Usage: bench_transport [reps [exchanges [bytes]]]   (default 5 1000 1MiB)
//
//===----------------------------------------------------------------------===//
#include "runtime/Channel.h"
#include "runtime/Tls.h"
#include "support/Diag.h"

#include <fmt/format.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <future>
#include <vector>

using namespace mpc::rt;

namespace {

using Clock = std::chrono::steady_clock;
using ChannelPair =
    std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>>;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename T> T check(llvm::Expected<T> v, const char *what) {
  if (!v) {
    fmt::print(stderr, "bench_transport: {}: {}\n", what,
               llvm::toString(v.takeError()));
    std::exit(1);
  }
  return std::move(*v);
}

void check(llvm::Error e, const char *what) {
  if (e) {
    fmt::print(stderr, "bench_transport: {}: {}\n", what,
               llvm::toString(std::move(e)));
    std::exit(1);
  }
}

std::pair<std::unique_ptr<TcpChannel>, std::unique_ptr<TcpChannel>> tcpPair() {
  auto listener = check(TcpListener::listen("127.0.0.1:0"), "listen");
  std::string address = "127.0.0.1:" + std::to_string(listener->port());
  auto acceptor = std::async(std::launch::async, [&] {
    return listener->accept(std::chrono::seconds(10));
  });
  auto c1 =
      check(TcpChannel::connect(address, std::chrono::seconds(10)), "connect");
  auto c0 = check(acceptor.get(), "accept");
  return {std::move(c0), std::move(c1)};
}

ChannelPair makeChannels(bool tls) {
  auto [c0, c1] = tcpPair();
  if (!tls)
    return {std::move(c0), std::move(c1)};
  Identity id0 = check(Identity::generate("party0"), "keygen");
  Identity id1 = check(Identity::generate("party1"), "keygen");
  Fingerprint f0 = id0.fingerprint(), f1 = id1.fingerprint();
  auto t0 = check(TlsContext::create(std::move(id0), {{1, f1}}), "context");
  auto t1 = check(TlsContext::create(std::move(id1), {{0, f0}}), "context");
  auto server = std::async(std::launch::async, [&, &c0 = c0] {
    return t0->accept(std::move(c0), {1});
  });
  auto s1 = check(t1->connect(std::move(c1), 0), "TLS connect");
  auto s0 = check(server.get(), "TLS accept");
  return {std::move(s0), std::move(s1)};
}

double cpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  auto s = [](timeval t) { return double(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

struct Times {
  double wall, cpu;
};

/// Wall and CPU seconds (both parties) for \p n exchanges of \p bytes
/// each way.
Times run(bool tls, int n, size_t bytes) {
  auto [a, b] = makeChannels(tls);
  auto party = [n, bytes](Channel &ch, uint8_t fill) {
    std::vector<uint8_t> out(bytes, fill), in(bytes);
    for (int i = 0; i < n; ++i)
      check(ch.exchange(out, in), "exchange");
    if (in[bytes / 2] != uint8_t(fill ^ 1))
      check(mpc::error("wrong bytes received"), "exchange");
  };
  auto start = Clock::now();
  double cpu = cpuSeconds();
  auto other = std::async(std::launch::async, [&, &b = b] { party(*b, 1); });
  party(*a, 0);
  other.get();
  return {std::chrono::duration<double>(Clock::now() - start).count(),
          cpuSeconds() - cpu};
}

} // namespace

int main(int argc, char **argv) {
  int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  int n = argc > 2 ? std::atoi(argv[2]) : 1000;
  size_t bytes = argc > 3 ? size_t(std::atoll(argv[3])) : size_t(1) << 20;
  if (reps < 1 || n < 1 || bytes < 1) {
    fmt::print(stderr, "usage: bench_transport [reps [exchanges [bytes]]]\n");
    return 2;
  }
  std::vector<double> tcp, tls, tcpCpu, tlsCpu;
  for (int r = 0; r < reps; ++r) {
    Times a = run(false, n, bytes), b = run(true, n, bytes);
    tcp.push_back(a.wall);
    tcpCpu.push_back(a.cpu);
    tls.push_back(b.wall);
    tlsCpu.push_back(b.cpu);
  }
  double gb = 2.0 * n * double(bytes) / 1e9;
  fmt::print("{} exchanges of {} bytes each way ({:.2f} GB), median of {} "
             "(CPU: both parties, user + system):\n",
             n, bytes, gb, reps);
  for (auto [what, v] : {std::pair{"wall", std::pair{tcp, tls}},
                         std::pair{"CPU ", std::pair{tcpCpu, tlsCpu}}}) {
    double a = median(v.first), b = median(v.second);
    fmt::print("  {}  TCP {:.3f} s ({:.2f} GB/s)   TLS {:.3f} s ({:.2f} GB/s)"
               "   TLS costs {:+.3f} s ({:+.1f}%)\n",
               what, a, gb / a, b, gb / b, b - a, 100.0 * (b - a) / a);
  }
  return 0;
}
