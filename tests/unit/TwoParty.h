//===- tests/unit/TwoParty.h - Run a protocol between two parties -*- C++ -*-//
//
// The test harness for protocols (SPU's utils::simulate): runs a deal
// function in the dealer's role and in both parties' roles, then the protocol
// in two threads over an in-memory channel pair or real loopback TCP, and
// returns both parties' results with the measured traffic, to compare with
// a plaintext computation and with the protocol's cost formula.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Channel.h"
#include "runtime/Corr.h"
#include "runtime/Cost.h"
#include "runtime/Proto.h"
#include "runtime/Tls.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>

namespace mpc::rt::testing {

enum class Link { Mem, Tcp, Tls };

/// Two connected TCP channels on 127.0.0.1 (any port): party 0 accepted,
/// party 1 connected.
inline std::pair<std::unique_ptr<TcpChannel>, std::unique_ptr<TcpChannel>>
tcpPair() {
  auto listener = TcpListener::listen("127.0.0.1:0");
  REQUIRE(bool(listener));
  int port = (*listener)->port();
  auto acceptor = std::async(std::launch::async, [&] {
    return (*listener)->accept(std::chrono::seconds(10));
  });
  auto c1 = TcpChannel::connect("127.0.0.1:" + std::to_string(port),
                                std::chrono::seconds(10));
  auto c0 = acceptor.get();
  REQUIRE(bool(c0));
  REQUIRE(bool(c1));
  return {std::move(*c0), std::move(*c1)};
}

/// TLS contexts for party 0 and party 1, each trusting the other.
inline std::pair<std::shared_ptr<TlsContext>, std::shared_ptr<TlsContext>>
tlsContexts() {
  auto id0 = Identity::generate("party0"), id1 = Identity::generate("party1");
  REQUIRE(bool(id0));
  REQUIRE(bool(id1));
  std::string f0 = id0->fingerprint(), f1 = id1->fingerprint();
  auto t0 = TlsContext::create(std::move(*id0), {{1, f1}});
  auto t1 = TlsContext::create(std::move(*id1), {{0, f0}});
  REQUIRE(bool(t0));
  REQUIRE(bool(t1));
  return {std::move(*t0), std::move(*t1)};
}

/// A connected channel pair of the given kind (TCP on 127.0.0.1, any port;
/// TLS over that with two fresh identities).
inline std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>>
makeLink(Link link) {
  if (link == Link::Mem) {
    auto [a, b] = MemChannel::pair();
    return {std::move(a), std::move(b)};
  }
  auto [c0, c1] = tcpPair();
  if (link == Link::Tcp)
    return {std::move(c0), std::move(c1)};
  auto [t0, t1] = tlsContexts();
  auto server = std::async(std::launch::async, [&, &c0 = c0, &t0 = t0] {
    return t0->accept(std::move(c0), {1});
  });
  auto s1 = t1->connect(std::move(c1), 0);
  auto s0 = server.get();
  if (!s0)
    FAIL(llvm::toString(s0.takeError()));
  if (!s1)
    FAIL(llvm::toString(s1.takeError()));
  return {std::move(*s0), std::move(*s1)};
}

template <typename T> struct TwoPartyRun {
  T out[2];      ///< Each party's result (shares, or revealed values).
  Cost measured; ///< Rounds, bytes each way, dealer bytes (as measured).
};

/// Runs \p deal (Corr&) -> Mat in all three roles and \p run
/// (Party&, const Mat&) -> Proto<T> in both parties.
template <typename DealFn, typename RunFn>
auto runTwoParty(DealFn deal, RunFn run, Link link = Link::Mem) {
  using Mat = decltype(deal(std::declval<Corr &>()));
  using P = decltype(run(std::declval<Party &>(), std::declval<const Mat &>()));
  using T = decltype(std::declval<P>().take());

  Seed s0 = randomSeed(), s1 = randomSeed(), common = randomSeed();
  std::vector<u64> corrections;
  Corr dealer = Corr::dealer(s0, s1, &corrections);
  (void)deal(dealer);
  Corr c0 = Corr::party(0, s0), c1 = Corr::party(1, s1);
  c1.setInput(corrections);
  Mat m0 = deal(c0);
  Mat m1 = deal(c1);
  REQUIRE(c1.remainingInput() == 0);
  REQUIRE_FALSE(c1.outOfSync());

  auto [ch0, ch1] = makeLink(link);
  auto body = [&](int id, Channel &ch, const Mat &m) -> llvm::Expected<T> {
    Prg commonPrg(common);
    ExchangeSlot slot;
    Party p(id, &commonPrg, &slot);
    return runProtocol(ch, run(p, m), slot);
  };
  auto f1 = std::async(std::launch::async, [&] { return body(1, *ch1, m1); });
  llvm::Expected<T> r0 = body(0, *ch0, m0);
  llvm::Expected<T> r1 = f1.get();
  if (!r0)
    FAIL("party 0: " << llvm::toString(r0.takeError()));
  if (!r1)
    FAIL("party 1: " << llvm::toString(r1.takeError()));

  TwoPartyRun<T> res;
  res.out[0] = std::move(*r0);
  res.out[1] = std::move(*r1);
  res.measured.rounds = ch0->rounds();
  REQUIRE(ch0->rounds() == ch1->rounds());
  res.measured.bytes01 = ch0->bytesSent();
  res.measured.bytes10 = ch1->bytesSent();
  res.measured.dealerBytes1 = corrections.size() * 8;
  return res;
}

/// Checks measured traffic against a cost formula, exactly.
inline void requireTrafficMatches(const Cost &measured, const Cost &formula) {
  CHECK(measured.rounds == formula.rounds);
  CHECK(measured.bytes01 == formula.bytes01);
  CHECK(measured.bytes10 == formula.bytes10);
  CHECK(measured.dealerBytes1 == formula.dealerBytes1);
}

/// The clear value behind two additive shares.
inline RingTensor reconstruct(const RingTensor &a, const RingTensor &b) {
  return add(a, b);
}

} // namespace mpc::rt::testing
