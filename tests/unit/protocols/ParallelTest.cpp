//===- tests/unit/protocols/ParallelTest.cpp - Shared rounds -------------===//
//
// whenBoth / whenAll must run their parts in the same rounds: two products
// take one round, a 3-round and a 1-round part take three; bytes add up
// (Cost::alongside); results are right; parts that draw from the common PRG
// stay in step on both parties; nesting works.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Parallel.h"
#include "runtime/protocols/Arith.h"
#include "runtime/protocols/Compare.h"

#include "../TwoParty.h"
#include "CompareTestUtil.h"

#include <catch2/catch.hpp>

#include <random>

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

RingTensor randomRing(int64_t n, std::mt19937_64 &rng) {
  RingTensor t(Shape{n});
  for (int64_t i = 0; i < n; ++i)
    t[i] = rng();
  return t;
}

/// x * y^3 in three sequential rounds.
Proto<RingTensor> cubeTimes(Party &p, RingTensor x, RingTensor y,
                            const std::vector<MulTriple> &ts) {
  for (const MulTriple &t : ts)
    x = co_await mul(p, x, y, t);
  co_return x;
}

} // namespace

TEST_CASE("two products in parallel take one round", "[parallel]") {
  auto link = GENERATE(Link::Mem, Link::Tcp);
  std::mt19937_64 rng(1);
  int64_t n1 = 100, n2 = 37;
  RingTensor a = randomRing(n1, rng), b = randomRing(n1, rng);
  RingTensor c = randomRing(n2, rng), d = randomRing(n2, rng);
  auto sa = shareOut(a, rng), sb = shareOut(b, rng), sc = shareOut(c, rng),
       sd = shareOut(d, rng);
  struct Mat {
    MulTriple t1, t2;
  };
  auto res = runTwoParty(
      [&](Corr &corr) {
        return Mat{dealMul(corr, {n1}), dealMul(corr, {n2})};
      },
      [&](Party &p, const Mat &m) {
        int i = p.id();
        return whenBoth(
            p, [&, i](Party &q) { return mul(q, sa[i], sb[i], m.t1); },
            [&, i](Party &q) { return mul(q, sc[i], sd[i], m.t2); });
      },
      link);
  RingTensor ab = reconstruct(res.out[0].first, res.out[1].first);
  RingTensor cd = reconstruct(res.out[0].second, res.out[1].second);
  CHECK(ab.vec() == mul(a, b).vec());
  CHECK(cd.vec() == mul(c, d).vec());
  Cost want = mulCost(n1);
  want.alongside(mulCost(n2));
  CHECK(want.rounds == 1);
  requireTrafficMatches(res.measured, want);
}

TEST_CASE("a 3-round and a 1-round part take three rounds", "[parallel]") {
  std::mt19937_64 rng(2);
  int64_t n = 50;
  RingTensor x = randomRing(n, rng), y = randomRing(n, rng);
  auto sx = shareOut(x, rng), sy = shareOut(y, rng);
  struct Mat {
    std::vector<MulTriple> three;
    MulTriple one;
  };
  auto res = runTwoParty(
      [&](Corr &c) {
        Mat m;
        for (int k = 0; k < 3; ++k)
          m.three.push_back(dealMul(c, {n}));
        m.one = dealMul(c, {n});
        return m;
      },
      [&](Party &p, const Mat &m) {
        int i = p.id();
        // The short part second: it stops contributing after round 1.
        return whenBoth(
            p, [&, i](Party &q) { return cubeTimes(q, sx[i], sy[i], m.three); },
            [&, i](Party &q) { return mul(q, sx[i], sy[i], m.one); });
      });
  RingTensor xy3 = reconstruct(res.out[0].first, res.out[1].first);
  RingTensor xy = reconstruct(res.out[0].second, res.out[1].second);
  CHECK(xy3.vec() == mul(mul(mul(x, y), y), y).vec());
  CHECK(xy.vec() == mul(x, y).vec());
  Cost want = mulCost(n).repeated(3);
  want.alongside(mulCost(n));
  CHECK(want.rounds == 3);
  requireTrafficMatches(res.measured, want);
}

TEST_CASE("whenAll runs N parts, with common-PRG draws in step", "[parallel]") {
  std::mt19937_64 rng(3);
  int64_t n = 70;
  RingTensor x = randomRing(n, rng), y = randomRing(n, rng);
  RingTensor secret = randomRing(n, rng); // party 1's input
  auto sx = shareOut(x, rng), sy = shareOut(y, rng);
  struct Mat {
    MulTriple t1, t2;
    CompareMat cmp;
  };
  std::vector<int64_t> small = domainValues(n, 20, rng);
  RingTensor sv = ringOf(small, {n});
  auto ssv = shareOut(sv, rng);
  auto res = runTwoParty(
      [&](Corr &c) {
        return Mat{dealMul(c, {n}), dealMul(c, {n}),
                   dealLessThanZero(c, {n}, 20)};
      },
      [&](Party &p, const Mat &m) {
        int i = p.id();
        std::vector<std::function<Proto<RingTensor>(Party &)>> parts;
        // Part 0 shares party 1's input from the common PRG, then
        // multiplies; part 1 draws from the common PRG too; part 2 is a
        // 4-round comparison; part 3 is empty (no rounds).
        parts.push_back([&, i](Party &q) -> Proto<RingTensor> {
          RingTensor s =
              shareFromOwner(q, 1, i == 1 ? &secret : nullptr, Shape{n});
          co_return co_await mul(q, s, sy[i], m.t1);
        });
        parts.push_back([&, i](Party &q) -> Proto<RingTensor> {
          RingTensor s = shareFromOwner(q, 0, i == 0 ? &x : nullptr, Shape{n});
          co_return co_await mul(q, s, sx[i], m.t2);
        });
        parts.push_back(
            [&, i](Party &q) { return lessThanZero(q, ssv[i], m.cmp, 20); });
        parts.push_back([](Party &q) -> Proto<RingTensor> {
          co_return RingTensor(Shape{0});
        });
        return whenAll<RingTensor>(p, std::move(parts));
      });
  REQUIRE(res.out[0].size() == 4);
  CHECK(reconstruct(res.out[0][0], res.out[1][0]).vec() ==
        mul(secret, y).vec());
  CHECK(reconstruct(res.out[0][1], res.out[1][1]).vec() == mul(x, x).vec());
  RingTensor lt = reconstruct(res.out[0][2], res.out[1][2]);
  for (int64_t k = 0; k < n; ++k)
    REQUIRE(lt[k] == (small[k] < 0 ? 1u : 0u));
  CHECK(res.out[0][3].size() == 0);
  Cost want = mulCost(n);
  want.alongside(mulCost(n));
  want.alongside(lessThanZeroCost(n, 20));
  CHECK(want.rounds == 3);
  requireTrafficMatches(res.measured, want);
}

TEST_CASE("whenBoth nests", "[parallel]") {
  std::mt19937_64 rng(4);
  int64_t n = 20;
  RingTensor x = randomRing(n, rng), y = randomRing(n, rng);
  auto sx = shareOut(x, rng), sy = shareOut(y, rng);
  struct Mat {
    MulTriple t1, t2, t3;
  };
  auto res = runTwoParty(
      [&](Corr &c) {
        return Mat{dealMul(c, {n}), dealMul(c, {n}), dealMul(c, {n})};
      },
      [&](Party &p, const Mat &m) -> Proto<RingTensor> {
        int i = p.id();
        auto outer = co_await whenBoth(
            p,
            [&, i](Party &q) {
              return whenBoth(
                  q, [&, i](Party &r) { return mul(r, sx[i], sy[i], m.t1); },
                  [&, i](Party &r) { return mul(r, sx[i], sx[i], m.t2); });
            },
            [&, i](Party &q) { return mul(q, sy[i], sy[i], m.t3); });
        RingTensor sum = add(outer.first.first, outer.first.second);
        addInPlace(sum, outer.second);
        co_return sum;
      });
  RingTensor z = reconstruct(res.out[0], res.out[1]);
  RingTensor want = add(add(mul(x, y), mul(x, x)), mul(y, y));
  CHECK(z.vec() == want.vec());
  Cost c = mulCost(n);
  c.alongside(mulCost(n)).alongside(mulCost(n));
  requireTrafficMatches(res.measured, c);
}
