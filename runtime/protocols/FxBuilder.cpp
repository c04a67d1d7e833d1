//===- runtime/protocols/FxBuilder.cpp - Writing premasked programs -------===//
//
// Expr arithmetic (polynomials over program values with ring coefficients
// at a tracked fixed-point scale) and the Builder that turns them into a
// Program's stages (FxProgram.h).
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/FxProgram.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace mpc::rt::fx {

namespace {

Mono mergeMono(const Mono &a, const Mono &b) {
  Mono out;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].first < b[j].first))
      out.push_back(a[i++]);
    else if (i == a.size() || b[j].first < a[i].first)
      out.push_back(b[j++]);
    else {
      out.push_back({a[i].first, a[i].second + b[j].second});
      ++i, ++j;
    }
  }
  return out;
}

} // namespace

// --- Expr --------------------------------------------------------------------

Expr operator+(Expr a, const Expr &b) {
  int scale = std::max(a.scale, b.scale);
  a = Builder::alignTo(std::move(a), scale);
  Expr bb = Builder::alignTo(b, scale);
  for (auto &[mono, coef] : bb.terms) {
    u64 &t = a.terms[mono];
    t += coef;
    if (t == 0)
      a.terms.erase(mono);
  }
  return a;
}

Expr operator-(Expr a) {
  for (auto &[mono, coef] : a.terms)
    coef = u64(0) - coef;
  return a;
}

Expr operator-(Expr a, const Expr &b) { return std::move(a) + (-b); }

Expr operator*(const Expr &a, const Expr &b) {
  Expr out;
  out.scale = a.scale + b.scale;
  for (auto &[ma, ca] : a.terms)
    for (auto &[mb, cb] : b.terms) {
      u64 &t = out.terms[mergeMono(ma, mb)];
      t += ca * cb;
    }
  for (auto it = out.terms.begin(); it != out.terms.end();)
    it = it->second == 0 ? out.terms.erase(it) : std::next(it);
  return out;
}

// --- Builder -----------------------------------------------------------------

Builder::Builder(int64_t n, bool exact)
    : prog_(std::make_shared<Program>()), exact_(exact) {
  assert(n > 0 && "programs need at least one element");
  prog_->n = n;
  prog_->stages.emplace_back();
}

int Builder::arithInput() {
  prog_->vals.push_back({ValKind::ArithInput});
  availFrom_.push_back(0);
  return int(prog_->vals.size()) - 1;
}

int Builder::bitsInput() {
  prog_->vals.push_back({ValKind::BitsInput});
  availFrom_.push_back(0);
  return int(prog_->vals.size()) - 1;
}

int Builder::maskedInput(int ncand) {
  ValInfo v{ValKind::MaskedInput};
  v.ncand = ncand;
  prog_->vals.push_back(v);
  availFrom_.push_back(0);
  return int(prog_->vals.size()) - 1;
}

Expr Builder::var(int id, int scale) const {
  Expr e;
  e.scale = scale;
  e.terms[Mono{{id, 1}}] = 1;
  return e;
}

Expr Builder::constant(double c, int scale) {
  Expr e;
  e.scale = scale;
  if (u64 v = encodeFixed(c, scale))
    e.terms[Mono{}] = v;
  return e;
}

Expr Builder::mulConst(Expr e, double c, int fc) {
  u64 k = encodeFixed(c, fc);
  for (auto it = e.terms.begin(); it != e.terms.end();) {
    it->second *= k;
    it = it->second == 0 ? e.terms.erase(it) : std::next(it);
  }
  e.scale += fc;
  return e;
}

Expr Builder::mulInt(Expr e, i64 k) {
  for (auto it = e.terms.begin(); it != e.terms.end();) {
    it->second *= u64(k);
    it = it->second == 0 ? e.terms.erase(it) : std::next(it);
  }
  return e;
}

Expr Builder::reinterpret(Expr e, int d) {
  e.scale += d;
  return e;
}

Expr Builder::alignTo(Expr e, int to) {
  assert(to >= e.scale && "alignTo only raises the scale");
  int d = to - e.scale;
  assert(d < 64 && "scale difference too large");
  for (auto &[mono, coef] : e.terms)
    coef <<= d;
  e.scale = to;
  return e;
}

int Builder::publicSlot() { return prog_->numPublic++; }

int Builder::local(const Expr &e, int elemFactor, int elemAdd) {
  LocalStep ls;
  ls.elemFactor = elemFactor;
  ls.elemAdd = elemAdd;
  for (auto &[mono, coef] : e.terms) {
    int degree = 0;
    for (auto [id, ex] : mono) {
      assert(availFrom_[id] <= stage() && "value used before its exchange");
      degree += ex;
    }
#ifndef NDEBUG
    for (const auto &factor : mono)
      assert((degree == 1 || prog_->vals[factor.first].masked()) &&
             "a product of an unmasked value");
#endif
    (void)degree;
    ls.terms.push_back({coef, mono, {}});
  }
  prog_->vals.push_back({ValKind::Local});
  availFrom_.push_back(stage());
  int out = int(prog_->vals.size()) - 1;
  ls.out = out;
  prog_->stages.back().locals.push_back(std::move(ls));
  return out;
}

int Builder::open(int rawId) {
  assert(availFrom_[rawId] <= stage() && "open of an unavailable value");
  ValInfo v{ValKind::Opened};
  v.src = rawId;
  v.ncand = 1;
  prog_->vals.push_back(v);
  availFrom_.push_back(stage() + 1);
  int id = int(prog_->vals.size()) - 1;
  prog_->stages.back().items.push_back(id);
  return id;
}

int Builder::trunc(int rawId, int bits, int ringBits) {
  assert(availFrom_[rawId] <= stage() && "truncation of an unavailable value");
  // bits = 0 in a narrow ring lifts a bounded value: an opening of
  // ringBits bits instead of 64, with two mask candidates.
  assert(bits >= (ringBits < kFullRingBits ? 0 : 1) && bits <= ringBits - 2 &&
         ringBits >= 3 && ringBits <= kFullRingBits &&
         "truncation bits out of range");
  ValInfo v{ValKind::Truncated};
  v.src = rawId;
  v.bits = bits;
  v.ringBits = ringBits;
  v.ncand = 2;
  if (exact_ && bits >= 1) { // bits = 0 drops no borrow: exact already
    v.exact = true;
    v.ncand = 1;
  }
  prog_->vals.push_back(v);
  availFrom_.push_back(stage() + 1);
  int id = int(prog_->vals.size()) - 1;
  prog_->stages.back().items.push_back(id);
  return id;
}

int Builder::ringFor(double log2Bound, int scale) {
  // |z| < 2^(L-2) with z = value 2^scale <= 2^(log2Bound + scale), plus one
  // bit for the rounding of the values the bound was computed from.
  int need = int(std::ceil(log2Bound)) + scale + 3;
  return std::min(kFullRingBits, std::max(need, 3));
}

int Builder::openBits(int bitsId) { return openBitsIn(bitsId, stage()); }

int Builder::openBitsIn(int bitsId, int st) {
  assert(prog_->vals[bitsId].kind == ValKind::BitsInput &&
         "openBits needs a bits input");
  assert(st >= 0 && st <= stage() && "openBitsIn a future stage");
  ValInfo v{ValKind::OpenedBits};
  v.src = bitsId;
  v.ncand = 2;
  prog_->vals.push_back(v);
  availFrom_.push_back(st + 1);
  int id = int(prog_->vals.size()) - 1;
  prog_->stages[st].items.push_back(id);
  return id;
}

int Builder::sines(int rawId, int ringBits, SineSpec spec) {
  assert(availFrom_[rawId] <= stage() && "sines of an unavailable value");
  assert(ringBits >= 2 && ringBits <= kFullRingBits && spec.harmonics() > 0 &&
         spec.coefScale + spec.maskScale <= 61 && "sine series out of range");
  ValInfo v{ValKind::Sines};
  v.src = rawId;
  v.ringBits = ringBits;
  v.series = int(prog_->sines.size());
  prog_->sines.push_back(std::move(spec));
  prog_->vals.push_back(v);
  availFrom_.push_back(stage() + 1);
  int id = int(prog_->vals.size()) - 1;
  prog_->stages.back().items.push_back(id);
  return id;
}

void Builder::nextStage() { prog_->stages.emplace_back(); }

std::shared_ptr<const Program> Builder::finish() {
  while (!prog_->stages.empty() && prog_->stages.back().items.empty() &&
         prog_->stages.back().locals.empty())
    prog_->stages.pop_back();
  prog_->finalize();
  return prog_;
}

} // namespace mpc::rt::fx
