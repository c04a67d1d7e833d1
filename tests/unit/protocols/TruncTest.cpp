//===- tests/unit/protocols/TruncTest.cpp - Dealer-assisted truncation ----===//
//
// The one-round truncation between two real parties. Over more than a
// million elements per scale, with values pressed against the ends of the
// domain |x| < 2^62, every result must be floor(x/2^f) or floor(x/2^f) + 1:
// no rare garbage. Further tests check that the +1 comes with probability
// frac(x/2^f) (unbiased stochastic rounding) and document what happens
// outside the domain. In a narrow ring of L bits the same holds for
// |x| < 2^(L-2), from shares that are right mod 2^L only.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Trunc.h"

#include "../TwoParty.h"
#include "ArithTestUtil.h"

#include <cmath>

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

constexpr int64_t kLimit = (int64_t(1) << 62) - 1; ///< Largest |x| allowed.

/// Edge cases first, then a mix of values at the top of the range (both
/// signs), uniform values over the whole domain and small values.
RingTensor truncInputs(std::mt19937_64 &rng, int64_t n, int f) {
  const int64_t p61 = int64_t(1) << 61, pf = int64_t(1) << f;
  std::vector<int64_t> edges = {
      0,       -1,     1,       kLimit,   -kLimit, kLimit - 1, -kLimit + 1,
      p61,     -p61,   p61 - 1, -p61 + 1, pf,      -pf,        pf - 1,
      -pf + 1, pf + 1, -pf - 1, 2 * pf,   -2 * pf};
  const u64 low40 = (u64(1) << 40) - 1, low24 = (u64(1) << 24) - 1;
  RingTensor x(Shape{n});
  for (int64_t i = 0; i < n; ++i) {
    int64_t v;
    if (i < int64_t(edges.size()))
      v = edges[i];
    else if (i % 4 == 0)
      v = kLimit - int64_t(rng() & low40);
    else if (i % 4 == 1)
      v = -kLimit + int64_t(rng() & low40);
    else if (i % 4 == 2)
      v = int64_t(rng() >> 2) * ((rng() & 1) ? 1 : -1); // |v| < 2^62
    else
      v = int64_t(rng() & low24) - int64_t(1 << 23);
    x[i] = u64(v);
  }
  return x;
}

struct TruncCheck {
  int64_t exact = 0, plusOne = 0, bad = 0, firstBad = -1;
};

/// Classifies each opened result against floor(x / 2^f).
TruncCheck classify(const RingTensor &x, const RingTensor &got, int f) {
  TruncCheck c;
  for (int64_t i = 0; i < x.size(); ++i) {
    u64 want = u64(int64_t(x[i]) >> f);
    u64 diff = got[i] - want;
    if (diff == 0)
      ++c.exact;
    else if (diff == 1)
      ++c.plusOne;
    else if (++c.bad == 1)
      c.firstBad = i;
  }
  return c;
}

auto runTrunc(const RingTensor &x, int f, Link link) {
  std::mt19937_64 rng(0x7275 + f);
  auto xs = splitShares(rng, x);
  Shape shape = x.shape();
  return runTwoParty([&](Corr &c) { return dealTrunc(c, shape, f); },
                     [&](Party &p, const TruncPair &t) {
                       return truncate(p, xs[p.id()], f, t);
                     },
                     link);
}

} // namespace

TEST_CASE("truncate gives floor or floor + 1 on 2^20 elements at the range "
          "limits",
          "[trunc]") {
  int f = GENERATE(12, 16, 24, 32);
  std::mt19937_64 rng(1000 + f);
  const int64_t n = int64_t(1) << 20;
  RingTensor x = truncInputs(rng, n, f);
  auto run = runTrunc(x, f, Link::Mem);
  RingTensor got = reconstruct(run.out[0], run.out[1]);
  TruncCheck c = classify(x, got, f);
  INFO("f = " << f << ": exact " << c.exact << ", plus one " << c.plusOne
              << ", first bad index " << c.firstBad);
  REQUIRE(c.bad == 0);
  CHECK(c.exact + c.plusOne == n);
  requireTrafficMatches(run.measured, truncCost(n));
  CHECK(run.measured.dealerBytes1 == 16 * uint64_t(n));
}

TEST_CASE("truncate in a narrow ring: floor or floor + 1 for |x| < 2^(L-2), "
          "from shares right mod 2^L only",
          "[trunc]") {
  struct Case {
    int ring, f;
  };
  auto link = GENERATE(Link::Mem, Link::Tcp);
  for (Case k : {Case{49, 16}, Case{34, 18}, Case{63, 40}, Case{10, 8},
                 Case{3, 0}, Case{20, 0}}) {
    INFO("L = " << k.ring << ", f = " << k.f);
    const int64_t limit = (int64_t(1) << (k.ring - 2)) - 1;
    std::mt19937_64 rng(7000 + k.ring);
    const int64_t n = 20000;
    RingTensor x(Shape{n});
    for (int64_t i = 0; i < n; ++i) {
      u64 r = rng();
      int64_t span = i % 3 == 0 ? limit : std::min<int64_t>(limit, 1 << 12);
      int64_t v = int64_t(r % u64(span + 1));
      if (i % 7 == 0)
        v = limit - int64_t(r & 15) % (limit + 1); // at the top
      x[i] = u64((r >> 63) ? -v : v);
    }
    x[0] = u64(limit);
    x[1] = u64(-limit);
    x[2] = 0;
    auto xs = splitShares(rng, x);
    // Garbage above bit L, as a product opened mod 2^L leaves it.
    for (int64_t i = 0; i < n && k.ring < 64; ++i)
      xs[1][i] += (rng() >> k.ring) << k.ring;
    auto run =
        runTwoParty([&](Corr &c) { return dealTrunc(c, {n}, k.f, k.ring); },
                    [&](Party &p, const TruncPair &t) {
                      return truncate(p, xs[p.id()], k.f, t, k.ring);
                    },
                    link);
    TruncCheck c = classify(x, reconstruct(run.out[0], run.out[1]), k.f);
    INFO("first bad index " << c.firstBad);
    CHECK(c.bad == 0);
    requireTrafficMatches(run.measured, truncCost(n, k.ring));
    CHECK(run.measured.bytes01 == 8 * uint64_t((n * k.ring + 63) / 64));
  }
}

TEST_CASE("truncate over loopback TCP", "[trunc]") {
  int f = GENERATE(12, 32);
  std::mt19937_64 rng(2000 + f);
  const int64_t n = 1 << 14;
  RingTensor x = truncInputs(rng, n, f);
  auto run = runTrunc(x, f, Link::Tcp);
  TruncCheck c = classify(x, reconstruct(run.out[0], run.out[1]), f);
  INFO("first bad index " << c.firstBad);
  REQUIRE(c.bad == 0);
  requireTrafficMatches(run.measured, truncCost(n));
  CHECK(run.measured.bytes01 == 8 * uint64_t(n));
  CHECK(run.measured.bytes10 == 8 * uint64_t(n));
}

TEST_CASE("truncate at the extreme shifts 0, 1 and 62", "[trunc]") {
  int f = GENERATE(0, 1, 62);
  std::mt19937_64 rng(3000 + f);
  const int64_t n = 1 << 12;
  RingTensor x = truncInputs(rng, n, f == 62 ? 0 : f);
  auto run = runTrunc(x, f, Link::Mem);
  RingTensor got = reconstruct(run.out[0], run.out[1]);
  TruncCheck c = classify(x, got, f);
  INFO("first bad index " << c.firstBad);
  REQUIRE(c.bad == 0);
  if (f == 0)
    CHECK(c.plusOne == 0); // No fraction, no borrow: the identity.
}

TEST_CASE("truncate rounds up with probability frac(x / 2^f)", "[trunc]") {
  // x = k 2^f + q 2^(f-2): frac(x / 2^f) = q / 4. Over 2^16 fresh masks the
  // share of +1 results is within 0.01 of q / 4 (about 6 standard
  // deviations), and a multiple of 2^f is never rounded up.
  const int f = 16;
  const int64_t n = 1 << 16;
  int q = GENERATE(0, 1, 2, 3);
  RingTensor x(Shape{n});
  std::mt19937_64 rng(5000 + q);
  for (int64_t i = 0; i < n; ++i) {
    int64_t k = int64_t(rng() % 2000001) - 1000000;
    x[i] = u64(k * (int64_t(1) << f) + q * (int64_t(1) << (f - 2)));
  }
  auto run = runTrunc(x, f, Link::Mem);
  TruncCheck c = classify(x, reconstruct(run.out[0], run.out[1]), f);
  REQUIRE(c.bad == 0);
  double upRate = double(c.plusOne) / double(n);
  INFO("q = " << q << ": rounded up " << upRate);
  if (q == 0)
    CHECK(c.plusOne == 0);
  else
    CHECK(std::abs(upRate - q / 4.0) < 0.01);
}

// The domain is |x| < 2^62: the bias 2^62 then keeps x' = x + 2^62 in
// [0, 2^63), which is what lets msb(c) reveal whether c = x' + r wrapped.
// Beyond it the wrap bit can be misread with a probability that depends on
// x and the mask; the error is then a multiple of 2^(64-f) (besides the +1),
// i.e. the low 64 - f bits of the result are still right but the value is
// garbage. The
// compiler's scale pass keeps |x| far below 2^62 (DESIGN.md §7); this test
// records the failure mode without asserting that garbage appears.
TEST_CASE("values with |x| >= 2^62 are outside the truncation domain",
          "[trunc]") {
  const int f = 16;
  std::mt19937_64 rng(4000);
  const int64_t n = 1 << 14;
  RingTensor x(Shape{n});
  for (int64_t i = 0; i < n; ++i) {
    // |x| in [2^62, 2^63): past the limit, both signs.
    u64 mag = (u64(1) << 62) | (rng() & ((u64(1) << 62) - 1));
    x[i] = (i & 1) ? u64(-int64_t(mag)) : mag;
  }
  auto run = runTrunc(x, f, Link::Mem);
  RingTensor got = reconstruct(run.out[0], run.out[1]);
  TruncCheck c = classify(x, got, f);
  const u64 lowMask = (u64(1) << (64 - f)) - 1;
  int64_t notWrapError = 0;
  for (int64_t i = 0; i < n; ++i) {
    u64 low = (got[i] - u64(int64_t(x[i]) >> f)) & lowMask;
    notWrapError += low != 0 && low != 1;
  }
  INFO("out of domain: " << c.bad << " of " << n
                         << " results are off by a multiple of 2^(64-f)");
  CHECK(notWrapError == 0);
}

TEST_CASE("truncation cost formula", "[trunc][cost]") {
  Cost c = truncCost(1000);
  CHECK(c.rounds == 1);
  CHECK(c.bytes01 == 8000);
  CHECK(c.bytes10 == 8000);
  CHECK(c.dealerBytes0 == 0);
  CHECK(c.dealerBytes1 == 16000);
  CHECK(truncCost(0).rounds == 0);
}

// --- Exact truncation (--exact-truncation) -----------------------------------

namespace {

/// x with |x| < 2^(L-2) at ring L: edges, the top of the range (both
/// signs), uniform and small values, shared with garbage above bit L on
/// party 1's share (as a product opened mod 2^L leaves it).
std::array<RingTensor, 2> narrowInputs(std::mt19937_64 &rng, int64_t n,
                                       int ring, RingTensor &x) {
  const int64_t limit = ring >= 64 ? kLimit : (int64_t(1) << (ring - 2)) - 1;
  x = RingTensor(Shape{n});
  for (int64_t i = 0; i < n; ++i) {
    u64 r = rng();
    int64_t span = i % 3 == 0 ? limit : std::min<int64_t>(limit, 1 << 12);
    int64_t v = int64_t(r % u64(span) + (i % 5 == 0 ? 1 : 0));
    if (i % 7 == 0)
      v = limit - int64_t(r & 15) % (limit + 1);
    x[i] = u64((r >> 63) ? -v : v);
  }
  x[0] = u64(limit);
  x[1] = u64(-limit);
  x[2] = 0;
  x[3] = u64(-1);
  auto xs = splitShares(rng, x);
  for (int64_t i = 0; i < n && ring < 64; ++i)
    xs[1][i] += (rng() >> ring) << ring;
  return {xs[0], xs[1]};
}

} // namespace

TEST_CASE("truncateExact gives floor(x / 2^f) exactly, in every ring",
          "[trunc][exact]") {
  struct Case {
    int ring, f;
  };
  auto link = GENERATE(Link::Mem, Link::Tcp);
  // f = 1..6 needs no tree level, 7..24 one, 25..62 two; L down to 3.
  for (Case k : {Case{64, 16}, Case{64, 62}, Case{64, 40}, Case{49, 16},
                 Case{34, 18}, Case{63, 40}, Case{10, 8}, Case{8, 6},
                 Case{3, 1}, Case{20, 0}, Case{33, 25}}) {
    INFO("L = " << k.ring << ", f = " << k.f);
    std::mt19937_64 rng(9000 + k.ring * 64 + k.f);
    const int64_t n = 20000;
    RingTensor x;
    auto xs = narrowInputs(rng, n, k.ring, x);
    auto run = runTwoParty(
        [&](Corr &c) { return dealTruncExact(c, {n}, k.f, k.ring); },
        [&](Party &p, const ExactTruncMat &m) {
          return truncateExact(p, xs[p.id()], k.f, m, k.ring);
        },
        link);
    TruncCheck c = classify(x, reconstruct(run.out[0], run.out[1]), k.f);
    INFO("first wrong index " << c.firstBad << ", plus one " << c.plusOne);
    CHECK(c.bad == 0);
    CHECK(c.plusOne == 0);
    CHECK(c.exact == n);
    requireTrafficMatches(run.measured, truncExactCost(n, k.f, k.ring));
  }
}

TEST_CASE("truncateExact is the same floor under fresh masks",
          "[trunc][exact]") {
  // The one-round protocol rounds x = k 2^f + 2^(f-1) up half the time;
  // the exact one never does, whatever the dealer's masks.
  const int f = 16;
  const int64_t n = 1 << 12;
  RingTensor x(Shape{n});
  std::mt19937_64 rng(6000);
  for (int64_t i = 0; i < n; ++i) {
    int64_t k = int64_t(rng() % 2001) - 1000;
    x[i] = u64(k * (int64_t(1) << f) + (int64_t(1) << (f - 1)) + (i % 5));
  }
  RingTensor first;
  for (int run = 0; run < 3; ++run) {
    std::mt19937_64 shareRng(6100 + run);
    auto xs = splitShares(shareRng, x);
    auto r = runTwoParty([&](Corr &c) { return dealTruncExact(c, {n}, f); },
                         [&](Party &p, const ExactTruncMat &m) {
                           return truncateExact(p, xs[p.id()], f, m);
                         },
                         Link::Mem);
    RingTensor got = reconstruct(r.out[0], r.out[1]);
    TruncCheck c = classify(x, got, f);
    REQUIRE(c.exact == n);
    if (run == 0)
      first = got;
    else
      CHECK(got.vec() == first.vec());
  }
}

TEST_CASE("exact truncation cost formula", "[trunc][cost][exact]") {
  // f = 16: the opening, one tree level (3 leaf groups), the borrow's
  // conversion; f = 0 has no borrow and is the one-round protocol.
  Cost c = truncExactCost(1000, 16);
  CHECK(c.rounds == 3);
  Cost tree = lessThanZeroBitsOfPublicCost(1000, 16);
  CHECK(c.bytes01 == 8000 + tree.bytes01 + bitBytes(1000));
  CHECK(c.dealerBytes1 ==
        16000 + tree.dealerBytes1 + bitToArithCost(1000).dealerBytes1);
  CHECK(truncExactCost(1000, 0, 20).sameTraffic(truncCost(1000, 20)));
  CHECK(truncExactCost(1000, 4).rounds == 2);
  CHECK(truncExactCost(1000, 40).rounds == 4);
  CHECK(truncExactCost(0, 16).rounds == 0);
}
