//===- runtime/protocols/Poly.cpp - Powers and polynomials ----------------===//
//
// Powers of a premasked x in as few rounds as the magnitude bound allows,
// and polynomial evaluation with a single final truncation.
//
// With x premasked at scale f and |x| <= B, any product of k premasked
// powers is local and sits at scale k f; it can be truncated (one round) as
// long as B^e 2^(k f) stays below 2^61. So one opening of x gives x^2 and,
// when B^3 2^(3f) fits (B <= 25 at f = 16), x^3 as well; truncating x^3
// makes x^4 = x x^3 and x^6 = x^3 x^3 local. A level truncates the power
// that covers the most still-missing exponents (two when that saves a
// level); the final sum multiplies each power (scale f or 2f) by its
// coefficient encoded at whatever precision keeps the sum below 2^61, and
// truncates once.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/NonlinearBuild.h"

#include <cassert>
#include <cmath>

namespace mpc::rt {

using namespace nl;

namespace nl {

int log2Ceil(double v) {
  if (!(v > 1))
    return 0;
  return int(std::ceil(std::log2(v)));
}

std::set<int> neededExponents(llvm::ArrayRef<double> coeffs) {
  std::set<int> need;
  for (size_t k = 1; k < coeffs.size(); ++k)
    if (coeffs[k] != 0)
      need.insert(int(k));
  return need;
}

namespace {

/// Whether x^e at scale k f fits the truncation bound.
bool fits(int e, int k, double log2B, int f) {
  return e * log2B + k * f <= kSafeBits - 1;
}

/// A decomposition of e into k >= 2 exponents from \p have (fewest factors
/// first), or empty.
std::vector<int> decompose(int e, const std::map<int, int> &have, double log2B,
                           int f) {
  std::vector<int> ex;
  for (auto &[k, id] : have)
    ex.push_back(k);
  for (int k = 2; k <= 4; ++k) {
    if (!fits(e, k, log2B, f))
      return {};
    // Depth-first search over non-decreasing k-tuples.
    std::vector<int> pick;
    std::function<bool(int, int, size_t)> dfs = [&](int left, int slots,
                                                    size_t from) {
      if (slots == 0)
        return left == 0;
      for (size_t i = from; i < ex.size(); ++i) {
        if (ex[i] > left)
          break;
        pick.push_back(ex[i]);
        if (dfs(left - ex[i], slots - 1, i))
          return true;
        pick.pop_back();
      }
      return false;
    };
    if (dfs(e, k, 0))
      return pick;
  }
  return {};
}

/// Exponents in \p need that the final sum can use: a power we hold, or a
/// product of two.
std::set<int> coveredBy(const std::map<int, int> &have,
                        const std::set<int> &need, double log2B, int f) {
  std::set<int> out;
  for (int e : need) {
    if (have.count(e)) {
      out.insert(e);
      continue;
    }
    if (!fits(e, 2, log2B, f))
      continue;
    for (auto &[a, id] : have)
      if (have.count(e - a)) {
        out.insert(e);
        break;
      }
  }
  return out;
}

} // namespace

std::optional<PowerPlan> planPowers(int frac, const std::set<int> &need,
                                    double bound) {
  double log2B = std::log2(std::max(bound, 1.0));
  int maxE = need.empty() ? 1 : *need.rbegin();
  std::map<int, int> have{{1, 0}};
  PowerPlan plan;
  plan.maxScale = frac;
  while (coveredBy(have, need, log2B, frac).size() < need.size()) {
    // Candidates: new exponents reachable from what we hold.
    std::vector<std::pair<int, std::vector<int>>> cands;
    for (int e = 2; e <= maxE; ++e)
      if (!have.count(e)) {
        std::vector<int> d = decompose(e, have, log2B, frac);
        if (!d.empty())
          cands.push_back({e, d});
      }
    if (cands.empty())
      return std::nullopt;
    auto withAdded = [&](llvm::ArrayRef<int> es) {
      std::map<int, int> h = have;
      for (int e : es)
        h[e] = -1;
      return coveredBy(h, need, log2B, frac).size();
    };
    std::vector<size_t> chosen;
    size_t best = 0, bestScore = 0;
    for (size_t i = 0; i < cands.size(); ++i) {
      size_t sc = withAdded({cands[i].first});
      if (sc >= bestScore)
        best = i, bestScore = sc;
    }
    chosen.push_back(best);
    if (bestScore < need.size()) {
      // Two powers in one level when that completes the set.
      for (size_t i = 0; i < cands.size() && chosen.size() == 1; ++i)
        for (size_t j = i + 1; j < cands.size(); ++j)
          if (withAdded({cands[i].first, cands[j].first}) == need.size()) {
            chosen = {i, j};
            break;
          }
    }
    plan.levels.emplace_back();
    for (size_t i : chosen)
      plan.levels.back().push_back(cands[i]);
    for (size_t i : chosen)
      have[cands[i].first] = 0;
  }
  for (int e : need)
    if (!have.count(e))
      plan.maxScale = 2 * frac;
  return plan;
}

Powers buildPowers(Builder &b, int x, int frac, const std::set<int> &need,
                   double bound, bool narrow) {
  double log2B = std::log2(std::max(bound, 1.0));
  std::optional<PowerPlan> plan = planPowers(frac, need, bound);
  assert(plan && "powers out of range: validation checks planPowers");
  std::map<int, int> have{{1, x}};
  Powers pw;
  for (const auto &level : plan->levels) {
    std::vector<std::pair<int, int>> fresh;
    for (const auto &[e, d] : level) {
      Expr prod = Builder::constant(1, 0);
      for (int a : d)
        prod = prod * b.var(have.at(a), frac);
      int raw = b.local(prod);
      int scale = int(d.size()) * frac;
      int ring = narrow ? Builder::ringFor(e * log2B, scale) : kFullRingBits;
      fresh.push_back({e, b.trunc(raw, scale - frac, ring)});
    }
    b.nextStage();
    for (auto [e, id] : fresh)
      have[e] = id;
    ++pw.levels;
  }
  for (int e : need) {
    if (have.count(e)) {
      pw.pow[e] = b.var(have.at(e), frac);
      continue;
    }
    for (auto &[a, id] : have)
      if (have.count(e - a)) {
        pw.pow[e] = b.var(id, frac) * b.var(have.at(e - a), frac);
        break;
      }
  }
  return pw;
}

double polyMagnitude(llvm::ArrayRef<double> coeffs, double bound) {
  double mag = 0;
  for (size_t k = 0; k < coeffs.size(); ++k)
    mag += std::fabs(coeffs[k]) * std::pow(std::max(bound, 1.0), double(k));
  return mag;
}

Expr polySum(const Powers &pw, llvm::ArrayRef<double> coeffs, double magnitude,
             int frac, int coeffBits) {
  int maxScale = frac;
  for (size_t k = 1; k < coeffs.size(); ++k)
    if (coeffs[k] != 0)
      maxScale = std::max(maxScale, pw.pow.at(int(k)).scale);
  int scale = kSafeBits - 1 - log2Ceil(magnitude);
  scale = std::min(scale, maxScale + coeffBits);
  assert(scale >= maxScale && "polynomial too large for the ring");
  Expr sum = Builder::constant(coeffs.empty() ? 0 : coeffs[0], scale);
  for (size_t k = 1; k < coeffs.size(); ++k) {
    if (coeffs[k] == 0)
      continue;
    const Expr &p = pw.pow.at(int(k));
    sum = sum + Builder::mulConst(p, coeffs[k], scale - p.scale);
  }
  return sum;
}

RowDims dimsOf(llvm::ArrayRef<int64_t> shape) {
  RowDims d;
  d.n = numElements(shape);
  d.len = shape.empty() ? 1 : shape.back();
  d.rows = d.len ? d.n / d.len : 0;
  return d;
}

Proto<RingTensor> runUnaryProgram(Party &p, const fx::Mat &m, int in, int out,
                                  RingTensor x) {
  Shape shape = x.shape();
  fx::State st(*m.prog);
  fx::setArith(st, in, x.reshaped({x.size()}));
  co_await fx::runStages(p, m, st, 0, m.prog->numStages());
  co_return st.share[out].reshaped(shape);
}

} // namespace nl

// --- The poly op -------------------------------------------------------------

PolyProgram nl::buildPolyProgram(int64_t n, const PolyParams &p, int shift) {
  Builder b(n, p.exact);
  PolyProgram pp;
  pp.x = b.arithInput();
  int xm = b.open(pp.x);
  b.nextStage();
  // The polynomial in y = x / 2^shift: x's ring value read at frac + shift,
  // coefficients c_k 2^(k shift).
  std::vector<double> c(p.coeffs.begin(), p.coeffs.end());
  for (size_t k = 0; k < c.size(); ++k)
    c[k] = std::ldexp(c[k], int(k) * shift);
  double bound = std::ldexp(p.bound, -shift);
  int fy = p.frac + shift;
  Powers pw = buildPowers(b, xm, fy, neededExponents(c), bound);
  Expr sum = polySum(pw, c, polyMagnitude(c, bound), fy);
  pp.out = b.trunc(b.local(sum), sum.scale - p.frac);
  b.nextStage();
  pp.prog = b.finish();
  return pp;
}

PolyMat dealPoly(Corr &c, llvm::ArrayRef<int64_t> shape, const PolyParams &p) {
  PolyMat m;
  int64_t n = numElements(shape);
  if (n == 0)
    return m;
  m.prog = fx::dealProgram(c, buildPolyProgram(n, p).prog);
  return m;
}

Proto<RingTensor> poly(Party &p, RingTensor x, const PolyParams &params,
                       const PolyMat &m) {
  if (x.size() == 0)
    co_return x;
  PolyProgram pp = buildPolyProgram(x.size(), params);
  co_return co_await runUnaryProgram(p, m.prog, pp.x, pp.out, std::move(x));
}

Cost polyCost(llvm::ArrayRef<int64_t> shape, const PolyParams &p) {
  int64_t n = numElements(shape);
  if (n == 0)
    return Cost();
  return fx::programCost(*buildPolyProgram(n, p).prog);
}

RingTensor nl::simulateUnary(const fx::Program &prog, int in, int out,
                             RingTensor x) {
  Shape shape = x.shape();
  fx::Clear s(prog);
  s.val[in] = x.reshaped({x.size()});
  fx::simulateProgram(prog, s);
  return s.val[out].reshaped(shape);
}

RingTensor nl::clearLess(const RingTensor &x, u64 thr) {
  RingTensor b(x.shape());
  for (int64_t i = 0; i < x.size(); ++i)
    b[i] = i64(x[i] - thr) < 0 ? 1 : 0;
  return b;
}

RingTensor simulatePoly(RingTensor x, const PolyParams &p) {
  if (x.size() == 0)
    return x;
  PolyProgram pp = buildPolyProgram(x.size(), p);
  return simulateUnary(*pp.prog, pp.x, pp.out, std::move(x));
}

} // namespace mpc::rt
