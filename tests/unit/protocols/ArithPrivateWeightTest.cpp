//===- tests/unit/protocols/ArithPrivateWeightTest.cpp - P0's weights -----===//
//
// The private-weight protocols between two real parties: the per-session
// W - B set-up, the linear layer with one and three weights reading the
// same X (shared, or private to party 1 as shares (0, X)), batched X, the
// broadcast element-wise product, exact ring results against plaintext, and
// measured traffic equal to the cost formulas.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Arith.h"
#include "runtime/protocols/Trunc.h"

#include "../TwoParty.h"
#include "ArithTestUtil.h"

#include <cmath>

using namespace mpc::rt;
using namespace mpc::rt::testing;

namespace {

/// The weight masks of one session, per role (P0, P1, dealer).
struct Session {
  Seed seed = randomSeed();
  WeightMasks masks[3] = {WeightMasks::withSeed(int(Role::P0), seed),
                          WeightMasks::forParty1(),
                          WeightMasks::withSeed(int(Role::Dealer), seed)};
  WeightMasks &of(Corr &c) { return masks[int(c.role())]; }
};

int noMaterial(Corr &) { return 0; }

/// Sets up every weight, one after the other.
Proto<int> setupAll(Party &p, WeightMasks &masks, std::vector<int64_t> ids,
                    std::vector<const RingTensor *> ws) {
  int words = 0;
  for (size_t j = 0; j < ids.size(); ++j)
    words += co_await pwSetup(p, masks, ids[j], p.id() == 0 ? ws[j] : nullptr,
                              ws[j]->shape());
  co_return words;
}

/// Runs the set-up of \p ws (ids 0, 1, ...) and checks its traffic.
void setUp(Session &s, const std::vector<RingTensor> &ws, Link link) {
  std::vector<int64_t> ids;
  std::vector<const RingTensor *> ptrs;
  Cost want;
  for (size_t j = 0; j < ws.size(); ++j) {
    ids.push_back(int64_t(j));
    ptrs.push_back(&ws[j]);
    want.then(pwSetupCost(ws[j].shape()));
  }
  auto run = runTwoParty(
      noMaterial,
      [&](Party &p, const int &) {
        return setupAll(p, s.masks[p.id()], ids, ptrs);
      },
      link);
  requireTrafficMatches(run.measured, want);
  CHECK(run.measured.bytes01 == want.setupBytes01);
}

/// Flat index into \p in of element \p i of \p out under numpy broadcasting.
int64_t broadcastIndex(llvm::ArrayRef<int64_t> out, llvm::ArrayRef<int64_t> in,
                       int64_t i) {
  int64_t idx = 0, stride = 1;
  for (int64_t d = 1; d <= int64_t(out.size()); ++d) {
    int64_t coord = i % out[out.size() - d];
    i /= out[out.size() - d];
    if (d <= int64_t(in.size())) {
      int64_t size = in[in.size() - d];
      idx += (size == 1 ? 0 : coord) * stride;
      stride *= size;
    }
  }
  return idx;
}

} // namespace

TEST_CASE("pwSetup sends W - B once and the dealer knows B", "[arith][pw]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  std::mt19937_64 rng(201);
  std::vector<RingTensor> ws = {randomRing(rng, {8, 6}),
                                randomRing(rng, {8, 4}), randomRing(rng, {8})};
  Session s;
  setUp(s, ws, link);
  for (int64_t id = 0; id < 3; ++id) {
    const RingTensor &w = ws[id];
    RingTensor b = s.masks[0].mask(id, w.shape());
    REQUIRE(s.masks[1].hasMasked(id));
    CHECK(countMismatches(s.masks[1].masked(id), sub(w, b)) == 0);
    CHECK(countMismatches(s.masks[2].mask(id, w.shape()), b) == 0);
    // The mask hides W: no element of W - B equals W's.
    CHECK(countMismatches(s.masks[1].masked(id), w) == w.size());
  }
  CHECK_FALSE(s.masks[1].hasMasked(3));
  // Distinct ids and distinct sessions draw distinct masks.
  CHECK(countMismatches(s.masks[0].mask(0, {8, 6}),
                        s.masks[0].mask(1, {8, 6})) == 48);
  Session other;
  CHECK(countMismatches(s.masks[0].mask(0, {8, 6}),
                        other.masks[0].mask(0, {8, 6})) == 48);
}

TEST_CASE("pwLinear is the exact ring product with P0's weights",
          "[arith][pw]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  int numWeights = GENERATE(1, 3);
  bool privateX = GENERATE(false, true);
  std::mt19937_64 rng(202 + numWeights + 10 * privateX);
  Shape xShape{2, 5, 8};
  std::vector<RingTensor> ws;
  std::vector<Shape> wShapes;
  for (int j = 0; j < numWeights; ++j) {
    wShapes.push_back(j == 2 ? Shape{8, 4} : Shape{8, 6});
    ws.push_back(randomRing(rng, wShapes.back()));
  }
  std::vector<int64_t> ids;
  std::vector<const RingTensor *> ptrs;
  for (int j = 0; j < numWeights; ++j) {
    ids.push_back(j);
    ptrs.push_back(&ws[j]);
  }
  Session s;
  setUp(s, ws, link);

  // Two inferences in the same session: fresh A each time, same W - B.
  for (int inference = 0; inference < 2; ++inference) {
    RingTensor x = randomRing(rng, xShape);
    std::array<RingTensor, 2> xs;
    if (privateX)
      xs = {RingTensor(xShape), x}; // Party 1's input as shares (0, X).
    else
      xs = splitShares(rng, x);
    auto run = runTwoParty(
        [&](Corr &c) { return dealPwLinear(c, s.of(c), xShape, ids, wShapes); },
        [&](Party &p, const PwLinearMat &m) {
          std::vector<const RingTensor *> mine;
          if (p.id() == 0)
            mine = ptrs;
          return pwLinear(p, xs[p.id()], mine, m);
        },
        link);
    REQUIRE(run.out[0].size() == size_t(numWeights));
    REQUIRE(run.out[1].size() == size_t(numWeights));
    for (int j = 0; j < numWeights; ++j)
      CHECK(countMismatches(reconstruct(run.out[0][j], run.out[1][j]),
                            naiveMatmul(x, ws[j])) == 0);
    Cost want = pwLinearCost(xShape, wShapes);
    requireTrafficMatches(run.measured, want);
    CHECK(run.measured.bytes01 == 0);
    CHECK(run.measured.bytes10 == 8 * uint64_t(x.size()));
  }
}

TEST_CASE("pwLinear in fixed point, then truncate, is within 1 ulp",
          "[arith][pw][trunc]") {
  // |x.w| at scale 32 fits 44 bits here: the truncation and X - A then
  // travel in 44 or 49 bits instead of 64 (Narrow.h).
  int ring = GENERATE(64, 49, 44);
  INFO("ring " << ring);
  Link link = GENERATE(Link::Mem, Link::Tcp);
  const int f = 16;
  std::mt19937_64 rng(203);
  std::uniform_real_distribution<double> dist(-2, 2);
  Shape xShape{4, 16}, wShape{16, 8}, yShape{4, 8};
  std::vector<double> xr(64), wr(128);
  for (double &v : xr)
    v = dist(rng);
  for (double &v : wr)
    v = dist(rng);
  RingTensor x = encodeTensor(xr, xShape, f), w = encodeTensor(wr, wShape, f);
  std::vector<RingTensor> ws = {w};
  Session s;
  setUp(s, ws, link);
  auto xs = splitShares(rng, x);

  struct Mat {
    PwLinearMat lin;
    TruncPair trunc;
  };
  auto body = [&](Party &p, const Mat &m) -> Proto<RingTensor> {
    std::vector<const RingTensor *> mine;
    if (p.id() == 0)
      mine.push_back(&w);
    std::vector<RingTensor> y =
        co_await pwLinear(p, xs[p.id()], mine, m.lin, ring);
    co_return co_await truncate(p, std::move(y[0]), f, m.trunc, ring);
  };
  auto run = runTwoParty(
      [&](Corr &c) {
        PwLinearMat lin = dealPwLinear(c, s.of(c), xShape, {0}, {wShape});
        return Mat{std::move(lin), dealTrunc(c, yShape, f, ring)};
      },
      body, link);
  std::vector<double> got =
      decodeTensor(reconstruct(run.out[0], run.out[1]), f);
  double ulp = std::ldexp(1.0, -f), worst = 0;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j) {
      double want = 0;
      for (int l = 0; l < 16; ++l)
        want += decodeFixed(x[i * 16 + l], f) * decodeFixed(w[l * 8 + j], f);
      worst = std::max(worst, std::fabs(got[i * 8 + j] - want));
    }
  INFO("worst error " << worst / ulp << " ulp");
  CHECK(worst < ulp * (1 + 1e-9));
  Cost want = pwLinearCost(xShape, {wShape}, ring);
  want.then(truncCost(numElements(yShape), ring));
  requireTrafficMatches(run.measured, want);
}

TEST_CASE("pwMul broadcasts P0's weight over X", "[arith][pw]") {
  Link link = GENERATE(Link::Mem, Link::Tcp);
  Shape wShape = GENERATE(Shape{8}, Shape{5, 1}, Shape{2, 5, 8});
  std::mt19937_64 rng(204 + wShape.size());
  Shape xShape{2, 5, 8};
  RingTensor w = randomRing(rng, wShape);
  std::vector<RingTensor> ws = {w};
  Session s;
  setUp(s, ws, link);
  RingTensor x = randomRing(rng, xShape);
  auto xs = splitShares(rng, x);

  auto run = runTwoParty(
      [&](Corr &c) { return dealPwMul(c, s.of(c), xShape, 0, wShape); },
      [&](Party &p, const PwMulMat &m) {
        return pwMul(p, xs[p.id()], p.id() == 0 ? &w : nullptr, m);
      },
      link);
  RingTensor want(xShape);
  for (int64_t i = 0; i < want.size(); ++i)
    want[i] = x[i] * w[broadcastIndex(xShape, wShape, i)];
  CHECK(countMismatches(reconstruct(run.out[0], run.out[1]), want) == 0);
  requireTrafficMatches(run.measured, pwMulCost(xShape, wShape));
  CHECK(run.measured.bytes10 == 8 * uint64_t(x.size()));
  CHECK(run.measured.dealerBytes1 == 8 * uint64_t(x.size()));
}

TEST_CASE("private-weight cost formulas", "[arith][pw][cost]") {
  // BERT-base Q/K/V: one message of X serves three 768x768 weights.
  Shape x{128, 768};
  Cost qkv =
      pwLinearCost(x, {Shape{768, 768}, Shape{768, 768}, Shape{768, 768}});
  CHECK(qkv.rounds == 1);
  CHECK(qkv.bytes10 == 8ull * 128 * 768);
  CHECK(qkv.bytes01 == 0);
  CHECK(qkv.dealerBytes1 == 3 * 8ull * 128 * 768);
  CHECK(qkv.macs == 3.0 * 128 * 768 * 768);
  Cost setup = pwSetupCost({768, 3072});
  CHECK(setup.setupBytes01 == 8ull * 768 * 3072);
  CHECK(setup.bytes01 == setup.setupBytes01);
  CHECK(pwMulCost({2, 5, 8}, {8}).bytes10 == 8 * 80);
}
