//===- runtime/protocols/Exp.cpp - exp by the limit formula ---------------===//
//
// exp(x) ~ b(x)^N with b(x) ~ e^(x/N) (CrypTen and SPU: b = 1 + x/256,
// N = 2^8). Each raising is one round: a power of a premasked value is
// local (FxProgram.h), and its truncation both rescales it and premasks
// the result for the next raising. A square of a value at scale s fits the
// ring (|z| < 2^61) for s up to 30, a cube for s up to 20; so the raisings
// run at working scales wf(2) or wf(3) (kept so that e^maxInput fits), and
// the last truncation goes straight to the output scale. Squares come
// first: the rounding error of a value raised to R more is amplified R
// times, so the coarse cube scale is used only where few raisings remain.
//
// The base, for N = 2^n with Taylor coefficients (the classic form): x's
// ring value read at scale f + n is x/2^n exactly, so 1 + x/2^n costs
// nothing (order 1; one truncation first only if its square would not
// fit) and 1 + u + u^2/2 is exact at scale 2(f + n) + 1 and truncated once
// (order 2). Otherwise (cubes, or the fitted quadratic) the base is
// a0 + a1 x + a2 x^2 with encoded coefficients at a scale of ~60 bits,
// truncated once. Rounds: one opening + (base truncation) + iters.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/NonlinearBuild.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>

namespace mpc::rt {

using namespace nl;

namespace {

// One implementation per exp entry of Approximations.def: its parameters.
#define MPC_EXP_APPROX(Id, ...) ExpParams exp##Id();
#include "runtime/protocols/Approximations.def"

/// (1 + x/256)^256: the ExpParams defaults.
ExpParams expLimit() { return ExpParams(); }
/// (1 + u + u^2/2)^128, u = x/128.
ExpParams expLimit2() { return {7, 16, 0, 2, 0, false}; }
/// The fitted quadratic base raised to 81 by four cubes.
ExpParams expCubes() { return {4, 16, 0, 2, 4, true}; }

} // namespace

ExpParams expParams(Approximation a) {
  switch (a) {
#define MPC_EXP_APPROX(Id, ...)                                                \
  case Approximation::Exp##Id:                                                 \
    return exp##Id();
#include "runtime/protocols/Approximations.def"
  default:
    break;
  }
  llvm_unreachable("not an exp approximation");
}

namespace nl {

namespace {

/// log2 of e^maxInput (0 for maxInput <= 0).
double expTopBits(const ExpParams &p) {
  return std::max(0.0, p.maxInput) * std::log2(std::exp(1.0));
}

/// Whether the base is the classic exact one (N = 2^iters, Taylor).
bool classicBase(const ExpParams &p) { return p.cubes == 0 && !p.fitted; }

/// The power of raising k (1-based): squares first, then cubes.
int powerOf(const ExpParams &p, int k) {
  return k <= p.iters - p.cubes ? 2 : 3;
}

/// b(x) = a0 + a1 x + a2 x^2 ~ e^(x/N).
std::array<double, 3> baseCoeffs(const ExpParams &p) {
  double n = expRadix(p);
  if (p.order == 1)
    return {1, 1 / n, 0};
  if (!p.fitted)
    return {1, 1 / n, 0.5 / (n * n)};
  // The quadratic through e^(t/N) at these nodes. Its relative error
  // rho(x) = b(x)^N e^-x - 1 ~ -(x - t0)(x - t1)(x - t2) / (6 N^2) is
  // nearly level on [-5.5, 0]: a weighted minimax of rho (weight 1 on
  // [-5, 0], e^(x + 5) below), found numerically; the nodes hardly move
  // with N. A softmax sees only the spread of rho over a row (a common
  // factor cancels), and rows of ~100 entries put their mass down to
  // x ~ -5; Taylor's rho (-x^3 / (6 N^2)) is 0 at 0 but grows fast below.
  constexpr double t[3] = {-5.4, -2.91, -0.39};
  double y[3];
  for (int i = 0; i < 3; ++i)
    y[i] = std::exp(t[i] / n);
  // Newton's divided differences.
  double d01 = (y[1] - y[0]) / (t[1] - t[0]);
  double d12 = (y[2] - y[1]) / (t[2] - t[1]);
  double a2 = (d12 - d01) / (t[2] - t[0]);
  double a1 = d01 - a2 * (t[0] + t[1]);
  double a0 = y[0] - a1 * t[0] - a2 * t[0] * t[0];
  return {a0, a1, a2};
}

} // namespace

double expRadix(const ExpParams &p) {
  return std::ldexp(std::pow(3.0, p.cubes), p.iters - p.cubes);
}

int expWorkFrac(const ExpParams &p, int power) {
  int wf = int(std::floor((kSafeBits - 1 - expTopBits(p)) / power));
  return std::min(60 / power, wf);
}

int expBaseScale(const ExpParams &p) {
  double top = expTopBits(p);
  // b(x) < 2^(top/N) + rounding: keep b 2^S below 2^(kSafeBits - 1).
  return top > 0 ? kSafeBits - 2 - int(std::floor(top / expRadix(p)))
                 : kSafeBits - 1;
}

int buildExp(Builder &b, const Expr &u, const ExpParams &p, bool narrow) {
  assert(p.iters >= 1 && "exp needs at least one raising");
  assert(p.cubes >= 0 && p.cubes <= p.iters && "exp cubes in [0, iters]");
  assert((p.order == 1 || p.order == 2) && "exp order is 1 or 2");
  int f = p.frac;
  // Every value here (the base, each raising) is at most ~e^maxInput.
  auto ring = [&](int scale) {
    return narrow ? Builder::ringFor(expTopBits(p), scale) : kFullRingBits;
  };
  // The scale raising k (1-based) takes its input at.
  auto inScale = [&](int k) { return expWorkFrac(p, powerOf(p, k)); };
  assert(inScale(p.iters) >= f && "exp's maxInput leaves no working precision");
  Expr v;
  int sv;
  if (classicBase(p)) {
    sv = u.scale + p.iters;
    Expr un = Builder::reinterpret(u, p.iters);
    v = un + Builder::constant(1, sv);
    int wf = inScale(1);
    if (p.order == 2) {
      // 1 + u + u^2/2 at scale 2 sv + 1 (u^2 read one bit finer is u^2/2).
      assert(2 * sv + 1 <= kSafeBits && "exp base too fine for order 2");
      Expr v2 =
          Builder::alignTo(v, 2 * sv + 1) + Builder::reinterpret(un * un, 1);
      // (A coarse frac with few iters may leave v2 below wf: keep it.)
      int ws = std::min(wf, v2.scale - 1);
      int t = b.trunc(b.local(v2), v2.scale - ws, ring(v2.scale));
      b.nextStage();
      v = b.var(t, ws);
      sv = ws;
    } else if (2 * sv > kSafeBits - 1) {
      // 1 + x/2^n at too fine a scale to square: bring it to wf first.
      int t = b.trunc(b.local(v), sv - wf, ring(sv));
      b.nextStage();
      v = b.var(t, wf);
      sv = wf;
    }
  } else {
    std::array<double, 3> a = baseCoeffs(p);
    int s = expBaseScale(p);
    assert(s >= 2 * u.scale && "exp base: input scale too fine");
    Expr q =
        Builder::constant(a[0], s) + Builder::mulConst(u, a[1], s - u.scale);
    if (p.order == 2)
      q = q + Builder::mulConst(u * u, a[2], s - 2 * u.scale);
    sv = inScale(1);
    int t = b.trunc(b.local(q), s - sv, ring(s));
    b.nextStage();
    v = b.var(t, sv);
  }
  int out = -1;
  for (int k = 1; k <= p.iters; ++k) {
    bool last = k == p.iters;
    int next = last ? f : inScale(k + 1);
    Expr z = v * v;
    if (powerOf(p, k) == 3)
      z = z * v;
    out = b.trunc(b.local(z), powerOf(p, k) * sv - next,
                  ring(powerOf(p, k) * sv));
    b.nextStage();
    v = b.var(out, next);
    sv = next;
  }
  return out;
}

} // namespace nl

namespace {

struct ExpProgram {
  std::shared_ptr<const fx::Program> prog;
  int x = -1, out = -1;
};

ExpProgram buildExpProgram(int64_t n, const ExpParams &p) {
  Builder b(n, p.exact);
  ExpProgram ep;
  ep.x = b.arithInput();
  int xm = b.open(ep.x);
  b.nextStage();
  ep.out = buildExp(b, b.var(xm, p.frac), p);
  ep.prog = b.finish();
  return ep;
}

} // namespace

ExpMat dealExp(Corr &c, llvm::ArrayRef<int64_t> shape, const ExpParams &p) {
  ExpMat m;
  int64_t n = numElements(shape);
  if (n == 0)
    return m;
  m.prog = fx::dealProgram(c, buildExpProgram(n, p).prog);
  return m;
}

Proto<RingTensor> expApprox(Party &p, RingTensor x, const ExpParams &params,
                            const ExpMat &m) {
  if (x.size() == 0)
    co_return x;
  ExpProgram ep = buildExpProgram(x.size(), params);
  co_return co_await runUnaryProgram(p, m.prog, ep.x, ep.out, std::move(x));
}

Cost expCost(llvm::ArrayRef<int64_t> shape, const ExpParams &p) {
  int64_t n = numElements(shape);
  if (n == 0)
    return Cost();
  return fx::programCost(*buildExpProgram(n, p).prog);
}

RingTensor simulateExp(RingTensor x, const ExpParams &p) {
  if (x.size() == 0)
    return x;
  ExpProgram ep = buildExpProgram(x.size(), p);
  return simulateUnary(*ep.prog, ep.x, ep.out, std::move(x));
}

} // namespace mpc::rt
