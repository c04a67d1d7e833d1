//===- runtime/protocols/Exp.cpp - exp by the limit formula ---------------===//
//
// exp(x) ~ (1 + x/2^n)^(2^n) (CrypTen and SPU, n = 8). The base
// v0 = 1 + x/2^n is exact: x's ring value read at scale f + n is x/2^n, so
// only the constant is added. Each squaring is one round: the square of a
// premasked value is local (FxProgram.h), and its truncation both rescales
// it and premasks the result for the next square. The squarings run at a
// working scale wf (up to 30 bits, kept so that e^maxInput 2^(2 wf) fits),
// and the last truncation goes straight to the output scale. Rounds: one
// opening + n truncations.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/NonlinearBuild.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace mpc::rt {

using namespace nl;

namespace nl {

int expWorkFrac(const ExpParams &p) {
  double top = std::max(0.0, p.maxInput) * std::log2(std::exp(1.0));
  int wf = int(std::floor((kSafeBits - 1 - top) / 2));
  return std::min(30, wf);
}

int buildExp(Builder &b, const Expr &u, const ExpParams &p) {
  assert(p.iters >= 1 && "exp needs at least one squaring");
  assert((p.order == 1 || p.order == 2) && "exp order is 1 or 2");
  int f = p.frac, wf = expWorkFrac(p);
  assert(wf >= f && "exp's maxInput leaves no working precision");
  int sv = u.scale + p.iters;
  Expr un = Builder::reinterpret(u, p.iters);
  Expr v = un + Builder::constant(1, sv);
  if (p.order == 2) {
    // 1 + u + u^2/2 at scale 2 sv + 1 (u^2 read one bit finer is u^2/2).
    assert(2 * sv + 1 <= kSafeBits && "exp base too fine for order 2");
    Expr v2 =
        Builder::alignTo(v, 2 * sv + 1) + Builder::reinterpret(un * un, 1);
    int t = b.trunc(b.local(v2), v2.scale - wf);
    b.nextStage();
    v = b.var(t, wf);
    sv = wf;
  } else if (2 * sv > kSafeBits - 1) {
    // 1 + x/2^n at too fine a scale to square: bring it to wf first.
    int t = b.trunc(b.local(v), sv - wf);
    b.nextStage();
    v = b.var(t, wf);
    sv = wf;
  }
  int out = -1;
  for (int k = 1; k <= p.iters; ++k) {
    bool last = k == p.iters;
    int bits = 2 * sv - (last ? f : wf);
    out = b.trunc(b.local(v * v), bits);
    b.nextStage();
    v = b.var(out, last ? f : wf);
    sv = wf;
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
  Builder b(n);
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
  Shape shape = x.shape();
  ExpProgram ep = buildExpProgram(x.size(), params);
  fx::State st(*m.prog.prog);
  fx::setArith(st, ep.x, x.reshaped({x.size()}));
  co_await fx::runStages(p, m.prog, st, 0, m.prog.prog->numStages());
  co_return st.share[ep.out].reshaped(shape);
}

Cost expCost(llvm::ArrayRef<int64_t> shape, const ExpParams &p) {
  int64_t n = numElements(shape);
  if (n == 0)
    return Cost();
  return fx::programCost(*buildExpProgram(n, p).prog);
}

} // namespace mpc::rt
