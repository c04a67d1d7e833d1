//===- runtime/protocols/FxProgram.cpp - Premasked fixed-point programs ---===//
//
// Expansion, dealing, running and costing of Programs (FxProgram.h); the
// Builder and Expr arithmetic are in FxBuilder.cpp.
//
// A masked term  coef * prod_j v_j^e_j  with v_j = D_j + A_j expands as
//   sum over u <= e of  prod_j C(e_j, u_j) D_j^(e_j - u_j)  *  prod_j A_j^u_j
// where the mask product is: 1 (party 0 takes the public part) for |u| = 0,
// the selected candidate share of A_j for |u| = 1, and a dealt product for
// |u| >= 2 (one dealt tensor per combination of the factors' candidates;
// the parties pick the combination element-wise from the public selectors).
//
// Exchange layout of one stage: every item's n fields in item order, packed
// densely into one bit stream of ceil(sum of widths * n / 64) words: 64
// bits per element of an opening, L of a truncation in a ring of L bits,
// one of an opened bit.
//
// A sine series item's field is its phase plus t, L bits; after the
// exchange each party forms its share of the series from the public
// delta and its shares of the dealt cos/sin of t (SineSpec).
//
// Exact truncations (FxProgram.h) of a stage share three more exchanges
// after it: the borrow comparison's tree levels for all of them at once
// (every c compared at the widest f of the stage: Trunc.h's borrowInput),
// one bitToArith of all the borrows, and one opening of every v - a.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/FxProgram.h"

#include "runtime/Parallel.h"
#include "runtime/protocols/BitPack.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <optional>
#include <random>

namespace mpc::rt::fx {

namespace {

u64 binom(int n, int k) {
  u64 r = 1;
  for (int i = 1; i <= k; ++i)
    r = r * u64(n - k + i) / u64(i);
  return r;
}

int64_t bitWords(int64_t nbits) { return (nbits + 63) / 64; }

/// Bits per element of an exchange item.
int fieldWidth(const ValInfo &v) {
  switch (v.kind) {
  case ValKind::Opened:
    return 64;
  case ValKind::Truncated:
  case ValKind::Sines:
    return v.ringBits;
  default:
    return 1;
  }
}

/// A series coefficient at 2^40 (exact to 12 digits; llround and ldexp are
/// exact, so every machine reads it alike).
__int128 coefTurns(double c) { return std::llround(std::ldexp(c, 40)); }

/// round(c s / 2^(62 + 40 - scale)): the public factor c sin at scale.
i64 roundTurns(__int128 c, i64 s, int scale) {
  int sh = 62 + 40 - scale;
  return i64((c * s + (__int128(1) << (sh - 1))) >> sh);
}

/// The dealt cos or sin of 2 pi k t / 2^L at the series' mask scale.
i64 maskTurns(u64 phase, int ringBits, int scale) {
  i64 s = sinTurns(phase, ringBits);
  int sh = 62 - scale;
  return i64((__int128(s) + (__int128(1) << (sh - 1))) >> sh);
}

/// Phase u + a quarter turn: cos via sin.
u64 quarterOn(u64 u, int ringBits) { return u + (u64(1) << (ringBits - 2)); }

/// This party's share of a sine series from the public delta (per element)
/// and its shares of the dealt cos/sin of t; the clear simulation passes
/// cos t = 1 and sin t = 0 (t = 0).
void sineShares(const SineSpec &sp, int ringBits, const u64 *delta,
                const ItemMat *im, int me, u64 *out, int64_t n) {
  u64 mask = ringBits == 64 ? ~u64(0) : (u64(1) << ringBits) - 1;
  u64 one = u64(maskTurns(quarterOn(0, ringBits), ringBits, sp.maskScale));
  std::vector<__int128> coef;
  for (double c : sp.coef)
    coef.push_back(coefTurns(c));
  for (int64_t i = 0; i < n; ++i) {
    u64 acc = 0;
    for (int k = 1; k <= sp.harmonics(); ++k) {
      u64 ph = (u64(k) * delta[i]) & mask;
      __int128 c = coef[k - 1];
      u64 ps = u64(roundTurns(c, sinTurns(ph, ringBits), sp.coefScale));
      if (!im) {
        acc += ps * one;
        continue;
      }
      u64 pc = u64(roundTurns(
          c, sinTurns(quarterOn(ph, ringBits) & mask, ringBits), sp.coefScale));
      acc +=
          ps * im->cosT[k - 1].mine(me)[i] - pc * im->sinT[k - 1].mine(me)[i];
    }
    out[i] = acc;
  }
}

TruncOpening openingOf(const ValInfo &v) { return {v.bits, v.ringBits}; }

/// sin(pi/2 x) for x = v / 2^30 in [0, 1], at 2^62: its Taylor series to
/// x^17 (the next term is below 2^-44), coefficients (pi/2)^(2j+1) /
/// (2j+1)! at 2^62, Horner in x^2 with 128-bit products.
__int128 quarterSine(u64 v) {
  static constexpr i64 a[] = {
      7244019458077122842, 2978983596875621757, 367517370231208053,
      21590780087563799,   739904368663792,     16596735030340,
      262505142787,        3084311801,          27978803};
  __int128 x2 = __int128(v) * v; // 2^60
  __int128 acc = a[8];
  for (int j = 7; j >= 0; --j)
    acc = a[j] - ((acc * x2) >> 60);
  return (acc * v) >> 30;
}

/// The exact truncations of one stage, in item order, and the comparison
/// bits their batched borrow test runs at (the widest bits among them).
struct ExactBatch {
  std::vector<int> ids;
  int bits = 0;
  bool empty() const { return ids.empty(); }
};

ExactBatch exactBatch(const Program &prog, int st) {
  ExactBatch eb;
  for (int id : prog.stages[st].items)
    if (prog.vals[id].exact) {
      eb.ids.push_back(id);
      eb.bits = std::max(eb.bits, prog.vals[id].bits);
    }
  return eb;
}

/// Everything the batch adds: the tree, the borrows' conversion and the
/// re-opening of the exact values (64 bits each way per element).
Cost exactBatchCost(const Program &prog, const ExactBatch &eb) {
  Cost c;
  if (eb.empty())
    return c;
  int64_t total = int64_t(eb.ids.size()) * prog.n;
  c = lessThanZeroBitsOfPublicCost(total, eb.bits);
  c.then(bitToArithCost(total));
  Cost reopen;
  reopen.rounds = 1;
  reopen.bytes01 = reopen.bytes10 = wordBytes(uint64_t(total));
  reopen.elemOps = double(total);
  c.then(reopen);
  return c;
}

} // namespace

i64 sinTurns(u64 u, int ringBits) {
  assert(ringBits >= 2 && ringBits <= 64 && "phase ring out of range");
  // The phase's top 32 bits (a 2^-32 turn moves sin by < 1.5e-9).
  if (ringBits < 64)
    u &= (u64(1) << ringBits) - 1;
  u64 p = ringBits >= 32 ? u >> (ringBits - 32) : u << (32 - ringBits);
  u64 quadrant = p >> 30, r = p & ((u64(1) << 30) - 1);
  u64 v = quadrant % 2 ? (u64(1) << 30) - r : r;
  __int128 s = quarterSine(v);
  return i64(quadrant >= 2 ? -s : s);
}

i64 scaleTurns(double c, i64 s, int scale) {
  return roundTurns(coefTurns(c), s, scale);
}

// --- Program -----------------------------------------------------------------

void Program::finalize() {
  std::map<Mono, int> index;
  products.clear();
  for (Stage &st : stages)
    for (LocalStep &ls : st.locals)
      for (Term &t : ls.terms) {
        t.expand.clear();
        int degree = 0;
        for (auto [id, e] : t.mono)
          degree += e;
        if (degree == 0) {
          t.expand.push_back({});
          continue;
        }
        if (degree == 1)
          continue; // coef * share, masked or not.
        int m = int(t.mono.size());
        llvm::SmallVector<int, 4> u(m, 0);
        while (true) {
          ExpandEntry ent;
          ent.dExp.resize(m);
          int total = 0;
          Mono sub;
          for (int j = 0; j < m; ++j) {
            auto [id, e] = t.mono[j];
            assert(vals[id].masked() && "products need premasked factors");
            ent.mult *= binom(e, u[j]);
            ent.dExp[j] = e - u[j];
            total += u[j];
            if (u[j])
              sub.push_back({id, u[j]});
          }
          if (total == 0) {
            ent.src = ExpandEntry::Const;
          } else if (total == 1) {
            ent.src = ExpandEntry::Cand;
            ent.index = sub[0].first;
          } else {
            ent.src = ExpandEntry::Product;
            auto [it, fresh] = index.try_emplace(sub, int(products.size()));
            if (fresh) {
              ProductSpec ps;
              ps.factors = sub;
              for (auto [id, e] : sub)
                ps.combos *= vals[id].ncand;
              products.push_back(std::move(ps));
            }
            ent.index = it->second;
          }
          t.expand.push_back(std::move(ent));
          int j = 0;
          while (j < m && u[j] == t.mono[j].second)
            u[j++] = 0;
          if (j == m)
            break;
          ++u[j];
        }
      }
}

// --- Dealing -----------------------------------------------------------------

Mat dealProgram(Corr &c, std::shared_ptr<const Program> prog,
                llvm::ArrayRef<std::array<RingTensor, 2>> maskedInputs) {
  const Program &pg = *prog;
  int64_t n = pg.n;
  Shape shape{n};
  bool dealer = c.isDealer();
  Mat m;
  m.prog = prog;
  m.items.resize(pg.vals.size());
  if (dealer)
    m.candValues.resize(pg.vals.size());
  size_t nextMasked = 0;
  for (size_t id = 0; id < pg.vals.size(); ++id) {
    const ValInfo &v = pg.vals[id];
    ItemMat &im = m.items[id];
    switch (v.kind) {
    case ValKind::MaskedInput:
      if (dealer) {
        assert(nextMasked < maskedInputs.size() && "missing masked input");
        m.candValues[id] = maskedInputs[nextMasked];
        if (v.ncand == 2 && m.candValues[id][1].empty())
          m.candValues[id][1] = m.candValues[id][0];
      }
      ++nextMasked;
      break;
    case ValKind::Opened:
      im.a = c.random(shape);
      if (dealer)
        m.candValues[id][0] = Corr::value(im.a);
      break;
    case ValKind::Truncated: {
      TruncPair t = dealTrunc(c, shape, v.bits, v.ringBits);
      im.r = std::move(t.r);
      im.rHigh = std::move(t.rHigh);
      im.rWrap = std::move(t.rWrap);
      if (v.exact) {
        im.a = c.random(shape);
        if (dealer)
          m.candValues[id][0] = Corr::value(im.a);
      } else if (dealer) {
        m.candValues[id][0] = neg(Corr::value(im.rHigh));
        m.candValues[id][1] = neg(Corr::value(im.rWrap));
      }
      break;
    }
    case ValKind::Sines: {
      // t uniform (the opening's mask), then cos/sin of each harmonic.
      const SineSpec &sp = pg.sines[v.series];
      im.a = c.random(shape);
      RingTensor t = dealer ? Corr::value(im.a) : RingTensor();
      u64 mask = v.ringBits == 64 ? ~u64(0) : (u64(1) << v.ringBits) - 1;
      for (int k = 1; k <= sp.harmonics(); ++k)
        for (int cosine = 1; cosine >= 0; --cosine)
          (cosine ? im.cosT : im.sinT).push_back(c.shareOf(shape, [&] {
            RingTensor out(shape);
            for (int64_t i = 0; i < n; ++i) {
              u64 ph = (u64(k) * t[i]) & mask;
              if (cosine)
                ph = quarterOn(ph, v.ringBits);
              out[i] = u64(maskTurns(ph, v.ringBits, sp.maskScale));
            }
            return out;
          }));
      break;
    }
    case ValKind::OpenedBits: {
      im.rhoBits = c.randomBits({bitWords(n)});
      im.rho = c.shareOf(shape, [&] {
        RingTensor b = Corr::xorValue(im.rhoBits), r(shape);
        for (int64_t i = 0; i < n; ++i)
          r[i] = (b[i / 64] >> (i % 64)) & 1;
        return r;
      });
      if (dealer) {
        m.candValues[id][0] = Corr::value(im.rho);
        m.candValues[id][1] = neg(m.candValues[id][0]);
      }
      break;
    }
    default:
      break;
    }
  }
  m.stageExact.resize(pg.stages.size());
  for (int st = 0; st < pg.numStages(); ++st) {
    ExactBatch eb = exactBatch(pg, st);
    if (eb.empty())
      continue;
    int64_t total = int64_t(eb.ids.size()) * n;
    StageExactMat &se = m.stageExact[st];
    se.borrow = dealLessThanZeroBitsKnown(c, {total}, eb.bits, [&] {
      RingTensor masks(Shape{total});
      for (size_t j = 0; j < eb.ids.size(); ++j) {
        const ValInfo &v = pg.vals[eb.ids[j]];
        TruncOpening o = openingOf(v);
        RingTensor r = Corr::value(m.items[eb.ids[j]].r);
        for (int64_t i = 0; i < n; ++i)
          masks[int64_t(j) * n + i] = o.borrowMask(r[i], eb.bits);
      }
      return masks;
    });
    se.b2a = dealBitToArith(c, {total});
  }
  m.products.resize(pg.products.size());
  for (size_t k = 0; k < pg.products.size(); ++k) {
    const ProductSpec &ps = pg.products[k];
    for (int combo = 0; combo < ps.combos; ++combo)
      m.products[k].push_back(c.shareOf(shape, [&] {
        RingTensor out(shape);
        std::fill(out.vec().begin(), out.vec().end(), u64(1));
        int rest = combo;
        for (auto [id, e] : ps.factors) {
          int nc = pg.vals[id].ncand;
          const RingTensor &cv = m.candValues[id][rest % nc];
          rest /= nc;
          for (int64_t i = 0; i < n; ++i)
            for (int q = 0; q < e; ++q)
              out[i] *= cv[i];
        }
        return out;
      }));
  }
  return m;
}

// --- Cost --------------------------------------------------------------------

Cost materialCost(const Program &prog) {
  Cost c;
  uint64_t words = 0;
  for (const ValInfo &v : prog.vals) {
    if (v.kind == ValKind::Truncated)
      words += 2 * prog.n;
    else if (v.kind == ValKind::OpenedBits)
      words += prog.n;
    else if (v.kind == ValKind::Sines)
      words += 2 * uint64_t(prog.sines[v.series].harmonics()) * prog.n;
  }
  for (const ProductSpec &ps : prog.products)
    words += uint64_t(ps.combos) * prog.n;
  c.dealerBytes1 = wordBytes(words);
  for (int st = 0; st < prog.numStages(); ++st)
    c.dealerBytes1 += exactBatchCost(prog, exactBatch(prog, st)).dealerBytes1;
  return c;
}

Cost stagesCost(const Program &prog, int from, int to) {
  Cost c;
  for (int s = from; s < to; ++s) {
    const Stage &st = prog.stages[s];
    double ops = 0;
    for (const LocalStep &ls : st.locals)
      for (const Term &t : ls.terms)
        ops += double(std::max<size_t>(1, t.expand.size())) * prog.n;
    ops += double(st.items.size()) * prog.n; // masking and unpacking
    for (int id : st.items) // the public factors of each harmonic
      if (prog.vals[id].kind == ValKind::Sines)
        ops += 4.0 * prog.sines[prog.vals[id].series].harmonics() * prog.n;
    c.elemOps += ops;
    if (st.items.empty())
      continue;
    int64_t width = 0;
    for (int id : st.items)
      width += fieldWidth(prog.vals[id]);
    int64_t words = bitWords(width * prog.n);
    c.rounds += 1;
    c.bytes01 += wordBytes(words);
    c.bytes10 += wordBytes(words);
    // The dealer's part is materialCost's.
    Cost exact = exactBatchCost(prog, exactBatch(prog, s));
    exact.dealerBytes1 = 0;
    c.then(exact);
  }
  return c;
}

Cost programCost(const Program &prog) {
  Cost c = materialCost(prog);
  c.then(stagesCost(prog, 0, prog.numStages()));
  return c;
}

// --- Running -----------------------------------------------------------------

State::State(const Program &prog)
    : share(prog.vals.size()), masked(prog.vals.size()), bits(prog.vals.size()),
      publics(prog.numPublic) {}

void setPublic(State &s, int slot, RingTensor t) {
  s.publics[slot] = std::move(t);
}

void setArith(State &s, int id, RingTensor share) {
  s.share[id] = std::move(share);
}

void setBits(State &s, int id, SharedBits bits) {
  s.bits[id] = std::move(bits);
}

void setMasked(State &s, int id, MaskedView view) {
  // share = D (party 0's part is added where used) + selected candidate:
  // stored without D; runStages adds D for party 0 (see maskedShare).
  s.masked[id] = std::move(view);
}

MaskedView viewOf(const State &s, int id) { return s.masked[id]; }

namespace {

RingTensor broadcastFlat(const RingTensor &t, llvm::ArrayRef<int64_t> from,
                         llvm::ArrayRef<int64_t> to) {
  return broadcastTo(t.reshaped(from), to).reshaped({numElements(to)});
}

} // namespace

MaskedView broadcastView(const MaskedView &v, llvm::ArrayRef<int64_t> from,
                         llvm::ArrayRef<int64_t> to) {
  MaskedView out;
  out.ncand = v.ncand;
  out.d = broadcastFlat(v.d, from, to);
  for (int k = 0; k < v.ncand; ++k)
    out.cand[k] = broadcastFlat(v.cand[k], from, to);
  if (!v.sel.empty()) {
    RingTensor sel(from);
    for (size_t i = 0; i < v.sel.size(); ++i)
      sel[i] = v.sel[i];
    RingTensor b = broadcastFlat(sel, from, to);
    out.sel.resize(b.size());
    for (int64_t i = 0; i < b.size(); ++i)
      out.sel[i] = uint8_t(b[i]);
  }
  return out;
}

std::array<RingTensor, 2> broadcastCands(const std::array<RingTensor, 2> &c,
                                         llvm::ArrayRef<int64_t> from,
                                         llvm::ArrayRef<int64_t> to) {
  std::array<RingTensor, 2> out;
  for (int k = 0; k < 2; ++k)
    if (!c[k].empty())
      out[k] = broadcastFlat(c[k], from, to);
  return out;
}

namespace {

/// This party's share of a premasked value: [p = 0] D + selected candidate.
RingTensor maskedShare(const MaskedView &v, bool p0) {
  int64_t n = v.d.size();
  RingTensor out(Shape{n});
  for (int64_t i = 0; i < n; ++i) {
    int sel = v.ncand == 2 ? v.sel[i] : 0;
    out[i] = v.cand[sel][i] + (p0 ? v.d[i] : 0);
  }
  return out;
}

/// One expansion entry of a local step with its operands resolved to
/// arrays: v_i = k * prod_j d_j[i]^e_j * (candidate or product share)[i].
struct ResolvedEntry {
  u64 k = 0;
  llvm::SmallVector<std::pair<const u64 *, int>, 4> powers; ///< (D, e > 0)
  ExpandEntry::Src src = ExpandEntry::Const;
  /// Cand: the two candidates (the second unused with one) and the
  /// selectors (null with one candidate). Product: the share of each
  /// candidate combination (Mat::products), and each two-candidate factor's
  /// selectors and stride in the combination's index.
  llvm::SmallVector<const u64 *, 4> shares;
  const uint8_t *sel = nullptr;
  llvm::SmallVector<std::pair<const uint8_t *, int>, 4> selStrides;

  u64 at(int64_t i) const {
    u64 v = k;
    for (auto [d, e] : powers)
      for (int q = 0; q < e; ++q)
        v *= d[i];
    switch (src) {
    case ExpandEntry::Const:
      break;
    case ExpandEntry::Cand:
      v *= shares[sel ? sel[i] : 0][i];
      break;
    case ExpandEntry::Product: {
      int combo = 0;
      for (auto [sl, stride] : selStrides)
        combo += sl[i] * stride;
      v *= shares[combo][i];
      break;
    }
    }
    return v;
  }
};

/// Runs one local step. The terms' entries are resolved to arrays once;
/// the elements then go block by block through every entry, so the output
/// block stays in cache instead of streaming the whole output once per
/// entry (GeLU's polynomials have dozens), and the blocks are shared by
/// the pool's threads. Sums mod 2^64 do not depend on the order.
void runLocal(const Program &prog, const Mat &m, State &s, const LocalStep &ls,
              bool p0, int party) {
  int64_t n = prog.n;
  std::vector<const u64 *> linear; // degree-1 terms: x
  std::vector<u64> linearCoef;     // and their coefficients
  std::vector<ResolvedEntry> entries;
  for (const Term &t : ls.terms) {
    if (t.expand.empty()) { // degree 1
      const RingTensor &x = s.share[t.mono[0].first];
      assert(x.size() == n && "value not available");
      linear.push_back(x.data());
      linearCoef.push_back(t.coef);
      continue;
    }
    for (const ExpandEntry &ent : t.expand) {
      if (ent.src == ExpandEntry::Const && !p0)
        continue;
      ResolvedEntry r;
      r.k = t.coef * ent.mult;
      for (size_t j = 0; j < ent.dExp.size(); ++j)
        if (ent.dExp[j] > 0)
          r.powers.push_back({s.masked[t.mono[j].first].d.data(), ent.dExp[j]});
      r.src = ent.src;
      if (ent.src == ExpandEntry::Cand) {
        const MaskedView &mv = s.masked[ent.index];
        for (int c = 0; c < mv.ncand; ++c)
          r.shares.push_back(mv.cand[c].data());
        r.sel = mv.ncand == 2 ? mv.sel.data() : nullptr;
      } else if (ent.src == ExpandEntry::Product) {
        for (const Dealt &combo : m.products[ent.index])
          r.shares.push_back(combo.mine(party).data());
        int stride = 1;
        for (auto [id, e] : prog.products[ent.index].factors) {
          const MaskedView &v = s.masked[id];
          if (v.ncand == 2)
            r.selStrides.push_back({v.sel.data(), stride});
          stride *= v.ncand;
        }
      }
      entries.push_back(std::move(r));
    }
  }
  const u64 *factor = nullptr, *addend = nullptr;
  if (ls.elemFactor >= 0) {
    assert(s.publics[ls.elemFactor].size() == n && "public factor not set");
    factor = s.publics[ls.elemFactor].data();
  }
  if (ls.elemAdd >= 0 && p0) {
    assert(s.publics[ls.elemAdd].size() == n && "public addend not set");
    addend = s.publics[ls.elemAdd].data();
  }

  RingTensor out(Shape{n});
  u64 *o = out.data();
  constexpr int64_t kBlock = 1024;
  parallelRange(n, 4 * kBlock, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; b += kBlock) {
      int64_t e = std::min(hi, b + kBlock);
      for (size_t t = 0; t < linear.size(); ++t) {
        const u64 *x = linear[t];
        u64 c = linearCoef[t];
        for (int64_t i = b; i < e; ++i)
          o[i] += c * x[i];
      }
      for (const ResolvedEntry &r : entries)
        for (int64_t i = b; i < e; ++i)
          o[i] += r.at(i);
      if (factor)
        for (int64_t i = b; i < e; ++i)
          o[i] *= factor[i];
      if (addend)
        for (int64_t i = b; i < e; ++i)
          o[i] += addend[i];
    }
  });
  s.share[ls.out] = std::move(out);
}

/// Calls \p body with the element-wise function giving this party's field
/// of exchange item \p v: X - A (opening), x + r (+ bias) mod 2^L
/// (truncation), b ^ rho (bits). One instantiation per kind, so the loops
/// over elements do not branch on it.
template <typename Body>
void withField(const ValInfo &v, const ItemMat &im, const State &s, int me,
               Body body) {
  switch (v.kind) {
  case ValKind::Opened: {
    const u64 *x = s.share[v.src].data(), *a = im.a.mine(me).data();
    assert(s.share[v.src].size() > 0 && "open of an unavailable value");
    body([=](int64_t i) { return x[i] - a[i]; });
    break;
  }
  case ValKind::Truncated: {
    const u64 *x = s.share[v.src].data(), *r = im.r.mine(me).data();
    assert(s.share[v.src].size() > 0 && "truncation of an unavailable value");
    TruncOpening o = openingOf(v);
    bool p0 = me == 0;
    body([=](int64_t i) { return o.send(x[i], r[i], p0); });
    break;
  }
  case ValKind::Sines: { // y + t (the packing keeps the low L bits)
    const u64 *x = s.share[v.src].data(), *t = im.a.mine(me).data();
    assert(s.share[v.src].size() > 0 && "sines of an unavailable value");
    body([=](int64_t i) { return x[i] + t[i]; });
    break;
  }
  default: {
    const u64 *b = s.bits[v.src].words.data();
    const u64 *rho = im.rhoBits.mine(me).data();
    assert(!s.bits[v.src].words.empty() && "bits not available");
    body(
        [=](int64_t i) { return ((b[i / 64] ^ rho[i / 64]) >> (i % 64)) & 1; });
    break;
  }
  }
}

/// Subtracts the borrows from the exact truncations' shares (which hold
/// the one-round result, floor + borrow); returns this party's v - a.
std::vector<u64> subtractBorrows(const Mat &m, State &s, const ExactBatch &eb,
                                 const RingTensor &borrow, int me) {
  int64_t n = m.prog->n;
  std::vector<u64> mine(size_t(borrow.size()));
  for (size_t j = 0; j < eb.ids.size(); ++j) {
    RingTensor &v = s.share[eb.ids[j]];
    const RingTensor &a = m.items[eb.ids[j]].a.mine(me);
    for (int64_t i = 0, k = int64_t(j) * n; i < n; ++i, ++k) {
      v[i] -= borrow[k];
      mine[k] = v[i] - a[i];
    }
  }
  return mine;
}

/// Premasks each exact value afresh: D = v - a opened, one candidate a.
void setReopened(const Mat &m, State &s, const ExactBatch &eb,
                 const std::vector<u64> &mine, const std::vector<u64> &theirs,
                 int me) {
  int64_t n = m.prog->n;
  for (size_t j = 0; j < eb.ids.size(); ++j) {
    MaskedView mv;
    mv.ncand = 1;
    mv.d = RingTensor(Shape{n});
    for (int64_t i = 0, k = int64_t(j) * n; i < n; ++i, ++k)
      mv.d[i] = mine[k] + theirs[k];
    mv.cand[0] = m.items[eb.ids[j]].a.mine(me);
    s.masked[eb.ids[j]] = std::move(mv);
  }
}

/// Finishes a stage's exact truncations: the borrows (tree + bitToArith
/// over the batch), then the re-opening.
Proto<int> exactBorrows(Party &p, const Mat &m, State &s, int st,
                        const ExactBatch &eb, std::vector<u64> borrowIn) {
  int64_t total = int64_t(borrowIn.size());
  const StageExactMat &se = m.stageExact[st];
  // (Not Shape{total}: GCC 12 rejects an initializer list in a coroutine.)
  Shape shape(1, total);
  SharedBits b = co_await lessThanZeroBitsOfPublic(
      p, std::move(borrowIn), std::move(shape), se.borrow, eb.bits);
  RingTensor borrow = co_await bitToArith(p, std::move(b), se.b2a);
  std::vector<u64> mine = subtractBorrows(m, s, eb, borrow, p.id());
  std::vector<u64> theirs = co_await p.exchange(mine, size_t(total));
  assert(int64_t(theirs.size()) == total && "peer sent the wrong size");
  setReopened(m, s, eb, mine, theirs, p.id());
  co_return 0;
}

} // namespace

Proto<int> runStages(Party &p, const Mat &m, State &s, int from, int to) {
  const Program &prog = *m.prog;
  int64_t n = prog.n;
  int me = p.id();
  bool p0 = me == 0;
  // Masked inputs set by the caller get their shares now; a one-candidate
  // view where two are declared takes its candidate for both.
  for (size_t id = 0; id < prog.vals.size(); ++id)
    if (prog.vals[id].kind == ValKind::MaskedInput && s.share[id].empty() &&
        !s.masked[id].d.empty()) {
      MaskedView &mv = s.masked[id];
      if (prog.vals[id].ncand == 2 && mv.ncand == 1) {
        mv.ncand = 2;
        mv.cand[1] = mv.cand[0];
        mv.sel.assign(size_t(n), 0);
      }
      s.share[id] = maskedShare(mv, p0);
    }

  for (int st = from; st < to; ++st) {
    const Stage &stage = prog.stages[st];
    for (const LocalStep &ls : stage.locals)
      runLocal(prog, m, s, ls, p0, me);
    if (stage.items.empty())
      continue;

    // This party's fields, item by item, computed straight into one packed
    // message; after the exchange each is computed again (as cheap as
    // reading it back) and combined with the peer's.
    int64_t width = 0;
    for (int id : stage.items)
      width += fieldWidth(prog.vals[id]);
    std::vector<u64> msg(bitWords(width * n), 0);
    uint64_t pos = 0;
    for (int id : stage.items) {
      const ValInfo &v = prog.vals[id];
      int w = fieldWidth(v);
      withField(v, m.items[id], s, me, [&](auto field) {
        bits::packEach(n, w, msg.data(), pos, field);
      });
      pos += uint64_t(w) * n;
    }

    size_t total = msg.size();
    std::vector<u64> theirs = co_await p.exchange(std::move(msg), total);
    assert(theirs.size() == total && "peer sent the wrong size");

    // Exact truncations: the public input of each one's borrow test.
    ExactBatch eb = exactBatch(prog, st);
    std::vector<u64> borrowIn(eb.ids.size() * size_t(n));
    size_t nextExact = 0;
    pos = 0;
    for (int id : stage.items) {
      const ValInfo &v = prog.vals[id];
      const ItemMat &im = m.items[id];
      int w = fieldWidth(v);
      if (v.kind == ValKind::Sines) {
        std::vector<u64> delta(static_cast<size_t>(n));
        withField(v, im, s, me, [&](auto field) {
          bits::unpackEach(theirs.data(), pos, n, w,
                           [&](int64_t i, u64 t) { delta[i] = field(i) + t; });
        });
        RingTensor out(Shape{n});
        sineShares(prog.sines[v.series], v.ringBits, delta.data(), &im, me,
                   out.data(), n);
        s.share[id] = std::move(out);
        pos += uint64_t(w) * n;
        continue;
      }
      MaskedView mv;
      mv.d = RingTensor(Shape{n});
      u64 *d = mv.d.data();
      if (v.kind == ValKind::Opened) {
        mv.ncand = 1;
        withField(v, im, s, me, [&](auto field) {
          bits::unpackEach(theirs.data(), pos, n, w,
                           [&](int64_t i, u64 t) { d[i] = field(i) + t; });
        });
        mv.cand[0] = im.a.mine(me);
        s.share[id] = s.share[v.src];
      } else if (v.kind == ValKind::Truncated) {
        mv.ncand = 2;
        mv.sel.resize(n);
        uint8_t *sel = mv.sel.data();
        TruncOpening o = openingOf(v);
        u64 *bin =
            v.exact ? borrowIn.data() + int64_t(nextExact++) * n : nullptr;
        withField(v, im, s, me, [&](auto field) {
          bits::unpackEach(theirs.data(), pos, n, w, [&](int64_t i, u64 t) {
            u64 c = o.open(field(i), t);
            d[i] = o.publicPart(c);
            sel[i] = o.takesWrap(c) ? 1 : 0;
            if (bin)
              bin[i] = o.borrowInput(c, eb.bits);
          });
        });
        mv.cand[0] = neg(im.rHigh.mine(me));
        mv.cand[1] = neg(im.rWrap.mine(me));
        s.share[id] = maskedShare(mv, p0);
      } else {
        mv.ncand = 2;
        mv.sel.resize(n);
        uint8_t *sel = mv.sel.data();
        withField(v, im, s, me, [&](auto field) {
          bits::unpackEach(theirs.data(), pos, n, w, [&](int64_t i, u64 t) {
            u64 c = field(i) ^ t;
            d[i] = c;
            sel[i] = uint8_t(c);
          });
        });
        mv.cand[0] = im.rho.mine(me);
        mv.cand[1] = neg(mv.cand[0]);
        s.share[id] = maskedShare(mv, p0);
      }
      pos += uint64_t(w) * n;
      s.masked[id] = std::move(mv);
    }
    if (!eb.empty())
      co_await exactBorrows(p, m, s, st, eb, std::move(borrowIn));
  }
  co_return 0;
}

// --- Simulating --------------------------------------------------------------

namespace {
/// The generator of the live RandomTruncation scope on this thread.
thread_local std::optional<std::mt19937_64> randomTruncation;
} // namespace

RandomTruncation::RandomTruncation(uint64_t seed) {
  assert(!randomTruncation && "RandomTruncation scopes do not nest");
  randomTruncation.emplace(seed);
}

RandomTruncation::~RandomTruncation() { randomTruncation.reset(); }

Clear::Clear(const Program &prog)
    : val(prog.vals.size()), publics(prog.numPublic) {}

void simulateStages(const Program &prog, Clear &s, int from, int to) {
  int64_t n = prog.n;
  for (int st = from; st < to; ++st) {
    const Stage &stage = prog.stages[st];
    std::vector<u64> term(static_cast<size_t>(n));
    for (const LocalStep &ls : stage.locals) {
      RingTensor out(Shape{n});
      u64 *o = out.data();
      // Term by term, factor by factor, over all elements: loops the
      // compiler vectorises (this runs for every simulated op, hundreds of
      // times in --approx auto's search).
      for (const Term &t : ls.terms) {
        u64 *v = term.data();
        std::fill(v, v + n, t.coef);
        for (auto [id, e] : t.mono) {
          assert(s.val[id].size() == n && "value not available");
          const u64 *x = s.val[id].data();
          for (int q = 0; q < e; ++q)
            for (int64_t i = 0; i < n; ++i)
              v[i] *= x[i];
        }
        for (int64_t i = 0; i < n; ++i)
          o[i] += v[i];
      }
      if (ls.elemFactor >= 0)
        for (int64_t i = 0; i < n; ++i)
          o[i] *= s.publics[ls.elemFactor][i];
      if (ls.elemAdd >= 0)
        for (int64_t i = 0; i < n; ++i)
          o[i] += s.publics[ls.elemAdd][i];
      s.val[ls.out] = std::move(out);
    }
    for (int id : stage.items) {
      const ValInfo &v = prog.vals[id];
      const RingTensor &src = s.val[v.src];
      assert(src.size() == n && "exchange of an unavailable value");
      if (v.kind == ValKind::Sines) { // t = 0: delta = y, cos t = 1
        RingTensor out(Shape{n});
        sineShares(prog.sines[v.series], v.ringBits, src.data(), nullptr, 0,
                   out.data(), n);
        s.val[id] = std::move(out);
        continue;
      }
      if (v.kind != ValKind::Truncated) {
        s.val[id] = src;
        continue;
      }
      TruncOpening o = openingOf(v);
      // An exact truncation is the floor; the one-round truncation gives
      // the floor or one more, the latter with probability the fraction
      // dropped, so its expected value is z / 2^bits: the nearest
      // integer models it without the floor's bias of half an ulp, which
      // chains of truncations (exp's squarings) accumulate.
      RingTensor out(Shape{n});
      // What is added below the dropped bits before the floor: nothing
      // (exact), half of them (nearest), or, drawn, u uniform in
      // [0, 2^bits), one more than the floor with probability
      // (z mod 2^bits) / 2^bits.
      bool rounds = !v.exact && o.bits > 0;
      bool drawn = rounds && randomTruncation;
      u64 low = rounds ? (u64(1) << o.bits) - 1 : 0;
      u64 half = rounds ? u64(1) << (o.bits - 1) : 0;
      for (int64_t i = 0; i < n; ++i) {
        u64 below = drawn ? (*randomTruncation)() & low : half;
        out[i] = o.publicPart(o.send(src[i] + below, 0, /*p0=*/true));
      }
      s.val[id] = std::move(out);
    }
  }
}

void simulateProgram(const Program &prog, Clear &s) {
  simulateStages(prog, s, 0, prog.numStages());
}

} // namespace mpc::rt::fx
