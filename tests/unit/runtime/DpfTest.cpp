//===- tests/unit/runtime/DpfTest.cpp - Distributed point functions -------===//
//
// The two keys' outputs add up to the unit vector at alpha, exactly, for
// domains of every shape (1, 2, powers of two and not); point evaluation
// agrees with full evaluation; a changed correction breaks the sum; keys
// round-trip through their bytes, and malformed bytes are errors. Full
// evaluation equals point evaluation for arbitrary keys.
//
//===----------------------------------------------------------------------===//

#include "runtime/Dpf.h"

#include <catch2/catch.hpp>

#include <random>

using namespace mpc::rt;

namespace {

/// The number of x where FullEval(k0)[x] + FullEval(k1)[x] differs from
/// [x == alpha].
size_t wrongOutputs(const DpfKey &k0, const DpfKey &k1, uint64_t alpha) {
  std::vector<u64> a = dpfFullEval(k0), b = dpfFullEval(k1);
  size_t wrong = 0;
  for (uint64_t x = 0; x < k0.domain; ++x)
    wrong += a[x] + b[x] != (x == alpha ? 1u : 0u);
  return wrong;
}

std::string errorText(llvm::Error e) { return llvm::toString(std::move(e)); }

} // namespace

TEST_CASE("DPF keys add up to the point's unit vector", "[dpf]") {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> domains = {1, 2, 3, 4, 5, 7, 8, 9, 64, 100, 1000, 1024};
  for (int i = 0; i < 8; ++i)
    domains.push_back(1 + rng() % 5000);
  for (uint64_t domain : domains) {
    std::vector<uint64_t> points = {0, domain - 1, rng() % domain};
    for (uint64_t alpha : points) {
      CAPTURE(domain, alpha);
      auto [k0, k1] = dpfGen(domain, alpha);
      CHECK(k0.party == 0);
      CHECK(k1.party == 1);
      CHECK(int(k0.cwSeed.size()) == dpfLevels(domain));
      CHECK(wrongOutputs(k0, k1, alpha) == 0);
      std::vector<u64> full0 = dpfFullEval(k0), full1 = dpfFullEval(k1);
      for (uint64_t x : {uint64_t(0), alpha, domain - 1, rng() % domain}) {
        CHECK(dpfEval(k0, x) == full0[x]);
        CHECK(dpfEval(k1, x) == full1[x]);
      }
    }
  }
}

TEST_CASE("DPF full evaluation is point evaluation at every x", "[dpf]") {
  // Full evaluation is the fast, level-at-a-time path; point evaluation
  // walks one path as the definition reads. Arbitrary keys (any seed bits,
  // corrections and control bits, as a hostile party might send) must
  // give the same outputs on both.
  std::mt19937_64 rng(11);
  auto randomBlock = [&] {
    DpfKey::Block b;
    for (uint8_t &c : b)
      c = uint8_t(rng());
    return b;
  };
  for (uint64_t domain : {1, 2, 3, 17, 256, 1000, 4099}) {
    for (int party : {0, 1}) {
      CAPTURE(domain, party);
      DpfKey k;
      k.party = party;
      k.domain = domain;
      k.seed = randomBlock();
      for (int i = 0; i < dpfLevels(domain); ++i) {
        k.cwSeed.push_back(randomBlock());
        k.cwT.push_back(uint8_t(rng() & 3));
      }
      k.cwOut = rng();
      std::vector<u64> full = dpfFullEval(k);
      size_t differ = 0;
      for (uint64_t x = 0; x < domain; ++x)
        differ += full[x] != dpfEval(k, x);
      CHECK(differ == 0);
    }
  }
}

TEST_CASE("DPF key shares are not the plain unit vector", "[dpf]") {
  // Each party's own outputs look random: no single key holds the point.
  auto [k0, k1] = dpfGen(300, 123);
  std::vector<u64> a = dpfFullEval(k0);
  size_t small = 0;
  for (u64 v : a)
    small += v <= 1;
  CHECK(small < 3);
}

TEST_CASE("A changed DPF correction breaks the sum", "[dpf]") {
  uint64_t domain = 777, alpha = 500;
  auto [k0, k1] = dpfGen(domain, alpha);
  REQUIRE(wrongOutputs(k0, k1, alpha) == 0);
  SECTION("seed correction of the first level") {
    DpfKey bad = k1;
    bad.cwSeed[0][5] ^= 0x10;
    CHECK(wrongOutputs(k0, bad, alpha) > 0);
  }
  SECTION("control bit of the last level") {
    DpfKey bad = k0;
    bad.cwT.back() ^= 1;
    CHECK(wrongOutputs(bad, k1, alpha) > 0);
  }
  SECTION("final word") {
    DpfKey bad = k0;
    bad.cwOut += 1;
    CHECK(wrongOutputs(bad, k1, alpha) > 0);
  }
  SECTION("the other party's key") {
    auto [j0, j1] = dpfGen(domain, alpha);
    CHECK(wrongOutputs(k0, j1, alpha) > 0);
  }
}

TEST_CASE("DPF key size is logarithmic in the domain", "[dpf]") {
  CHECK(dpfKeyBytes(1) == 16 + 8);
  CHECK(dpfKeyBytes(2) == 16 + 16 + 8 + 8);
  // bert-base's vocabulary: 15 levels.
  CHECK(dpfLevels(30522) == 15);
  CHECK(dpfKeyBytes(30522) == 16 + 15 * 16 + 8 + 8);
  CHECK(dpfKeyBytes(uint64_t(1) << 40) == 16 + 40 * 16 + 16 + 8);
  for (uint64_t d : {1, 3, 30522, 1 << 20})
    CHECK(dpfKeyBytes(d) % 8 == 0);
}

TEST_CASE("DPF keys round-trip through their bytes", "[dpf]") {
  for (uint64_t domain : {1, 2, 30, 30522}) {
    CAPTURE(domain);
    uint64_t alpha = domain / 3;
    auto [k0, k1] = dpfGen(domain, alpha);
    std::vector<uint8_t> b0, b1;
    serializeDpfKey(k0, b0);
    serializeDpfKey(k1, b1);
    REQUIRE(b0.size() == dpfKeyBytes(domain));
    llvm::Expected<DpfKey> r0 = parseDpfKey(0, domain, b0);
    llvm::Expected<DpfKey> r1 = parseDpfKey(1, domain, b1);
    REQUIRE(bool(r0));
    REQUIRE(bool(r1));
    CHECK(r0->seed == k0.seed);
    CHECK(r1->cwSeed == k1.cwSeed);
    CHECK(r1->cwT == k1.cwT);
    CHECK(r0->cwOut == k0.cwOut);
    if (domain <= 64)
      CHECK(wrongOutputs(*r0, *r1, alpha) == 0);
    else
      CHECK(dpfEval(*r0, alpha) + dpfEval(*r1, alpha) == 1);
  }
}

TEST_CASE("Malformed DPF key bytes are errors", "[dpf]") {
  auto [k0, k1] = dpfGen(100, 3);
  std::vector<uint8_t> b;
  serializeDpfKey(k0, b);
  std::vector<uint8_t> shortKey(b.begin(), b.end() - 1);
  CHECK(errorText(parseDpfKey(0, 100, shortKey).takeError()) ==
        "a DPF key over a domain of 100 is 144 bytes, not 143");
  // 101 also has 7 levels: the same bytes are a key over it.
  CHECK(bool(llvm::expectedToOptional(parseDpfKey(0, 101, b))));
  CHECK(errorText(parseDpfKey(0, 200, b).takeError()) ==
        "a DPF key over a domain of 200 is 160 bytes, not 144");
  CHECK(errorText(parseDpfKey(2, 100, b).takeError()) ==
        "a DPF key belongs to party 0 or 1, not 2");
  CHECK(errorText(parseDpfKey(0, 0, b).takeError()) ==
        "a DPF key's domain must be in [1, 2^40], not 0");
  std::vector<uint8_t> padded = b;
  // 7 levels use 14 bits of the control-bit word at offset 16 + 7 * 16.
  padded[16 + 7 * 16 + 2] |= 0x40;
  CHECK(errorText(parseDpfKey(0, 100, padded).takeError()) ==
        "a DPF key has set padding bits in its control-bit word 0");
}
