//===- runtime/protocols/Catalog.cpp - What each approximation promises ---===//
//
// The domain and max error of every approximation the nonlinear protocols
// implement, at frac = 16 with default parameters. The figures are the
// errors measured by the two-party tests (tests/unit/protocols/Nonlinear*)
// on dense random inputs over the domain, rounded up with a margin; those
// tests assert them, so a change that worsens an approximation fails.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Nonlinear.h"

namespace mpc::rt {

const std::vector<ApproxInfo> &approxCatalog() {
  static const std::vector<ApproxInfo> catalog = {
      {"exp.limit", -14, 0, 1.2e-3, 0,
       "(1 + x/256)^256 (CrypTen/SPU limit, 8 squarings). The error is the "
       "formula's own, e^x x^2/512 (max at x = -2). Below -256 the result "
       "is unspecified (softmax clips at -14 first)."},
      {"exp.limit2", -14, 0, 1e-4, 0,
       "(1 + u + u^2/2)^128 with u = x/128 (order 2, 7 squarings): same "
       "rounds as exp.limit; error e^x |x|^3 / 98304 plus rounding."},
      {"exp.cubes", -14, 0, 3e-4, 0,
       "b(x)^81, b the quadratic through e^(t/81) at t = -5.4, -2.91, "
       "-0.39, raised by four cubes (softmax's exp: 6 rounds). Its relative "
       "error is nearly level (~1.6e-4) on [-5.5, 0], so a softmax cancels "
       "most of it; the absolute error here is that common factor."},
      {"reciprocal.goldschmidt", 1.0 / 4096, 65535, 4e-5, 1e-4,
       "Top-bit normalisation to c in [0.5, 1) (one batched comparison), "
       "w0 = 2.9142 - 2c, 2 Goldschmidt iterations (PUMA/SPU). Relative "
       "error 0.0858^4 = 5.4e-5 plus rounding; absolute error also bounded "
       "by 2 ulp for large x. Outside the domain: wrong scale (no clip)."},
      {"reciprocal.newton", 0.02, 200, 4e-5, 2e-3,
       "CrypTen: y0 = 3 exp(1 - 2x) + 0.003, 10 Newton iterations. Below "
       "the domain the iterations have not converged; above ~256 exp's "
       "input leaves its domain."},
      {"rsqrt.normalized", 1.0 / 4096, 65535, 4e-5, 2e-4,
       "Top-bit normalisation to c in [0.5, 1), degree-3 minimax guess "
       "(rel. error 4.8e-4), one Newton step, 2^-(k+1)/2 folded in."},
      {"rsqrt.newton", 0.1, 100, 4e-5, 7e-3,
       "CrypTen: y0 = 2.2 exp(-(x/2 + 0.2)) + 0.2 - x/1024, 3 Newton "
       "iterations. Diverges above ~200 (negative initial guess)."},
      {"gelu.puma", -1e4, 1e4, 2.05e-2, 0,
       "PUMA 4 pieces: 0 below -4, cubic F0 on [-4,-1.95), even sextic plus "
       "x/2 F1 on [-1.95,3], x above 3. Valid for any |x| < 2^45 "
       "(62-bit comparisons); error vs exact (erf) GeLU. The formula's own "
       "error is 0.01990 (at x -> 3 from below); fixed point adds < 1e-4."},
      {"gelu.accurate", -1e4, 1e4, 2e-3, 0,
       "mpcc: x/2 + P(x^2/16) on [-4, 4] (P a degree-6 minimax fit of "
       "x erf(x/sqrt2)/2, 7.2e-4), 0 below -4, x above 4. Two comparisons. "
       "Fixed point at 16 bits adds up to ~1e-3 (the u^k terms)."},
      {"gelu.quad", -8, 8, 1e-4, 0,
       "MPCFormer Quad 0.125x^2 + 0.25x + 0.5 (error vs THAT formula; it "
       "is not GeLU and needs a model distilled with it)."},
      {"tanh.poly", -1e4, 1e4, 4e-4, 0,
       "Odd-symmetric pieces: -1 | degree-5 fit on [-5,-1.5) | odd degree-7 "
       "fit on [-1.5,1.5] | mirrored fit | +1 above 5."},
      {"softmax.exact", -1e4, 1e4, 2e-4, 0,
       "max-subtraction, exp.cubes with inputs below -14 set to 0, "
       "normalised Goldschmidt reciprocal of the row sum; error per "
       "probability, measured on rows of 16 and of 128 (~1.2e-4 both; "
       "exp.limit2 in its place gives 3e-4 on rows of 128). Inputs: "
       "scores plus mask bias (-10000)."},
      {"softmax.puma", -1e4, 1e4, 4e-3, 0,
       "PUMA: as softmax.exact with exp.limit ((1 + x/256)^256), whose "
       "1.1e-3 error dominates; same rounds."},
      {"softmax.2quad", -5, 20, 1e-4, 0,
       "MPCFormer (x+5)^2 / sum (x+5)^2 with a multiplicative 0/1 mask; "
       "error vs that formula (not vs softmax)."},
      {"layernorm", -1e3, 1e3, 1e-3, 0,
       "mean by a public 1/d, variance, rsqrt.normalized of var + eps; "
       "error per output for rows with var + eps in [2^-12, 2^16)."},
      {"layernorm.newton", -1e3, 1e3, 3e-2, 0,
       "layernorm with rsqrt.newton (CrypTen) on var + eps truncated to "
       "frac: rows with var + eps in [0.1, 100]; no comparison."},
  };
  return catalog;
}

const ApproxInfo *approxInfo(std::string_view name) {
  for (const ApproxInfo &a : approxCatalog())
    if (a.name == name)
      return &a;
  return nullptr;
}

} // namespace mpc::rt
