//===- tests/unit/protocols/EmbeddingTest.cpp - Secure embedding lookup ---===//
//
// The three roles of the embedding lookup in one process over in-memory
// links: the parties' shares add up to the table's rows exactly (ids
// including 0 and V-1, vocabularies of several shapes, two lookups in one
// batch), measured bytes on all three links equal the cost formula, and a
// malformed key or an out-of-range id is an error, not a crash.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Embedding.h"

#include "ArithTestUtil.h"

#include <catch2/catch.hpp>

#include <future>

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

/// One table and the ids that read it.
struct Table {
  int64_t id;
  RingTensor t;   ///< [vocab, dim], party 0's weight.
  RingTensor ids; ///< party 1's.
  Shape idsShape;
};

struct Links {
  std::unique_ptr<MemChannel> p0p1, p1p0, p0d, dp0, p1d, dp1;
  Links() {
    std::tie(p0p1, p1p0) = MemChannel::pair();
    std::tie(p0d, dp0) = MemChannel::pair();
    std::tie(p1d, dp1) = MemChannel::pair();
  }
};

struct Outcome {
  std::vector<RingTensor> share[2];
  Cost measured;
};

/// Runs the lookups of \p tables in all three roles.
Outcome runLookups(const std::vector<Table> &tables) {
  Seed maskSeed = randomSeed(), s0 = randomSeed(), s1 = randomSeed();
  WeightMasks m0 = WeightMasks::withSeed(int(Role::P0), maskSeed);
  WeightMasks m1 = WeightMasks::forParty1();
  WeightMasks md = WeightMasks::withSeed(int(Role::Dealer), maskSeed);
  std::vector<EmbedLookup> lookups[2];
  for (const Table &tb : tables) {
    // The session set-up (pwSetup) leaves party 1 with T - B.
    m1.setMasked(tb.id, sub(tb.t, m0.mask(tb.id, tb.t.shape())));
    EmbedLookup l;
    l.weightId = tb.id;
    l.idsShape = tb.idsShape;
    l.vocab = tb.t.dim(0);
    l.dim = tb.t.dim(1);
    lookups[0].push_back(l);
    l.ids = &tb.ids;
    lookups[1].push_back(l);
  }
  std::vector<u64> toP1;
  Corr cd = Corr::dealer(s0, s1, &toP1), c1 = Corr::party(1, s1);
  Links k;
  auto dealer = std::async(std::launch::async, [&] {
    return embedLookupsDealer(*k.dp0, *k.dp1, cd, md, lookups[0]);
  });
  auto party1 = std::async(std::launch::async, [&] {
    return embedLookupsParty1(*k.p1p0, *k.p1d, c1, m1, lookups[1]);
  });
  auto r0 = embedLookupsParty0(*k.p0p1, *k.p0d, m0, lookups[0]);
  auto r1 = party1.get();
  llvm::Error ed = dealer.get();
  if (ed)
    FAIL("dealer: " << llvm::toString(std::move(ed)));
  if (!r0)
    FAIL("party 0: " << llvm::toString(r0.takeError()));
  if (!r1)
    FAIL("party 1: " << llvm::toString(r1.takeError()));
  CHECK(toP1.empty()); // no offline material
  Outcome o;
  o.share[0] = std::move(*r0);
  o.share[1] = std::move(*r1);
  o.measured.rounds = k.p0p1->rounds();
  CHECK(k.p1p0->rounds() == k.p0p1->rounds());
  o.measured.bytes01 = k.p0p1->bytesSent();
  o.measured.bytes10 = k.p1p0->bytesSent();
  o.measured.bytes1D = k.p1d->bytesSent();
  o.measured.bytesD0 = k.dp0->bytesSent();
  CHECK(k.dp1->bytesSent() == 0);
  CHECK(k.p0d->bytesSent() == 0);
  return o;
}

Table makeTable(std::mt19937_64 &rng, int64_t id, int64_t vocab, int64_t dim,
                Shape idsShape) {
  Table tb{id, randomRing(rng, {vocab, dim}), RingTensor(idsShape), idsShape};
  for (int64_t i = 0; i < tb.ids.size(); ++i)
    tb.ids[i] = rng() % vocab;
  // The ends of the vocabulary, always.
  if (tb.ids.size() >= 2) {
    tb.ids[0] = 0;
    tb.ids[1] = u64(vocab - 1);
  }
  return tb;
}

} // namespace

TEST_CASE("Embedding lookup shares add up to the table's rows", "[embed]") {
  std::mt19937_64 rng(11);
  for (auto [vocab, dim] : {std::pair<int64_t, int64_t>{1, 3},
                            {2, 5},
                            {7, 4},
                            {64, 8},
                            {1000, 16},
                            {30522, 2},
                            // Servers draw B 682 rows at a time at d = 768:
                            // four whole blocks and a part.
                            {3000, 768}}) {
    CAPTURE(vocab, dim);
    std::vector<Table> tables = {makeTable(rng, 3, vocab, dim, {2, 5}),
                                 makeTable(rng, 9, 13, dim + 1, {3})};
    Outcome o = runLookups(tables);
    Cost want;
    for (const Table &tb : tables) {
      want.then(embedLookupCost(tb.idsShape, tb.t.dim(0), tb.t.dim(1)));
      // Both lookups share the one round of keys.
      want.rounds = 1;
    }
    CHECK(o.measured.sameTraffic(want));
    CHECK(o.measured.bytesD0 == want.bytesD0);
    for (size_t i = 0; i < tables.size(); ++i) {
      const Table &tb = tables[i];
      int64_t d = tb.t.dim(1);
      RingTensor y = add(o.share[0][i], o.share[1][i]);
      Shape out = tb.idsShape;
      out.push_back(d);
      REQUIRE(y.shape() == out);
      size_t wrong = 0;
      for (int64_t t = 0; t < tb.ids.size(); ++t)
        for (int64_t j = 0; j < d; ++j)
          wrong += y[t * d + j] != tb.t[int64_t(tb.ids[t]) * d + j];
      CHECK(wrong == 0);
      // A share alone is not the row.
      CHECK(o.share[0][i][0] != tb.t[int64_t(tb.ids[0]) * d]);
    }
  }
}

TEST_CASE("Embedding lookup cost is logarithmic in the vocabulary", "[embed]") {
  // bert-base: 128 tokens, 30522 words of 768.
  Cost c = embedLookupCost({1, 128}, 30522, 768);
  CHECK(c.rounds == 1);
  CHECK(c.bytes10 == 128 * 272);
  CHECK(c.bytes1D == 128 * 272);
  CHECK(c.bytesD0 == 128 * 768 * 8);
  CHECK(c.bytes01 == 0);
  CHECK(c.dealerBytes1 == 0);
  CHECK(embedLookupCost({0}, 30522, 768).sameTraffic(Cost()));
}

TEST_CASE("Embedding lookup rejects bad ids and malformed keys", "[embed]") {
  std::mt19937_64 rng(5);
  Table tb = makeTable(rng, 1, 100, 4, {3});
  Seed maskSeed = randomSeed();
  WeightMasks m0 = WeightMasks::withSeed(int(Role::P0), maskSeed);
  EmbedLookup l;
  l.weightId = tb.id;
  l.idsShape = tb.idsShape;
  l.vocab = 100;
  l.dim = 4;

  SECTION("an id outside the vocabulary, on party 1") {
    WeightMasks m1 = WeightMasks::forParty1();
    m1.setMasked(tb.id, sub(tb.t, m0.mask(tb.id, tb.t.shape())));
    tb.ids[2] = 100;
    l.ids = &tb.ids;
    Links k;
    Corr c1 = Corr::party(1, randomSeed());
    auto r = embedLookupsParty1(*k.p1p0, *k.p1d, c1, m1, {l});
    REQUIRE_FALSE(bool(r));
    CHECK(llvm::toString(r.takeError()) ==
          "embedding lookup 0: token id 100 at index 2 is outside [0, 100)");
    CHECK(k.p1p0->bytesSent() == 0);
  }
  SECTION("a key with set padding bits, on party 0") {
    Links k;
    // Keys of the right size whose control-bit word (after the seed and 7
    // level corrections) has bits beyond the 7 levels' 14.
    std::vector<u64> keys(3 * embedKeyWords(100), 0);
    keys[embedKeyWords(100) + (16 + 7 * 16) / 8] = u64(1) << 20;
    REQUIRE(!sendWords(*k.p1p0, keys));
    auto r = embedLookupsParty0(*k.p0p1, *k.p0d, m0, {l});
    REQUIRE_FALSE(bool(r));
    CHECK(llvm::toString(r.takeError()) ==
          "embedding lookup 0: key from party 1: token 1: a DPF key has set "
          "padding bits in its control-bit word 0");
  }
}
