//===- tests/unit/runtime/ProtoTest.cpp - Coroutine protocols in lockstep -===//
//
// StepRunner merges the exchanges of independent protocols into one message
// per round (rounds are the max, not the sum), resumes nested sub-protocols,
// keeps per-protocol counters, and surfaces channel errors. The TwoParty
// harness runs a small opening protocol over in-memory and TCP links.
//
//===----------------------------------------------------------------------===//

#include "runtime/Proto.h"
#include "../TwoParty.h"

#include <catch2/catch.hpp>

#include <array>
#include <deque>
#include <future>

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

/// Each round both parties send their running value and add the peer's.
Proto<u64> doubling(Party &p, u64 x, int rounds) {
  u64 acc = x;
  for (int i = 0; i < rounds; ++i) {
    // (GCC 12 miscompiles a braced list inside a co_await expression.)
    std::vector<u64> mine = {acc};
    std::vector<u64> theirs = co_await p.exchange(std::move(mine), 1);
    acc += theirs[0];
  }
  co_return acc;
}

/// Two sequential sub-protocols, three rounds in all.
Proto<u64> nested(Party &p, u64 x) {
  u64 a = co_await doubling(p, x, 2);
  u64 b = co_await doubling(p, a + 1, 1);
  co_return b;
}

/// Party 0 sends \p n words to party 1, which sends nothing: one round.
Proto<std::vector<u64>> oneWay(Party &p, size_t n) {
  std::vector<u64> out;
  if (p.id() == 0)
    for (size_t i = 0; i < n; ++i)
      out.push_back(i * 3 + 1);
  std::vector<u64> in =
      co_await p.exchange(std::move(out), p.id() == 1 ? n : 0);
  co_return in;
}

/// No communication at all.
Proto<u64> local(Party &p, u64 x) { co_return x * 2; }

/// Opens an additive sharing to both parties: one round, n words each way.
Proto<RingTensor> openShared(Party &p, RingTensor share) {
  std::vector<u64> theirs = co_await p.exchange(share.vec(), share.size());
  RingTensor value(share.shape(), std::move(theirs));
  addInPlace(value, share);
  co_return value;
}

struct PartyResult {
  std::string error;
  u64 doubled = 0, nest = 0, loc = 0;
  std::vector<u64> oneWay;
  ExchangeSlot slots[4];
  uint64_t runnerRounds = 0;
};

/// Runs four protocols in one StepRunner on party \p id.
PartyResult runStep(int id, Channel &ch, u64 x) {
  PartyResult r;
  Prg common(Seed{});
  Party p0(id, &common, &r.slots[0]), p1(id, &common, &r.slots[1]),
      p2(id, &common, &r.slots[2]), p3(id, &common, &r.slots[3]);
  Proto<u64> a = doubling(p0, x, 3);
  Proto<u64> b = nested(p1, x);
  Proto<std::vector<u64>> c = oneWay(p2, 5);
  Proto<u64> d = local(p3, x);
  StepRunner runner(ch);
  runner.add(a.handle(), &r.slots[0]);
  runner.add(b.handle(), &r.slots[1]);
  runner.add(c.handle(), &r.slots[2]);
  runner.add(d.handle(), &r.slots[3]);
  if (llvm::Error e = runner.run()) {
    r.error = llvm::toString(std::move(e));
    return r;
  }
  r.runnerRounds = runner.rounds();
  r.doubled = a.take();
  r.nest = b.take();
  r.oneWay = c.take();
  r.loc = d.take();
  return r;
}

} // namespace

TEST_CASE("StepRunner merges independent exchanges into one round", "[proto]") {
  auto [ch0, ch1] = MemChannel::pair();
  auto f = std::async(std::launch::async,
                      [&, &ch1 = ch1] { return runStep(1, *ch1, 10); });
  PartyResult r0 = runStep(0, *ch0, 5);
  PartyResult r1 = f.get();
  REQUIRE(r0.error == "");
  REQUIRE(r1.error == "");

  // 3, 3 (2 + 1 nested), 1 and 0 rounds run side by side: 3 rounds.
  CHECK(r0.runnerRounds == 3);
  CHECK(r1.runnerRounds == 3);
  CHECK(ch0->rounds() == 3);
  CHECK(ch1->rounds() == 3);
  // Round 1 carries 1 + 1 + 5 words from party 0, rounds 2 and 3 carry 2.
  CHECK(ch0->bytesSent() == (7 + 2 + 2) * 8);
  CHECK(ch1->bytesSent() == (2 + 2 + 2) * 8);

  for (PartyResult *r : {&r0, &r1}) {
    CHECK(r->doubled == 15 * 4);
    CHECK(r->nest == (15 * 2 + 1) * 2);
    CHECK(r->loc != 0);
    CHECK(r->slots[0].rounds == 3);
    CHECK(r->slots[1].rounds == 3);
    CHECK(r->slots[2].rounds == 1);
    CHECK(r->slots[3].rounds == 0);
    CHECK(r->slots[0].wordsSent == 3);
    CHECK(r->slots[0].wordsReceived == 3);
    CHECK(r->slots[1].wordsSent == 3);
    CHECK(r->slots[3].wordsSent == 0);
    CHECK(r->slots[0].computeSeconds >= 0);
  }
  CHECK(r0.loc == 10);
  CHECK(r1.loc == 20);
  CHECK(r0.slots[2].wordsSent == 5);
  CHECK(r0.slots[2].wordsReceived == 0);
  CHECK(r1.slots[2].wordsSent == 0);
  CHECK(r1.slots[2].wordsReceived == 5);
  CHECK(r0.oneWay.empty());
  CHECK(r1.oneWay == std::vector<u64>{1, 4, 7, 10, 13});
}

namespace {

/// Word i of what party \p from sends in protocol \p tag.
u64 pattern(int tag, int from, size_t i) {
  return (u64(tag) << 56) ^ (u64(from) << 48) ^ (i * 0x9e3779b97f4a7c15ull);
}

/// Party p sends sizes[p] pattern words and checks the peer's.
Proto<size_t> patterned(Party &p, int tag, std::array<size_t, 2> sizes) {
  std::vector<u64> out(sizes[p.id()]);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = pattern(tag, p.id(), i);
  std::vector<u64> in = co_await p.exchange(std::move(out), sizes[p.peer()]);
  size_t bad = in.size() == sizes[p.peer()] ? 0 : 1;
  for (size_t i = 0; i < in.size(); ++i)
    bad += in[i] != pattern(tag, p.peer(), i);
  co_return bad;
}

} // namespace

TEST_CASE("StepRunner moves a round larger than its pieces intact", "[proto]") {
  // Party 0 sends 3M + 1M + 5 words, party 1 1 + 2.5M + 5: pieces of
  // 16 MiB lie within one protocol's words or straddle two, each way.
  const std::array<size_t, 2> sizes[3] = {
      {3u << 20, 1}, {(1u << 20) + 7, 5u << 19}, {5, 5}};
  auto runSide = [&](int id, Channel &ch) {
    ExchangeSlot slots[3];
    Prg common(Seed{});
    std::deque<Party> parties;
    std::vector<Proto<size_t>> protos;
    StepRunner runner(ch);
    for (int t = 0; t < 3; ++t) {
      parties.emplace_back(id, &common, &slots[t]);
      protos.push_back(patterned(parties.back(), t, sizes[t]));
      runner.add(protos.back().handle(), &slots[t]);
    }
    std::vector<size_t> bad;
    if (llvm::Error e = runner.run()) {
      llvm::consumeError(std::move(e));
      return bad; // empty: fails the checks below
    }
    for (int t = 0; t < 3; ++t) {
      bad.push_back(protos[t].take());
      if (slots[t].rounds != 1 || slots[t].wordsSent != sizes[t][id])
        bad.back() += 1000;
    }
    return bad;
  };
  Link link = GENERATE(Link::Mem, Link::Tcp, Link::Tls);
  auto [ch0, ch1] = makeLink(link);
  auto f = std::async(std::launch::async,
                      [&, &ch1 = ch1] { return runSide(1, *ch1); });
  std::vector<size_t> bad0 = runSide(0, *ch0);
  std::vector<size_t> bad1 = f.get();
  CHECK(bad0 == std::vector<size_t>{0, 0, 0});
  CHECK(bad1 == std::vector<size_t>{0, 0, 0});
  CHECK(ch0->rounds() == 1);
  CHECK(ch1->rounds() == 1);
  CHECK(ch0->bytesSent() == ((3u << 20) + (1u << 20) + 7 + 5) * 8);
  CHECK(ch1->bytesSent() == (1 + (5u << 19) + 5) * 8);
}

TEST_CASE("StepRunner reports a channel error", "[proto]") {
  auto [ch0, ch1] = MemChannel::pair();
  ch1.reset(); // Party 1 is gone before the first round.
  ExchangeSlot slot;
  Prg common(Seed{});
  Party p(0, &common, &slot);
  auto r = runProtocol(*ch0, doubling(p, 1, 2), slot);
  REQUIRE_FALSE(bool(r));
  CHECK_THAT(llvm::toString(r.takeError()), Catch::Contains("closed"));
}

TEST_CASE("TwoParty harness opens a dealt sharing", "[proto][twoparty]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  RingTensor secret({2, 2}, {1, 2, 3, u64(-4)});
  auto deal = [&](Corr &c) {
    return c.shareOf({2, 2}, [&] { return secret; });
  };
  auto run = [](Party &p, const Dealt &m) {
    return openShared(p, m.mine(p.id()));
  };
  TwoPartyRun<RingTensor> res = runTwoParty(deal, run, link);
  CHECK(res.out[0].vec() == secret.vec());
  CHECK(res.out[1].vec() == secret.vec());
  Cost expect;
  expect.rounds = 1;
  expect.bytes01 = expect.bytes10 = wordBytes(4);
  expect.dealerBytes1 = wordBytes(4);
  requireTrafficMatches(res.measured, expect);
}
