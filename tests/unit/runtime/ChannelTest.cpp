//===- tests/unit/runtime/ChannelTest.cpp - Mem, TCP and TLS channels -----===//
//
// All three transports: exchanges each way, simultaneous large messages (which
// must not deadlock), counters, and failures that must be errors rather than
// hangs: a peer that disconnects mid-message, a silent peer (timeout), and a
// connect to a port nobody listens on.
//
//===----------------------------------------------------------------------===//

#include "runtime/Channel.h"
#include "../TwoParty.h"

#include <catch2/catch.hpp>

#include <future>
#include <numeric>
#include <thread>

using namespace mpc::rt;
using mpc::rt::testing::Link;
using mpc::rt::testing::makeLink;

namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = uint8_t(i * 31 + seed + (i >> 12));
  return v;
}

void setShortTimeout(Channel &ch, std::chrono::milliseconds d) {
  if (auto *t = dynamic_cast<TcpChannel *>(&ch))
    t->setTimeout(d);
  if (auto *m = dynamic_cast<MemChannel *>(&ch))
    m->setTimeout(d);
  if (auto *t = dynamic_cast<TlsChannel *>(&ch))
    t->setTimeout(d);
}

const char *linkName(Link l) {
  return l == Link::Mem ? "mem" : l == Link::Tcp ? "tcp" : "tls";
}

/// The error's text, or "" for success.
std::string errText(llvm::Error e) {
  return e ? llvm::toString(std::move(e)) : std::string();
}

} // namespace

TEST_CASE("Channels exchange both ways and count", "[channel]") {
  Link link = GENERATE(Link::Mem, Link::Tcp, Link::Tls);
  CAPTURE(linkName(link));
  auto [c0, c1] = makeLink(link);

  // One-way sends, then a simultaneous exchange of different sizes.
  std::vector<uint8_t> a = pattern(100, 1), b = pattern(37, 2);
  std::vector<uint8_t> gotA(100), gotB(37);
  auto f = std::async(std::launch::async, [&, &c1 = c1] {
    std::string e1 = errText(c1->recv(gotA));
    return e1 + errText(c1->exchange(b, gotA));
  });
  REQUIRE(errText(c0->send(a)) == "");
  REQUIRE(errText(c0->exchange(a, gotB)) == "");
  REQUIRE(f.get() == "");
  CHECK(gotA == a);
  CHECK(gotB == b);
  CHECK(c0->bytesSent() == 200);
  CHECK(c0->bytesReceived() == 37);
  CHECK(c0->rounds() == 2);
  CHECK(c1->bytesSent() == 37);
  CHECK(c1->bytesReceived() == 200);
  CHECK(c1->rounds() == 2);

  // An exchange that moves nothing is not a round.
  REQUIRE(errText(c0->exchange({}, {})) == "");
  CHECK(c0->rounds() == 2);
  c0->resetCounters();
  CHECK(c0->bytesSent() == 0);
  CHECK(c0->rounds() == 0);

  // Typed words.
  std::vector<uint64_t> words(1000);
  std::iota(words.begin(), words.end(), uint64_t(1) << 40);
  std::vector<uint64_t> back(1000);
  auto g = std::async(std::launch::async,
                      [&, &c1 = c1] { return errText(recvWords(*c1, back)); });
  REQUIRE(errText(sendWords(*c0, words)) == "");
  REQUIRE(g.get() == "");
  CHECK(back == words);
}

TEST_CASE("Large simultaneous messages do not deadlock", "[channel][large]") {
  Link link = GENERATE(Link::Mem, Link::Tcp, Link::Tls);
  CAPTURE(linkName(link));
  auto [c0, c1] = makeLink(link);
  size_t n = 64u << 20; // 64 MiB each way at once.
  std::vector<uint8_t> out0 = pattern(n, 3), out1 = pattern(n, 4);
  std::vector<uint8_t> in0(n), in1(n);
  auto f = std::async(std::launch::async, [&, &c1 = c1] {
    return errText(c1->exchange(out1, in1));
  });
  CHECK(errText(c0->exchange(out0, in0)) == "");
  CHECK(f.get() == "");
  CHECK(in0 == out1);
  CHECK(in1 == out0);
  CHECK(c0->bytesSent() == n);
  CHECK(c1->bytesReceived() == n);
}

TEST_CASE("A peer that disconnects mid-message is an error", "[channel]") {
  Link link = GENERATE(Link::Mem, Link::Tcp, Link::Tls);
  CAPTURE(linkName(link));
  auto [c0, c1] = makeLink(link);
  std::vector<uint8_t> half = pattern(500, 5), in(1000);
  auto f = std::async(std::launch::async, [&, &c1 = c1] {
    std::string e = errText(c1->send(half));
    c1.reset(); // Disconnect after half of what party 0 expects.
    return e;
  });
  llvm::Error e = c0->recv(in);
  REQUIRE(f.get() == "");
  REQUIRE(bool(e));
  std::string msg = llvm::toString(std::move(e));
  CHECK_THAT(msg, Catch::Contains("closed"));
  CHECK_THAT(msg, Catch::Contains("500 of 1000 bytes"));

  // Later sends and receives fail too, rather than hanging.
  CHECK_THAT(errText(c0->recv(in)), Catch::Contains("closed"));
}

TEST_CASE("A silent peer times out", "[channel]") {
  Link link = GENERATE(Link::Mem, Link::Tcp, Link::Tls);
  CAPTURE(linkName(link));
  auto [c0, c1] = makeLink(link);
  setShortTimeout(*c0, std::chrono::milliseconds(200));
  std::vector<uint8_t> in(10);
  auto t0 = std::chrono::steady_clock::now();
  llvm::Error e = c0->recv(in);
  double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  REQUIRE(bool(e));
  CHECK_THAT(llvm::toString(std::move(e)), Catch::Contains("no data from"));
  CHECK(waited >= 0.15);
  CHECK(waited < 5);
  CHECK(c0->rounds() == 0);
}

TEST_CASE("Sending to a closed peer is an error, not SIGPIPE", "[channel]") {
  Link link = GENERATE(Link::Tcp, Link::Tls);
  CAPTURE(linkName(link));
  auto [c0, c1] = makeLink(link);
  c1.reset();
  std::vector<uint8_t> big = pattern(32u << 20, 6);
  llvm::Error e = c0->send(big);
  REQUIRE(bool(e));
  CHECK_THAT(llvm::toString(std::move(e)), Catch::Contains("closed"));
}

TEST_CASE("Connecting to a closed port retries, then fails", "[channel]") {
  // Find a port nobody listens on: bind one, then close it.
  int port;
  {
    auto l = TcpListener::listen("127.0.0.1:0");
    REQUIRE(bool(l));
    port = (*l)->port();
  }
  auto t0 = std::chrono::steady_clock::now();
  auto ch = TcpChannel::connect("127.0.0.1:" + std::to_string(port),
                                std::chrono::milliseconds(300));
  double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  REQUIRE_FALSE(bool(ch));
  std::string msg = llvm::toString(ch.takeError());
  CHECK_THAT(msg, Catch::Contains("cannot connect to 127.0.0.1:"));
  CHECK_THAT(msg, Catch::Contains("refused"));
  CHECK(waited >= 0.25);
}

TEST_CASE("Connect waits for a peer that starts listening later", "[channel]") {
  int port;
  {
    auto l = TcpListener::listen("127.0.0.1:0");
    REQUIRE(bool(l));
    port = (*l)->port();
  }
  std::string addr = "127.0.0.1:" + std::to_string(port);
  auto server = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return TcpChannel::accept(addr, std::chrono::seconds(5));
  });
  auto c1 = TcpChannel::connect(addr, std::chrono::seconds(5));
  auto c0 = server.get();
  REQUIRE(bool(c1));
  REQUIRE(bool(c0));
  std::vector<uint8_t> msg = pattern(10, 7), in(10);
  REQUIRE(errText((*c1)->send(msg)) == "");
  REQUIRE(errText((*c0)->recv(in)) == "");
  CHECK(in == msg);
}

TEST_CASE("Bad addresses and accept timeouts are errors", "[channel]") {
  auto bad = TcpListener::listen("no-port-here");
  REQUIRE_FALSE(bool(bad));
  CHECK_THAT(llvm::toString(bad.takeError()), Catch::Contains("HOST:PORT"));
  auto badPort =
      TcpChannel::connect("127.0.0.1:99999", std::chrono::milliseconds(10));
  REQUIRE_FALSE(bool(badPort));
  CHECK_THAT(llvm::toString(badPort.takeError()), Catch::Contains("bad port"));
  auto l = TcpListener::listen("127.0.0.1:0");
  REQUIRE(bool(l));
  CHECK((*l)->port() > 0);
  auto none = (*l)->accept(std::chrono::milliseconds(50));
  REQUIRE_FALSE(bool(none));
  CHECK_THAT(llvm::toString(none.takeError()), Catch::Contains("no peer"));
}

TEST_CASE("A transfer stops at its deadline with what moved", "[channel]") {
  Link link = GENERATE(Link::Mem, Link::Tcp, Link::Tls);
  CAPTURE(linkName(link));
  auto [c0, c1] = makeLink(link);
  std::vector<uint8_t> msg = pattern(300, 8), in(1000);
  REQUIRE(errText(c1->send(msg)) == "");
  auto t0 = Channel::Clock::now();
  auto moved = c0->transfer({}, in, t0 + std::chrono::milliseconds(100));
  double waited =
      std::chrono::duration<double>(Channel::Clock::now() - t0).count();
  REQUIRE(bool(moved));
  CHECK(moved->got == 300);
  CHECK(moved->sent == 0);
  CHECK(waited >= 0.09);
  CHECK(std::vector<uint8_t>(in.begin(), in.begin() + 300) == msg);
}

namespace {

/// \p a and \p b, each behind an EmulatedChannel of \p spec.
std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>>
emulatedPair(Link link, const char *spec) {
  auto [a, b] = makeLink(link);
  auto net = parseNetworkModel(spec, "--emulate-net");
  REQUIRE(bool(net));
  auto t = std::chrono::seconds(20);
  return {std::make_unique<EmulatedChannel>(std::move(a), *net, t),
          std::make_unique<EmulatedChannel>(std::move(b), *net, t)};
}

double since(Channel::Clock::time_point t0) {
  return std::chrono::duration<double>(Channel::Clock::now() - t0).count();
}

} // namespace

TEST_CASE("An emulated link delays and throttles each send", "[channel]") {
  // 0.1 Gbit/s, 20 ms RTT: N bytes arrive >= 10 ms + N * 8 / 1e8 s after
  // the send.
  Link link = GENERATE(Link::Mem, Link::Tcp, Link::Tls);
  CAPTURE(linkName(link));
  auto [c0, c1] = emulatedPair(link, "bw=0.1,rtt=20");
  const double half = 0.010, bw = 0.1e9;
  size_t n = 1u << 20;
  std::vector<uint8_t> big = pattern(n, 9), small = pattern(16, 10);
  std::vector<uint8_t> gotBig(n), gotSmall(16);

  // One way: the big message, then a small one queued behind it.
  auto t0 = Channel::Clock::now();
  REQUIRE(errText(c0->send(big)) == "");
  REQUIRE(errText(c0->send(small)) == "");
  REQUIRE(errText(c1->recv(gotBig)) == "");
  double bigAt = since(t0);
  REQUIRE(errText(c1->recv(gotSmall)) == "");
  double smallAt = since(t0);
  CHECK(gotBig == big);
  CHECK(gotSmall == small);
  CHECK(bigAt >= half + n * 8 / bw);
  CHECK(smallAt >= half + (n + 16) * 8 / bw);

  // A simultaneous exchange both ways: each direction is its own link.
  std::vector<uint8_t> back = pattern(n, 11), gotBack(n);
  t0 = Channel::Clock::now();
  auto f = std::async(std::launch::async, [&, &c1 = c1] {
    return errText(c1->exchange(back, gotBig));
  });
  REQUIRE(errText(c0->exchange(big, gotBack)) == "");
  REQUIRE(f.get() == "");
  CHECK(since(t0) >= half + n * 8 / bw);
  CHECK(gotBig == big);
  CHECK(gotBack == back);
  CHECK(c0->bytesSent() == 2 * n + 16);
  CHECK(c0->rounds() == 3);
  CHECK(c1->bytesReceived() == 2 * n + 16);

  // A small message costs half the round trip; a reply, the whole.
  t0 = Channel::Clock::now();
  auto g = std::async(std::launch::async, [&, &c1 = c1] {
    std::string e = errText(c1->recv(gotSmall));
    return e + errText(c1->send(gotSmall));
  });
  REQUIRE(errText(c0->send(small)) == "");
  REQUIRE(errText(c0->recv(gotSmall)) == "");
  REQUIRE(g.get() == "");
  CHECK(since(t0) >= 2 * half);
}

TEST_CASE("An emulated channel delivers what it queued before closing",
          "[channel]") {
  auto [c0, c1] = emulatedPair(Link::Tcp, "bw=1,rtt=40");
  std::vector<uint8_t> msg = pattern(5000, 12), in(5000);
  REQUIRE(errText(c0->send(msg)) == "");
  c0.reset(); // the send is still queued: due 20 ms later
  REQUIRE(errText(c1->recv(in)) == "");
  CHECK(in == msg);
}

TEST_CASE("Network specs parse as mpcc report's", "[channel]") {
  auto wan = parseNetworkModel("wan", "--emulate-net");
  REQUIRE(bool(wan));
  CHECK(wan->bytesPerSecond == 400e6 / 8);
  CHECK(wan->rttSeconds == 40e-3);
  auto custom = parseNetworkModel("bw=0.5,rtt=12", "--emulate-net");
  REQUIRE(bool(custom));
  CHECK(custom->bytesPerSecond == 0.5e9 / 8);
  CHECK(custom->rttSeconds == 12e-3);
  auto bad = parseNetworkModel("bw=1,latency=3", "--emulate-net");
  REQUIRE_FALSE(bool(bad));
  CHECK_THAT(llvm::toString(bad.takeError()),
             Catch::Contains("--emulate-net: unknown key 'latency'"));
  auto zero = parseNetworkModel("bw=0,rtt=3", "--emulate-net");
  REQUIRE_FALSE(bool(zero));
  CHECK_THAT(llvm::toString(zero.takeError()), Catch::Contains("bw=GBIT"));
}
