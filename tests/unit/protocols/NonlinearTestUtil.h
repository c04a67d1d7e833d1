//===- tests/unit/protocols/NonlinearTestUtil.h - Test kit ------*- C++ -*-===//
//
// Shared by the nonlinear protocol tests: run an element-wise protocol on
// clear doubles (shared by the test), reconstruct and decode its output,
// and measure the max error against a double-precision reference.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tests/unit/TwoParty.h"

#include "runtime/protocols/Nonlinear.h"

#include <cmath>
#include <functional>
#include <random>
#include <vector>

namespace mpc::rt::testing {

/// Uniform doubles in [lo, hi].
inline std::vector<double> uniform(std::mt19937_64 &rng, int64_t n, double lo,
                                   double hi) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(n);
  for (double &x : v)
    x = d(rng);
  return v;
}

/// Log-uniform doubles in [lo, hi] (lo > 0).
inline std::vector<double> logUniform(std::mt19937_64 &rng, int64_t n,
                                      double lo, double hi) {
  std::uniform_real_distribution<double> d(std::log(lo), std::log(hi));
  std::vector<double> v(n);
  for (double &x : v)
    x = std::exp(d(rng));
  return v;
}

/// Additive shares of a clear ring tensor.
inline std::array<RingTensor, 2> shareClear(std::mt19937_64 &rng,
                                            const RingTensor &x) {
  RingTensor x0(x.shape()), x1(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) {
    x0[i] = rng();
    x1[i] = x[i] - x0[i];
  }
  return {x0, x1};
}

/// Result of running a protocol on clear inputs.
struct NlRun {
  std::vector<double> in;  ///< The inputs as encoded (references use these).
  std::vector<double> out; ///< Decoded at frac.
  Cost measured;
};

/// Runs deal + protocol on \p xs (shape \p shape, frac bits); \p run is
/// (Party&, RingTensor share, const Mat&) -> Proto<RingTensor>. The input
/// is encoded at \p inFrac when given (a protocol that truncates first);
/// with \p inRingBits < 64 its shares agree modulo 2^inRingBits only (a
/// product the plan narrowed to the ring the protocol reads: Narrow.h).
template <typename DealFn, typename RunFn>
NlRun runNl(const std::vector<double> &xs, llvm::ArrayRef<int64_t> shape,
            int frac, DealFn deal, RunFn run, Link link = Link::Mem,
            uint64_t seed = 1, int inFrac = -1, int inRingBits = 64) {
  std::mt19937_64 rng(seed);
  if (inFrac < 0)
    inFrac = frac;
  RingTensor x = encodeTensor(xs, shape, inFrac);
  auto sh = shareClear(rng, x);
  if (inRingBits < 64)
    for (int64_t i = 0; i < x.size(); ++i)
      sh[0][i] += rng() << inRingBits;
  auto res = runTwoParty(
      deal, [&](Party &p, const auto &m) { return run(p, sh[p.id()], m); },
      link);
  NlRun r;
  r.in = decodeTensor(x, inFrac);
  r.out = decodeTensor(add(res.out[0], res.out[1]), frac);
  r.measured = res.measured;
  return r;
}

struct ErrStats {
  double maxAbs = 0, maxRel = 0, atAbs = 0, atRel = 0;
};

/// Max absolute and relative error of \p got against f(xs).
inline ErrStats errors(const std::vector<double> &xs,
                       const std::vector<double> &got,
                       const std::function<double(double)> &f) {
  ErrStats s;
  for (size_t i = 0; i < xs.size(); ++i) {
    double want = f(xs[i]);
    double e = std::fabs(got[i] - want);
    if (e > s.maxAbs)
      s.maxAbs = e, s.atAbs = xs[i];
    double r = e / std::max(std::fabs(want), 1e-300);
    if (r > s.maxRel)
      s.maxRel = r, s.atRel = xs[i];
  }
  return s;
}

/// max |got - f(x)| / (abs + rel |f(x)|): <= 1 means within the bound.
inline double boundRatio(const std::vector<double> &xs,
                         const std::vector<double> &got,
                         const std::function<double(double)> &f,
                         const ApproxInfo &info) {
  double worst = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    double want = f(xs[i]);
    double allowed = info.maxAbsErr + info.maxRelErr * std::fabs(want);
    worst = std::max(worst, std::fabs(got[i] - want) / allowed);
  }
  return worst;
}

/// Max relative error over elements whose reference is at least \p floor.
inline double maxRelAbove(const std::vector<double> &xs,
                          const std::vector<double> &got,
                          const std::function<double(double)> &f,
                          double floor) {
  double worst = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    double want = f(xs[i]);
    if (std::fabs(want) >= floor)
      worst = std::max(worst, std::fabs(got[i] - want) / std::fabs(want));
  }
  return worst;
}

inline double geluRef(double x) {
  return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
}

} // namespace mpc::rt::testing
