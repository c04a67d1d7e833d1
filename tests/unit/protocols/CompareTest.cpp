//===- tests/unit/protocols/CompareTest.cpp - Two-party sign tests --------===//
//
// lessThanZero and lessThanZeroBits must be exact for every |x| < 2^bits:
// zero errors over 10^5 values spread over all magnitudes for the bit
// widths the compiler uses, and over every width 1..63 on fewer values.
// Measured rounds and bytes (each way, and dealer to party 1) must equal the
// cost formulas exactly, including sizes that exercise bit-packing padding,
// over in-memory and TCP links. Out-of-domain inputs give a documented,
// deterministic answer (bit K of x), not garbage.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Compare.h"

#include "../TwoParty.h"
#include "CompareTestUtil.h"

#include <catch2/catch.hpp>

#include <random>

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

/// Runs lessThanZero on shares of \p v; returns the opened result.
RingTensor runLtz(const std::vector<int64_t> &v, int bits, Link link,
                  Cost *measured, std::mt19937_64 &rng) {
  int64_t n = int64_t(v.size());
  RingTensor x = ringOf(v, {n});
  auto sh = shareOut(x, rng);
  auto res =
      runTwoParty([&](Corr &c) { return dealLessThanZero(c, {n}, bits); },
                  [&](Party &p, const CompareMat &m) {
                    return lessThanZero(p, sh[p.id()], m, bits);
                  },
                  link);
  *measured = res.measured;
  return reconstruct(res.out[0], res.out[1]);
}

/// Runs lessThanZeroBits on shares of \p v (with a coarse or wide tree as
/// \p form says); returns the opened bits.
std::vector<int> runLtzBits(const std::vector<int64_t> &v, int bits, Link link,
                            Cost *measured, std::mt19937_64 &rng,
                            TreeForm form = {}) {
  int64_t n = int64_t(v.size());
  RingTensor x = ringOf(v, {n});
  auto sh = shareOut(x, rng);
  auto res = runTwoParty(
      [&](Corr &c) { return dealLessThanZeroBits(c, {n}, bits, form); },
      [&](Party &p, const LtzBitsMat &m) {
        return lessThanZeroBits(p, sh[p.id()], m, bits);
      },
      link);
  *measured = res.measured;
  return openBits(res.out[0], res.out[1]);
}

/// Runs lessThanZeroBitsOfPublic on x = D + A: A a mask known to the
/// "dealer" (this test), D = x - A public; returns the opened bits.
std::vector<int> runLtzBitsOfPublic(const std::vector<int64_t> &v, int bits,
                                    Link link, Cost *measured,
                                    std::mt19937_64 &rng) {
  int64_t n = int64_t(v.size());
  RingTensor x = ringOf(v, {n}), a(Shape{n}), minusA(Shape{n});
  std::vector<u64> c(n);
  for (int64_t i = 0; i < n; ++i) {
    a[i] = rng();
    minusA[i] = u64(0) - a[i];
    c[i] = x[i] - a[i] + (u64(1) << bits); // D + 2^K
  }
  auto res = runTwoParty(
      [&](Corr &cr) {
        return dealLessThanZeroBitsKnown(cr, {n}, bits, [&] { return minusA; });
      },
      [&](Party &p, const LtzBitsMat &m) {
        return lessThanZeroBitsOfPublic(p, c, {n}, m, bits);
      },
      link);
  *measured = res.measured;
  return openBits(res.out[0], res.out[1]);
}

} // namespace

TEST_CASE("the sign test of a premasked value is exact and skips an opening",
          "[compare]") {
  auto link = GENERATE(Link::Mem, Link::Tcp);
  for (int bits : {1, 6, 7, 24, 25, 32, 62, 63})
    for (int64_t n : {1, 65, 3000}) {
      INFO("bits = " << bits << ", n = " << n);
      std::mt19937_64 rng(n * 1000 + bits);
      std::vector<int64_t> v = domainValues(n, bits, rng);
      Cost measured;
      std::vector<int> b = runLtzBitsOfPublic(v, bits, link, &measured, rng);
      int64_t errors = 0;
      for (int64_t i = 0; i < n; ++i)
        errors += b[i] != (v[i] < 0 ? 1 : 0);
      CHECK(errors == 0);
      Cost f = lessThanZeroBitsOfPublicCost(n, bits),
           full = lessThanZeroBitsCost(n, bits);
      requireTrafficMatches(measured, f);
      CHECK(f.rounds + 1 == full.rounds);
      CHECK(f.bytes01 + (uint64_t(n) * (bits + 1) + 63) / 64 * 8 ==
            full.bytes01);
      CHECK(f.dealerBytes1 == full.dealerBytes1);
    }
}

TEST_CASE("lessThanZero is exact on 10^5 values over the whole domain",
          "[compare]") {
  for (int bits : {8, 20, 36, 62}) {
    INFO("bits = " << bits);
    std::mt19937_64 rng(1000 + bits);
    std::vector<int64_t> v = domainValues(100000, bits, rng);
    Cost measured;
    RingTensor z = runLtz(v, bits, Link::Mem, &measured, rng);
    int64_t errors = 0;
    for (size_t i = 0; i < v.size(); ++i)
      errors += z[i] != (v[i] < 0 ? 1u : 0u);
    CHECK(errors == 0);
    requireTrafficMatches(measured, lessThanZeroCost(int64_t(v.size()), bits));
  }
}

TEST_CASE("lessThanZeroBits is exact for every width 1..63", "[compare]") {
  for (int bits = 1; bits <= kMaxCompareBits; ++bits) {
    INFO("bits = " << bits);
    std::mt19937_64 rng(bits);
    std::vector<int64_t> v = domainValues(2000, bits, rng);
    Cost measured;
    std::vector<int> b = runLtzBits(v, bits, Link::Mem, &measured, rng);
    int64_t errors = 0;
    for (size_t i = 0; i < v.size(); ++i)
      errors += b[i] != (v[i] < 0 ? 1 : 0);
    CHECK(errors == 0);
    requireTrafficMatches(measured,
                          lessThanZeroBitsCost(int64_t(v.size()), bits));
  }
}

TEST_CASE("a coarse sign test blurs only the band just below zero",
          "[compare]") {
  struct Case {
    int bits, skip;
  };
  // Softmax's max at frac 16, range 15 (33, 9); a reciprocal's thresholds
  // (25, 1); wide and narrow trees.
  for (Case c : {Case{33, 9}, Case{25, 1}, Case{40, 16}, Case{12, 6}}) {
    INFO("bits " << c.bits << ", skip " << c.skip);
    std::mt19937_64 rng(c.bits * 64 + c.skip);
    int64_t band = int64_t(1) << c.skip;
    int64_t top = (int64_t(1) << c.bits) - band - 1; // the domain's edge
    std::vector<int64_t> v = domainValues(3000, c.bits - 1, rng);
    for (int64_t e : {-band - 1, -band, -band + 1, int64_t(-1), int64_t(0),
                      int64_t(1), top, -top, top - band, -top + band})
      for (int k = 0; k < 20; ++k)
        v.push_back(e);
    for (int k = 0; k < 200; ++k) // inside the band
      v.push_back(-1 - int64_t(rng() % uint64_t(band)));
    Cost measured;
    std::vector<int> b =
        runLtzBits(v, c.bits, Link::Mem, &measured, rng, TreeForm(c.skip));
    int64_t errors = 0, blurred = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      bool inBand = v[i] < 0 && v[i] >= -band;
      if (inBand)
        blurred += b[i] == 0;
      else
        errors += b[i] != (v[i] < 0 ? 1 : 0);
    }
    CHECK(errors == 0);
    // x = -1 reads as >= 0 unless the mask's low skip bits are all 0: the
    // test is really coarse.
    CHECK(blurred > 0);
    requireTrafficMatches(
        measured,
        lessThanZeroBitsCost(int64_t(v.size()), c.bits, TreeForm(c.skip)));
  }
  // A round fewer where the tree drops to 24 bits, and fewer bytes.
  CHECK(lessThanZeroBitsCost(64, 33, TreeForm(9)).rounds == 2);
  CHECK(lessThanZeroBitsCost(64, 33).rounds == 3);
  CHECK(lessThanZeroBitsCost(640, 33, TreeForm(9)).bytes01 <
        lessThanZeroBitsCost(640, 33).bytes01);
}

TEST_CASE("a wide tree is exact and one level for 25..48 bits", "[compare]") {
  for (int bits : {25, 31, 43, 48, 49}) {
    INFO("bits " << bits);
    std::mt19937_64 rng(bits * 7);
    std::vector<int64_t> v = domainValues(3000, bits, rng);
    Cost measured;
    TreeForm wide(0, /*wide=*/true);
    std::vector<int> b = runLtzBits(v, bits, Link::Mem, &measured, rng, wide);
    int64_t errors = 0;
    for (size_t i = 0; i < v.size(); ++i)
      errors += b[i] != (v[i] < 0 ? 1 : 0);
    CHECK(errors == 0);
    Cost f = lessThanZeroBitsCost(int64_t(v.size()), bits, wide);
    requireTrafficMatches(measured, f);
    Cost narrow = lessThanZeroBitsCost(int64_t(v.size()), bits);
    // Beyond 48 bits the wide form is the narrow one (fan-in would pass 8).
    CHECK(f.rounds == (bits <= 48 ? 2u : 3u));
    CHECK(narrow.rounds == 3);
    if (bits <= 48)
      CHECK(f.dealerBytes1 > narrow.dealerBytes1);
  }
}

TEST_CASE("comparison traffic equals the formula at padding sizes",
          "[compare]") {
  auto link = GENERATE(Link::Mem, Link::Tcp);
  for (int bits : {3, 8, 24, 25, 62, 63})
    for (int64_t n : {1, 5, 63, 64, 65, 127, 129, 1001}) {
      INFO("bits = " << bits << ", n = " << n);
      std::mt19937_64 rng(n * 100 + bits);
      std::vector<int64_t> v = domainValues(n, bits, rng);
      Cost measured;
      std::vector<int> b = runLtzBits(v, bits, link, &measured, rng);
      for (int64_t i = 0; i < n; ++i)
        REQUIRE(b[i] == (v[i] < 0 ? 1 : 0));
      requireTrafficMatches(measured, lessThanZeroBitsCost(n, bits));
      if (bits <= 62) {
        RingTensor z = runLtz(v, bits, link, &measured, rng);
        for (int64_t i = 0; i < n; ++i)
          REQUIRE(z[i] == (v[i] < 0 ? 1u : 0u));
        requireTrafficMatches(measured, lessThanZeroCost(n, bits));
      }
    }
}

TEST_CASE("lessThanZero over TCP on a larger batch", "[compare][tcp]") {
  std::mt19937_64 rng(7);
  std::vector<int64_t> v = domainValues(20000, 62, rng);
  Cost measured;
  RingTensor z = runLtz(v, 62, Link::Tcp, &measured, rng);
  int64_t errors = 0;
  for (size_t i = 0; i < v.size(); ++i)
    errors += z[i] != (v[i] < 0 ? 1u : 0u);
  CHECK(errors == 0);
  requireTrafficMatches(measured, lessThanZeroCost(20000, 62));
}

TEST_CASE("an empty tensor costs nothing", "[compare]") {
  std::mt19937_64 rng(3);
  Cost measured;
  RingTensor z = runLtz({}, 20, Link::Mem, &measured, rng);
  CHECK(z.size() == 0);
  CHECK(measured.rounds == 0);
  CHECK(measured.bytes01 == 0);
  CHECK(measured.dealerBytes1 == 0);
  CHECK(lessThanZeroCost(0, 20).sameTraffic(Cost{}));
}

TEST_CASE("out-of-domain inputs give bit K of x, deterministically",
          "[compare]") {
  // Documented behaviour, not a guarantee to rely on: the protocol computes
  // bit K of (x + 2^K) mod 2^(K+1) exactly, i.e. [x < 0] of x wrapped into
  // [-2^K, 2^K). So 2^K reads as negative and -2^K - 1 as positive.
  const int bits = 8;
  std::vector<int64_t> v = {256,  257,  511,  512,   -257,
                            -300, -512, 1000, -1000, int64_t(1) << 40};
  std::mt19937_64 rng(11);
  for (int rep = 0; rep < 3; ++rep) {
    Cost measured;
    RingTensor z = runLtz(v, bits, Link::Mem, &measured, rng);
    for (size_t i = 0; i < v.size(); ++i) {
      INFO("x = " << v[i]);
      CHECK(z[i] == ((uint64_t(v[i]) >> bits) & 1));
    }
  }
  CHECK(((uint64_t(256) >> bits) & 1) == 1); // 2^K reads as negative.
}

TEST_CASE("comparison cost figures per element", "[compare][cost]") {
  // 64 elements make every bit count a whole number of bytes.
  // K = 62: open 63 bits; 16 leaves -> 4 nodes (27 opened bits) -> root (6):
  // 96 bits each way in 3 rounds; dealer: r_K + 224 table bits + 96
  // monomials = 321 bits.
  Cost c62 = lessThanZeroBitsCost(64, 62);
  CHECK(c62.rounds == 3);
  CHECK(c62.bytes01 == 96 * 8);
  CHECK(c62.bytes10 == 96 * 8);
  CHECK(c62.dealerBytes1 == 321 * 8);
  // K = 24: open 25 bits; 4 leaves of 6 bits -> root (6): 31 bits, 2
  // rounds; dealer: 1 + 4 * 63 + 15 = 268 bits.
  Cost c24 = lessThanZeroBitsCost(64, 24);
  CHECK(c24.rounds == 2);
  CHECK(c24.bytes01 == 31 * 8);
  CHECK(c24.dealerBytes1 == 268 * 8);
  // ReLU opens c in K + 2 bits (64 at most), then one bit; the dealer adds
  // rho, the two candidates q and q * rho (five words): K = 24: 3.25 + 0.75
  // + 0.125 bytes each way, 33.5 + 40 dealer bytes; K = 62: 8 + 4.125 +
  // 0.125 and 40.125 + 40.
  CHECK(reluCost(64, 24).bytes01 == 64 * 26 / 8 + 6 * 8 + 8);
  CHECK(reluCost(64, 24).dealerBytes1 == 268 * 8 + 5 * 64 * 8);
  CHECK(reluCost(64, 62).bytes10 == 64 * 8 + 33 * 8 + 8);
  CHECK(reluCost(64, 62).dealerBytes1 == 321 * 8 + 5 * 64 * 8);
  // The arithmetic result and ReLU add one round each.
  CHECK(lessThanZeroCost(64, 62).rounds == 4);
  CHECK(lessThanZeroCost(64, 24).rounds == 3);
  CHECK(reluCost(64, 62).rounds == 4);
  CHECK(reluCost(64, 24).rounds == 3);
  // Rounds by width: 1 group up to 6 bits, 4 groups up to 24 bits.
  CHECK(lessThanZeroBitsCost(10, 6).rounds == 1);
  CHECK(lessThanZeroBitsCost(10, 7).rounds == 2);
  CHECK(lessThanZeroBitsCost(10, 25).rounds == 3);
  CHECK(lessThanZeroBitsCost(10, 63).rounds == 3);
}

TEST_CASE("bitToArith converts XOR-shared bits", "[compare]") {
  for (int64_t n : {1, 64, 100, 5000}) {
    std::mt19937_64 rng(n);
    std::vector<int> bits(n);
    for (int &b : bits)
      b = int(rng() & 1);
    auto sb = shareBits(bits, {n}, rng);
    auto res = runTwoParty([&](Corr &c) { return dealBitToArith(c, {n}); },
                           [&](Party &p, const BitToArithMat &m) {
                             return bitToArith(p, sb[p.id()], m);
                           });
    RingTensor z = reconstruct(res.out[0], res.out[1]);
    for (int64_t i = 0; i < n; ++i)
      REQUIRE(z[i] == uint64_t(bits[i]));
    requireTrafficMatches(res.measured, bitToArithCost(n));
  }
}

TEST_CASE("mulBit multiplies by an XOR-shared bit", "[compare]") {
  for (int64_t n : {1, 63, 65, 4000}) {
    std::mt19937_64 rng(n + 1);
    std::vector<int> bits(n);
    for (int &b : bits)
      b = int(rng() & 1);
    RingTensor y(Shape{n});
    for (int64_t i = 0; i < n; ++i)
      y[i] = rng();
    auto sb = shareBits(bits, {n}, rng);
    auto sy = shareOut(y, rng);
    auto res = runTwoParty([&](Corr &c) { return dealMulBit(c, {n}); },
                           [&](Party &p, const MulBitMat &m) {
                             return mulBit(p, sb[p.id()], sy[p.id()], m);
                           });
    RingTensor z = reconstruct(res.out[0], res.out[1]);
    for (int64_t i = 0; i < n; ++i)
      REQUIRE(z[i] == (bits[i] ? y[i] : 0));
    requireTrafficMatches(res.measured, mulBitCost(n));
  }
}
