//===- tests/unit/plan/HandshakeTests.cpp - The hello of every link -------===//
//
// The hello's wire form (round trip; every malformed field refused by
// parseHello), the receiver's checks (role, the peer role it names, the
// plan, the session id, the link binding), and whole runs: two dealers'
// sessions cannot be spliced, and over TLS the dealer takes a party's role
// from its certificate, not from its hello.
//
//===----------------------------------------------------------------------===//
#include "../TwoParty.h"
#include "PlanTestUtil.h"

#include "runtime/Tls.h"
#include "runtime/plan/Handshake.h"

#include <future>

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Matchers::Contains;

namespace {

Hello sample() {
  Hello h;
  h.role = kDealerRole;
  h.peerRole = 1;
  h.flags = kHelloRevealToBoth;
  h.windowMiB = 512;
  for (int i = 0; i < 32; ++i) {
    h.digest[i] = uint8_t(i);
    h.session[i] = uint8_t(100 + i);
    h.binding[i] = uint8_t(200 + i);
  }
  return h;
}

HelloExpectation expectFor(const Hello &h, int me) {
  HelloExpectation e;
  e.me = me;
  e.peer = h.role;
  e.digest = &h.digest;
  e.binding = h.binding;
  return e;
}

/// x [2,3] shared (party 1) -> trunc -> reveal to party 1.
LoadedPlan smallPlan(const char *name = "small") {
  PlanBuilder b;
  int x = b.value("x", {2, 3}, 24, plan::VIS_SHARED);
  int t = b.value("t", {2, 3}, 12, plan::VIS_SHARED);
  int y = b.value("y", {2, 3}, 12, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  setInt(b.op("trunc", {x}, {t}, 0), "bits", 12);
  setInt(b.op("reveal", {t}, {y}, 1), "to", 1);
  b.output("y", y);
  b.p.set_model_name(name);
  return mustLoad(b);
}

std::map<int, RingTensor> smallInputs(const LoadedPlan &p) {
  return encode1(p, {{"x", HostTensor::floats({2, 3}, {1, 2, 3, 4, 5, 6})}});
}

} // namespace

TEST_CASE("a hello round-trips and malformed ones are refused",
          "[plan][handshake]") {
  Hello h = sample();
  std::array<uint8_t, kHelloBytes> b = encodeHello(h);
  auto back = parseHello(b);
  REQUIRE(bool(back));
  CHECK(back->role == h.role);
  CHECK(back->peerRole == h.peerRole);
  CHECK(back->flags == h.flags);
  CHECK(back->windowMiB == h.windowMiB);
  CHECK(back->digest == h.digest);
  CHECK(back->session == h.session);
  CHECK(back->binding == h.binding);

  auto refused = [&](std::vector<uint8_t> bytes, const char *what) {
    auto r = parseHello(bytes);
    REQUIRE_FALSE(bool(r));
    CHECK_THAT(llvm::toString(r.takeError()), Contains(what));
  };
  std::vector<uint8_t> good(b.begin(), b.end());
  refused({}, "a hello is 124 bytes, not 0");
  refused(std::vector<uint8_t>(good.begin(), good.end() - 1), "not 123");
  auto with = [&](size_t at, uint8_t v) {
    std::vector<uint8_t> x = good;
    x[at] = v;
    return x;
  };
  refused(with(0, 'X'), "not an mpc-run peer");
  refused(with(7, '1'), "hello version 1"); // an mpc-run of before TLS
  refused(with(7, '2'), "hello version 2"); // one of before kMaterialReceived
  refused(with(8, 4), "hello version 4");
  // The version's digit, not its number, in the magic (a fuzzer finding).
  refused(with(7, 3), "not an mpc-run peer");
  refused(with(12, 9), "plan format version 9");
  refused(with(16, 3), "claims role 3");
  refused(with(17, 7), "names role 7");
  refused(with(18, 1), "reserved");
  refused(with(20, 2), "unknown flags");
}

TEST_CASE("the receiver checks roles, plan, session and binding",
          "[plan][handshake]") {
  Hello h = sample(); // the dealer to party 1
  HelloExpectation e = expectFor(h, 1);
  CHECK(errorOf(checkHello(h, e, "the dealer")) == "");

  Hello wrong = h;
  wrong.role = 0;
  CHECK_THAT(errorOf(checkHello(wrong, e, "the dealer")),
             Contains("the dealer is party 0, expected dealer"));
  wrong = h;
  wrong.peerRole = 0;
  CHECK_THAT(errorOf(checkHello(wrong, e, "the dealer")),
             Contains("believes it talks to party 0, but this is party 1"));
  // Without TLS a dealer cannot know whom it talks to; with TLS it must.
  wrong = h;
  wrong.peerRole = kAnyRole;
  CHECK(errorOf(checkHello(wrong, e, "the dealer")) == "");
  e.authenticated = true;
  CHECK_THAT(errorOf(checkHello(wrong, e, "the dealer")),
             Contains("believes it talks to any role"));
  e.authenticated = false;
  wrong = h;
  wrong.binding[5] ^= 1;
  CHECK_THAT(errorOf(checkHello(wrong, e, "the dealer")),
             Contains("bound to another connection"));
  wrong = h;
  wrong.digest[0] ^= 1;
  CHECK_THAT(errorOf(checkHello(wrong, e, "the dealer")),
             Contains("runs a different plan"));
  wrong = h;
  wrong.session = {};
  CHECK_THAT(errorOf(checkHello(wrong, e, "the dealer")),
             Contains("sent no session id"));

  // Party 0 to party 1: the session must be the one party 1 got.
  Hello p0 = h;
  p0.role = 0;
  HelloExpectation e1 = expectFor(p0, 1);
  SessionId mine = h.session;
  e1.session = &mine;
  CHECK(errorOf(checkHello(p0, e1, "party 0")) == "");
  mine[0] ^= 1;
  CHECK_THAT(errorOf(checkHello(p0, e1, "party 0")),
             Contains("party 0 is in another session of the dealer"));

  // A dealer without TLS accepts either party, never a second dealer.
  HelloExpectation ed = expectFor(p0, kDealerRole);
  ed.peer = kAnyRole;
  Hello fromP0 = p0;
  fromP0.peerRole = kDealerRole;
  CHECK(errorOf(checkHello(fromP0, ed, "peer")) == "");
  fromP0.role = kDealerRole;
  CHECK_THAT(errorOf(checkHello(fromP0, ed, "peer")),
             Contains("is dealer, expected any role"));
}

TEST_CASE("parties of two dealers' sessions cannot be spliced",
          "[plan][handshake]") {
  // Dealer A serves party 0 and party 1'; dealer B serves party 0' and
  // party 1; party 0 is connected to party 1 and party 1' to party 0'. Each
  // pair's hellos carry different session ids.
  LoadedPlan plan = smallPlan();
  auto [a0, a1] = MemChannel::pair();  // party 0  <-> party 1
  auto [x1, x0] = MemChannel::pair();  // party 1' <-> party 0'
  auto [p0A, A0] = MemChannel::pair(); // party 0  <-> dealer A
  auto [p1A, A1] = MemChannel::pair(); // party 1' <-> dealer A
  auto [p0B, B0] = MemChannel::pair(); // party 0' <-> dealer B
  auto [p1B, B1] = MemChannel::pair(); // party 1  <-> dealer B
  auto dealer = [&](Channel &c0, Channel &c1) {
    return std::async(std::launch::async, [&] {
      auto r = runDealer(plan, c0, c1);
      return errorOf(std::move(r));
    });
  };
  auto party = [&](int id, MemChannel &peer, MemChannel &d) {
    return std::async(std::launch::async, [&, id] {
      PartyData data;
      if (id == 1)
        data.inputs = smallInputs(plan);
      auto r = runParty(id, plan, std::move(data), peer, d);
      peer.close();
      d.close();
      return errorOf(std::move(r));
    });
  };
  auto dA = dealer(*A0, *A1), dB = dealer(*B0, *B1);
  auto r0 = party(0, *a0, *p0A), r1 = party(1, *a1, *p1B);
  auto r1x = party(1, *x1, *p1A), r0x = party(0, *x0, *p0B);
  for (auto *f : {&r0, &r1, &r1x, &r0x})
    CHECK_THAT(f->get(), Contains("in another session of the dealer"));
  dA.get();
  dB.get();
}

TEST_CASE("over TLS the dealer takes the role from the certificate",
          "[plan][handshake]") {
  // Party 1 presents its own certificate but its hello claims party 0.
  LoadedPlan plan = smallPlan();
  auto idD = Identity::generate("dealer"), id0 = Identity::generate("party0"),
       id1 = Identity::generate("party1");
  REQUIRE(bool(idD));
  REQUIRE(bool(id0));
  REQUIRE(bool(id1));
  Fingerprint fD = idD->fingerprint(), f0 = id0->fingerprint(),
              f1 = id1->fingerprint();
  auto tD = TlsContext::create(std::move(*idD), {{0, f0}, {1, f1}});
  auto t1 = TlsContext::create(std::move(*id1), {{0, f0}, {kDealerRole, fD}});
  REQUIRE(bool(tD));
  REQUIRE(bool(t1));
  auto [server, client] = tcpPair();
  auto acc = std::async(std::launch::async, [&, &server = server] {
    return (*tD)->accept(std::move(server), {0, 1});
  });
  auto c = (*t1)->connect(std::move(client), kDealerRole);
  auto s = acc.get();
  REQUIRE(errorOf(s.takeError()) == "");
  REQUIRE(errorOf(c.takeError()) == "");
  REQUIRE((*s)->authenticatedRole() == 1);
  // The impostor's side: a hello that claims party 0.
  auto impostor = std::async(std::launch::async, [&, &ch = **c] {
    Hello h;
    h.role = 0;
    h.peerRole = kDealerRole;
    h.digest = plan.digest;
    h.binding = ch.binding();
    std::array<uint8_t, kHelloBytes> out = encodeHello(h), in{};
    return errorOf(ch.exchange(out, in));
  });
  auto [m0, md] = MemChannel::pair(); // the dealer's other link: unused
  auto r = runDealer(plan, **s, *md);
  std::string msg = errorOf(std::move(r));
  CHECK_THAT(msg, Contains("party 1 at 127.0.0.1:"));
  CHECK_THAT(msg, Contains("is party 0, expected party 1 (its certificate "
                           "says so)"));
  impostor.get();
}
