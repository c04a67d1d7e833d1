//===- tests/unit/protocols/NonlinearEngineTest.cpp - Premasked programs --===//
//
// The engine under the nonlinear protocols (FxProgram.h): products of
// premasked values of every kind (fresh opening, truncation result, opened
// bit) are exact ring products, the message layout and dealt material match
// the cost formulas, and the catalogue is well formed.
//
//===----------------------------------------------------------------------===//
#include "tests/unit/protocols/NonlinearTestUtil.h"

#include "runtime/protocols/FxProgram.h"

#include <numbers>
#include <set>

using namespace mpc::rt;
using namespace mpc::rt::testing;
using fx::Builder;
using fx::Expr;

namespace {

struct Ids {
  std::shared_ptr<const fx::Program> prog;
  int a = -1, bits = -1, out = -1;
};

/// out = t a b - 5 t + 3 (scale 2f), t = trunc(a^2): every kind of mask,
/// a 3-factor product, a constant.
Ids buildTestProgram(int64_t n, int f) {
  Builder b(n);
  Ids ids;
  ids.a = b.arithInput();
  ids.bits = b.bitsInput();
  int am = b.open(ids.a);
  int bm = b.openBits(ids.bits);
  b.nextStage();
  Expr av = b.var(am, f);
  int t = b.trunc(b.local(av * av), f);
  b.nextStage();
  Expr tv = b.var(t, f);
  Expr out = tv * av * b.var(bm, 0) -
             Builder::mulInt(Builder::alignTo(tv, 2 * f), 5) +
             Builder::constant(3, 2 * f);
  ids.out = b.local(out);
  ids.prog = b.finish();
  return ids;
}

} // namespace

TEST_CASE("premasked products are exact for every mask kind",
          "[nonlinear][engine]") {
  const int f = 16;
  int64_t n = 300;
  std::mt19937_64 rng(51);
  std::vector<double> as = uniform(rng, n, -3, 3);
  RingTensor a = encodeTensor(as, {n}, f);
  std::vector<int> bitv(n);
  for (int &x : bitv)
    x = int(rng() & 1);
  auto ash = shareClear(rng, a);
  SharedBits bsh[2];
  for (int p = 0; p < 2; ++p) {
    bsh[p].shape = Shape{n};
    bsh[p].words.assign((n + 63) / 64, 0);
  }
  for (int64_t i = 0; i < n; ++i) {
    u64 r = rng() & 1;
    bsh[0].words[i / 64] |= r << (i % 64);
    bsh[1].words[i / 64] |= (r ^ u64(bitv[i])) << (i % 64);
  }
  Ids ids = buildTestProgram(n, f);
  auto link = GENERATE(Link::Mem, Link::Tcp);
  auto res =
      runTwoParty([&](Corr &c) { return fx::dealProgram(c, ids.prog); },
                  [&](Party &p, const fx::Mat &m) -> Proto<RingTensor> {
                    fx::State st(*m.prog);
                    fx::setArith(st, ids.a, ash[p.id()]);
                    fx::setBits(st, ids.bits, bsh[p.id()]);
                    co_await fx::runStages(p, m, st, 0, m.prog->numStages());
                    co_return st.share[ids.out];
                  },
                  link);
  RingTensor got = add(res.out[0], res.out[1]);
  for (int64_t i = 0; i < n; ++i) {
    // t = floor(a^2 / 2^f) or one MORE (the carry of the low bits; see the
    // report: Trunc.h says "one less"), exactly in the ring.
    i64 ai = i64(a[i]);
    i64 t0 = (ai * ai) >> f;
    bool ok = false;
    for (i64 t : {t0, t0 + 1}) {
      u64 want = u64(t) * u64(ai) * u64(bitv[i]) - (u64(t) << f) * 5 +
                 encodeFixed(3, 2 * f);
      ok |= got[i] == want;
    }
    INFO("element " << i << " a = " << as[i] << " bit " << bitv[i]);
    REQUIRE(ok);
  }
  // Traffic: open (n words) + bits (ceil(n/64) words), then the truncation.
  Cost f0 = fx::programCost(*ids.prog);
  requireTrafficMatches(res.measured, f0);
  CHECK(f0.rounds == 2);
  CHECK(f0.bytes01 == uint64_t(8 * (n + (n + 63) / 64) + 8 * n));
  // Dealt: truncation 2n, arithmetic rho n, products {a,a}: 1, {t,a}: 2,
  // {t,b}: 4, {a,b}: 2, {t,a,b}: 4 combinations.
  CHECK(f0.dealerBytes1 == 8 * uint64_t(n) * (2 + 1 + 1 + 2 + 4 + 2 + 4));
}

TEST_CASE("sinTurns is sin of the phase from integers only",
          "[nonlinear][engine]") {
  // Every quadrant's ends and dense phases, in a ring of 46 bits and of 64.
  std::mt19937_64 rng(53);
  for (int ring : {46, 64, 20}) {
    double worst = 0;
    u64 mod = ring == 64 ? 0 : u64(1) << ring;
    std::vector<u64> us;
    for (int q = 0; q <= 4; ++q)
      for (i64 d : {-1, 0, 1})
        us.push_back(u64(q) * (u64(1) << (ring - 2)) + u64(d));
    for (int i = 0; i < 4000; ++i)
      us.push_back(mod ? rng() % mod : rng());
    for (u64 u : us) {
      u64 um = mod ? u % mod : u;
      double want =
          std::sin(2 * std::numbers::pi * std::ldexp(double(um), -ring));
      double got = std::ldexp(double(fx::sinTurns(u, ring)), -62);
      worst = std::max(worst, std::fabs(got - want));
    }
    INFO("ring " << ring);
    // The phase's top 32 bits: 2 pi 2^-32 = 1.5e-9 at most.
    CHECK(worst < 2e-9);
  }
  // The public factors round c s at the scale, from integers.
  i64 half = i64(1) << 61; // sin = 1/2
  CHECK(fx::scaleTurns(0.75, half, 16) == i64(24576));
  CHECK(fx::scaleTurns(-0.75, half, 16) == -i64(24576));
}

TEST_CASE("a sine series is one opening of its phase, in a narrow ring",
          "[nonlinear][engine]") {
  // out = sum_k c_k sin(2 pi k y / 2^L) with y = 3 x (x arithmetic), for
  // x anywhere in the ring: the wrap is a whole number of periods.
  const int L = 40, fs = 20;
  int64_t n = 500;
  std::mt19937_64 rng(52);
  RingTensor x(Shape{n});
  for (int64_t i = 0; i < n; ++i)
    x[i] = rng();
  auto xsh = shareClear(rng, x);
  fx::SineSpec spec;
  spec.coef = {1.25, -0.5, 0.125};
  spec.coefScale = spec.maskScale = fs;
  Builder b(n);
  int xa = b.arithInput();
  int y = b.local(Builder::mulInt(b.var(xa, 0), 3));
  int sn = b.sines(y, L, spec);
  b.nextStage();
  std::shared_ptr<const fx::Program> prog = b.finish();
  auto link = GENERATE(Link::Mem, Link::Tcp);
  auto res =
      runTwoParty([&](Corr &c) { return fx::dealProgram(c, prog); },
                  [&](Party &p, const fx::Mat &m) -> Proto<RingTensor> {
                    fx::State st(*m.prog);
                    fx::setArith(st, xa, xsh[p.id()]);
                    co_await fx::runStages(p, m, st, 0, m.prog->numStages());
                    co_return st.share[sn];
                  },
                  link);
  RingTensor got = add(res.out[0], res.out[1]);
  fx::Clear clear(*prog);
  clear.val[xa] = x;
  fx::simulateProgram(*prog, clear);
  double worst = 0, worstSim = 0;
  for (int64_t i = 0; i < n; ++i) {
    u64 yi = (3 * x[i]) & ((u64(1) << L) - 1);
    double want = 0;
    for (int k = 1; k <= 3; ++k)
      want += spec.coef[k - 1] *
              std::sin(2 * std::numbers::pi * k * std::ldexp(double(yi), -L));
    worst = std::max(worst, std::fabs(decodeFixed(got[i], 2 * fs) - want));
    worstSim = std::max(
        worstSim, std::fabs(decodeFixed(clear.val[sn][i], 2 * fs) - want));
  }
  // Six public factors rounded at 2^-21, six dealt masks at 2^-21.
  CHECK(worst < 1e-5);
  CHECK(worstSim < 1e-5);
  // One round of L bits each way; dealt: cos and sin per harmonic.
  Cost c = fx::programCost(*prog);
  requireTrafficMatches(res.measured, c);
  CHECK(c.rounds == 1);
  CHECK(c.bytes01 == wordBytes(packedWords(n, L)));
  CHECK(c.dealerBytes1 == wordBytes(uint64_t(2 * 3 * n)));
}

TEST_CASE("every op costs nothing on an empty tensor", "[nonlinear][engine]") {
  Shape empty{0, 8};
  CHECK(polyCost(empty, {{1, 2}, 1, 16}).sameTraffic(Cost()));
  CHECK(expCost(empty, {}).sameTraffic(Cost()));
  CHECK(reciprocalCost(empty, {}).sameTraffic(Cost()));
  CHECK(rsqrtCost(empty, {}).sameTraffic(Cost()));
  CHECK(geluCost(empty, {}).sameTraffic(Cost()));
  CHECK(tanhCost(empty, {}).sameTraffic(Cost()));
  CHECK(softmaxCost(empty, {}).sameTraffic(Cost()));
  CHECK(layerNormCost(empty, {}).sameTraffic(Cost()));
  GeluParams gp;
  auto res = runTwoParty([&](Corr &c) { return dealGelu(c, empty, gp); },
                         [&](Party &p, const GeluMat &m) {
                           return gelu(p, RingTensor(empty), gp, m);
                         });
  CHECK(res.out[0].size() == 0);
  CHECK(res.measured.rounds == 0);
}

TEST_CASE("the approximation catalogue is well formed",
          "[nonlinear][catalog]") {
  std::set<std::string> names;
  for (const ApproxInfo &a : approxCatalog()) {
    INFO(a.name);
    CHECK(names.insert(a.name).second);
    CHECK(a.lo < a.hi);
    CHECK((a.maxAbsErr > 0 || a.maxRelErr > 0));
    CHECK(!a.description.empty());
    CHECK(approxInfo(a.name) == &a);
  }
  for (const char *n : {"exp.limit", "exp.limit2", "reciprocal.goldschmidt",
                        "reciprocal.newton", "rsqrt.normalized", "rsqrt.newton",
                        "gelu.puma", "gelu.quad", "tanh.poly", "softmax.exact",
                        "softmax.puma", "softmax.2quad", "layernorm"})
    CHECK(approxInfo(n) != nullptr);
  CHECK(approxInfo("gelu.erf") == nullptr);
}

TEST_CASE("parameter checks accept the defaults and reject the rest",
          "[nonlinear][validate]") {
  auto ok = [](llvm::Error e) {
    bool good = !e;
    if (e)
      FAIL_CHECK(llvm::toString(std::move(e)));
    return good;
  };
  auto bad = [](llvm::Error e) {
    bool failed = bool(e);
    if (e)
      INFO(llvm::toString(std::move(e)));
    return failed;
  };
  Shape act{1, 128, 768}, att{1, 12, 128, 128};
  CHECK(ok(validatePoly(act, {{0.5, 0.25, 0.125}, 8, 16})));
  CHECK(ok(validateExp({})));
  CHECK(ok(validateExp({7, 16, 0, 2})));
  CHECK(ok(validateExp({4, 16, 0, 2, 4, true})));
  CHECK(ok(validateExp({6, 16, 2, 2, 3, false})));
  SoftmaxParams classic;
  classic.exp = {7, 16, 0, 2};
  CHECK(ok(validateSoftmax(att, classic)));
  CHECK(ok(validateReciprocal({})));
  ReciprocalParams rn;
  rn.approx = Approximation::ReciprocalNewton;
  rn.iters = 10;
  CHECK(ok(validateReciprocal(rn)));
  CHECK(ok(validateRsqrt({})));
  CHECK(ok(validateGelu({})));
  CHECK(ok(validateTanh({})));
  CHECK(ok(validateSoftmax(att, {})));
  SoftmaxParams q;
  q.approx = Approximation::SoftmaxTwoQuad;
  CHECK(ok(validateSoftmax(att, q)));
  LayerNormParams ln;
  ln.gammaWeightId = 3;
  CHECK(ok(validateLayerNorm(act, ln)));

  CHECK(bad(validatePoly(act, {{1, 0, 0, 0, 0, 0, 0, 0, 1}, 100, 16})));
  CHECK(bad(validateExp({0, 16, 0, 1})));
  CHECK(bad(validateExp({8, 16, 40, 1})));
  CHECK(bad(validateExp({3, 16, 0, 2, 4, false})));   // cubes > iters
  CHECK(bad(validateExp({8, 16, 0, 1, 0, true})));    // fitted needs order 2
  CHECK(bad(validateExp({4, 16, 1, 2, 4, true})));    // fitted: inputs <= 0
  CHECK(bad(validateExp({10, 16, 0, 2, 10, false}))); // 1/3^10 too fine
  CHECK(bad(validateExp({4, 20, 0, 2, 4, true})));    // 1/81 at frac 20
  ReciprocalParams wide;
  wide.maxBits = 50;
  CHECK(bad(validateReciprocal(wide)));
  // An iteration limit names the entry (secformer is not Newton's).
  ReciprocalParams sf;
  sf.approx = Approximation::ReciprocalSecformer;
  sf.iters = 0;
  CHECK(llvm::toString(validateReciprocal(sf)) ==
        "reciprocal.secformer: iters 0 outside [1, 30]");
  RsqrtParams tiny;
  tiny.minExp = -30;
  CHECK(bad(validateRsqrt(tiny)));
  GeluParams g;
  g.approx = Approximation::TanhPoly; // not a GeLU entry
  CHECK(bad(validateGelu(g)));
  SoftmaxParams s;
  s.inputBits = 62;
  CHECK(bad(validateSoftmax(att, s)));
  q.recip.maxBits = 30;
  CHECK(bad(validateSoftmax(att, q)));
  LayerNormParams noId;
  CHECK(bad(validateLayerNorm(act, noId)));
  ln.inputBits = 30;
  CHECK(bad(validateLayerNorm(act, ln)));
  // The variance tests compare against a truncation mask: frac + compare
  // bits must stay <= 63 (frac 18, d 2048: 18 + 11 + 16 + 18 + 1 = 64).
  LayerNormParams wideVar;
  wideVar.gammaWeightId = 3;
  wideVar.frac = 18;
  wideVar.rsqrt.minExp = -9;
  wideVar.inputBits = 12;
  CHECK(bad(validateLayerNorm({1, 2048}, wideVar)));
  wideVar.frac = 17; // 17 + 11 + 16 + 17 + 1 = 62
  CHECK(ok(validateLayerNorm({1, 2048}, wideVar)));
  // A fused GeLU truncation whose mask candidates differ on compared bits.
  GeluParams fused;
  fused.approx = Approximation::GeluAccurate;
  fused.inputTruncBits = 16;
  fused.compareBits = 47;
  CHECK(ok(validateGelu(fused)));
  fused.compareBits = 48;
  CHECK(bad(validateGelu(fused)));
}
