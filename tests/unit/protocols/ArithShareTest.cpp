//===- tests/unit/protocols/ArithShareTest.cpp - Sharing and opening ------===//
//
// shareFromOwner and reveal between two real parties (in-memory and loopback
// TCP): the shares add up to the owner's value, openings reach exactly the
// recipient(s), and the measured traffic equals the cost formulas.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Arith.h"

#include "../TwoParty.h"
#include "ArithTestUtil.h"

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

int noMaterial(Corr &) { return 0; }

/// Runs shareFromOwner as a (communication-free) protocol.
Proto<RingTensor> shareOnly(Party &p, int owner, const RingTensor *x,
                            Shape shape) {
  co_return shareFromOwner(p, owner, p.id() == owner ? x : nullptr, shape);
}

/// Shares x from its owner, then opens it to \p to.
Proto<RingTensor> shareThenReveal(Party &p, int owner, const RingTensor *x,
                                  Shape shape, int to) {
  RingTensor s = shareFromOwner(p, owner, p.id() == owner ? x : nullptr, shape);
  co_return co_await reveal(p, std::move(s), to);
}

} // namespace

TEST_CASE("shareFromOwner splits a value without traffic", "[arith]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  int owner = GENERATE(0, 1);
  std::mt19937_64 rng(11 + owner);
  Shape shape{3, 4, 5};
  RingTensor x = randomRing(rng, shape);

  auto run = runTwoParty(
      noMaterial,
      [&](Party &p, const int &) { return shareOnly(p, owner, &x, shape); },
      link);
  REQUIRE(countMismatches(reconstruct(run.out[0], run.out[1]), x) == 0);
  // The non-owner's share is a PRG draw, not the value.
  CHECK(countMismatches(run.out[1 - owner], x) == x.size());
  requireTrafficMatches(run.measured, shareCost(x.size()));
  CHECK(run.measured.bytes01 == 0);
  CHECK(run.measured.bytes10 == 0);
}

TEST_CASE("reveal opens shares to party 0, party 1 or both", "[arith]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  int to = GENERATE(0, 1, kToBoth);
  std::mt19937_64 rng(21);
  RingTensor x = randomRing(rng, {7, 9});
  auto shares = splitShares(rng, x);

  auto run = runTwoParty(
      noMaterial,
      [&](Party &p, const int &) { return reveal(p, shares[p.id()], to); },
      link);
  for (int id = 0; id < 2; ++id) {
    if (to == kToBoth || to == id)
      CHECK(countMismatches(run.out[id], x) == 0);
    else
      CHECK(run.out[id].empty());
  }
  requireTrafficMatches(run.measured, revealCost(x.size(), to));
}

TEST_CASE("reveal in a narrow ring truncates exactly at the receiver",
          "[arith]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  int to = GENERATE(0, 1, kToBoth);
  const int ring = 40, bits = 16;
  std::mt19937_64 rng(23);
  // Signed values with |x| < 2^(ring-1), both signs, and ones whose low
  // bits are all zero or all one (the floor's edge cases).
  std::uniform_int_distribution<int64_t> d(-(int64_t(1) << (ring - 2)),
                                           int64_t(1) << (ring - 2));
  Shape shape{5, 40};
  RingTensor x(shape);
  for (int64_t i = 0; i < x.size(); ++i)
    x[i] = u64(d(rng));
  x[0] = u64(int64_t(-1) << bits);
  x[1] = u64((int64_t(-1) << bits) - 1);
  x[2] = u64((int64_t(1) << bits) - 1);
  // Shares of x in the whole ring: their high bits are noise, as those of a
  // narrow product's shares are.
  auto shares = splitShares(rng, x);
  for (int rep = 0; rep < 2; ++rep) {
    auto run = runTwoParty(
        noMaterial,
        [&](Party &p, const int &) {
          return reveal(p, shares[p.id()], to, ring, bits);
        },
        link);
    for (int id = 0; id < 2; ++id) {
      if (to != kToBoth && to != id) {
        CHECK(run.out[id].empty());
        continue;
      }
      REQUIRE(run.out[id].size() == x.size());
      int64_t bad = 0;
      for (int64_t i = 0; i < x.size(); ++i) {
        int64_t v = int64_t(x[i]);
        int64_t floor = v >= 0 ? v / (int64_t(1) << bits)
                               : -((-v + (int64_t(1) << bits) - 1) >> bits);
        bad += int64_t(run.out[id][i]) != floor;
      }
      CHECK(bad == 0);
    }
    requireTrafficMatches(run.measured, revealCost(x.size(), to, ring));
    shares = splitShares(rng, x); // new shares, the same result
  }
  CHECK(revealCost(200, 1, ring).bytes01 == 200 * 40 / 8);
}

TEST_CASE("an owner's input shared then revealed comes back", "[arith]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  std::mt19937_64 rng(31);
  Shape shape{2, 50};
  RingTensor x = randomRing(rng, shape);
  for (int owner = 0; owner < 2; ++owner) {
    auto run = runTwoParty(
        noMaterial,
        [&](Party &p, const int &) {
          return shareThenReveal(p, owner, &x, shape, kToBoth);
        },
        link);
    CHECK(countMismatches(run.out[0], x) == 0);
    CHECK(countMismatches(run.out[1], x) == 0);
    Cost want = shareCost(x.size());
    want.then(revealCost(x.size(), kToBoth));
    requireTrafficMatches(run.measured, want);
  }
}

TEST_CASE("reveal cost formula", "[arith][cost]") {
  CHECK(revealCost(10, 0).bytes10 == 80);
  CHECK(revealCost(10, 0).bytes01 == 0);
  CHECK(revealCost(10, 1).bytes01 == 80);
  CHECK(revealCost(10, kToBoth).bytes01 == 80);
  CHECK(revealCost(10, kToBoth).bytes10 == 80);
  CHECK(revealCost(10, kToBoth).rounds == 1);
  CHECK(revealCost(0, kToBoth).rounds == 0);
}
