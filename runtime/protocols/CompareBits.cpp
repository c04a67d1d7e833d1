//===- runtime/protocols/CompareBits.cpp - XOR-shared sign test ----------===//
//
// lessThanZeroBits (see Compare.h for the outline). The shape of the
// computation depends only on K, and is fixed by a ComparePlan:
//
// Leaves. L = ceil(log4(ceil(K/6))) tree levels are needed with groups of
// at most 6 bits; with that many levels, G = min(4^L, ceil(K/4)) groups keep
// the dealer's tables small (a g-bit group costs 2^g - 1 table bits). Group
// widths are balanced (K=62: 14 groups of 4 bits and 2 of 3; K=24: 4 of 6).
//
// A wide plan (K in (24, 48], for small batches) is one level: ceil(K/6)
// leaves under a single node of fan-in up to 8, whose every product of
// masks the dealer gives (367 planes at fan-in 8).
//
// Levels. m nodes become ceil(m/4) parents of balanced fan-in (<= 4). A
// node's eq is computed only when its parent uses it: always for children
// 1.. of a node, for child 0 only when the node's own eq is used; the root
// needs only gt.
//
// Node evaluation. With opened o_v = v ^ m_v, a product of variables S is
//   prod_{v in S} (o_v ^ m_v) = XOR_{T subset S} (AND_{v in S\T} o_v) M_T,
// with M_{} = 1 (party 0 adds it), M_{v} = m_v (a mask share) and M_T the
// dealer's XOR share of AND_{v in T} m_v for |T| >= 2 (its "monomials").
// Each node becomes a list of terms (public coefficient planes times a
// share plane); the plan compiles these lists once per K.
//
// Dealer stream (XOR-shared, one correction, packed densely): the plane of
// r_K, then each element's tables (element-major), then every level's
// monomial planes. Masks are PRG draws and cost nothing.
//
//===----------------------------------------------------------------------===//
#include "runtime/Parallel.h"
#include "runtime/protocols/BitPack.h"
#include "runtime/protocols/Compare.h"
#include "runtime/protocols/CompareImpl.h"

#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <map>

namespace mpc::rt {

namespace {

using bits::BitReader;
using bits::BitWriter;
using bits::lowMask;
using bits::wordsFor;

/// A term of a node output: (AND of public opened planes) & (share plane).
struct TreeTerm {
  enum Src : uint8_t { One, Mask, Mono, ChildGt };
  llvm::SmallVector<int, 4> coef; ///< Opened-plane indices of the level.
  Src src = One;
  int idx = 0; ///< Mask: opened plane; Mono: monomial; ChildGt: child.
};

struct TreeNode {
  int first = 0, count = 0; ///< Children [first, first + count).
  bool needEq = false;
  std::vector<TreeTerm> gtTerms, eqTerms;
};

struct OpenedVar {
  int child;
  bool isEq;
};

struct TreeLevel {
  std::vector<TreeNode> nodes;
  std::vector<OpenedVar> opened;                ///< In plane order.
  std::vector<llvm::SmallVector<int, 4>> monos; ///< Opened planes of each.
  int maskBase = 0, monoBase = 0; ///< Offsets among all levels' planes.
};

struct ComparePlan {
  int bits = 0;
  std::vector<int> groupShift, groupWidth; ///< Lowest group first.
  int tableBits = 0;                       ///< Per element.
  std::vector<bool> leafNeedEq;
  std::vector<TreeLevel> levels;
  int maskPlanes = 0, monoPlanes = 0;

  /// Dealer stream: r_K plane, tables, monomial planes.
  int64_t dealtBits(int64_t n) const {
    return n * (1 + int64_t(tableBits) + monoPlanes);
  }
  uint64_t tableStart(int64_t n) const { return uint64_t(n); }
  uint64_t monoStart(int64_t n, int plane) const {
    return uint64_t(n) * (1 + tableBits + plane);
  }
};

int levelsFor(int m) { return m <= 1 ? 0 : 1 + levelsFor((m + 3) / 4); }

/// Appends the terms of prod_{v in s} v to \p out.
void addProduct(const llvm::SmallVector<int, 4> &s, TreeLevel &level,
                std::map<llvm::SmallVector<int, 4>, int> &monoIds,
                std::vector<TreeTerm> &out) {
  int k = int(s.size());
  for (int sub = 0; sub < (1 << k); ++sub) {
    TreeTerm t;
    llvm::SmallVector<int, 4> inT;
    for (int b = 0; b < k; ++b)
      (sub >> b & 1 ? inT : t.coef).push_back(s[b]);
    if (inT.empty()) {
      t.src = TreeTerm::One;
    } else if (inT.size() == 1) {
      t.src = TreeTerm::Mask;
      t.idx = inT[0];
    } else {
      std::sort(inT.begin(), inT.end());
      auto [it, fresh] = monoIds.try_emplace(inT, int(level.monos.size()));
      if (fresh)
        level.monos.push_back(inT);
      t.src = TreeTerm::Mono;
      t.idx = it->second;
    }
    out.push_back(std::move(t));
  }
}

/// Opened planes, terms and monomials of one node (needEq already set).
void compileNode(TreeNode &node, TreeLevel &level,
                 std::map<llvm::SmallVector<int, 4>, int> &monoIds) {
  int k = node.count;
  llvm::SmallVector<int, 4> eqOpen(k, -1), gtOpen(k, -1);
  for (int j = 0; j < k; ++j)
    if (j >= 1 || node.needEq) {
      eqOpen[j] = int(level.opened.size());
      level.opened.push_back({node.first + j, true});
    }
  for (int j = 0; j + 1 < k; ++j) {
    gtOpen[j] = int(level.opened.size());
    level.opened.push_back({node.first + j, false});
  }
  // gt = gt_{k-1} ^ XOR_{j < k-1} gt_j AND eq_{j+1} .. eq_{k-1}.
  TreeTerm top;
  top.src = TreeTerm::ChildGt;
  top.idx = node.first + k - 1;
  node.gtTerms.push_back(top);
  for (int j = 0; j + 1 < k; ++j) {
    llvm::SmallVector<int, 4> s{gtOpen[j]};
    for (int i = j + 1; i < k; ++i)
      s.push_back(eqOpen[i]);
    addProduct(s, level, monoIds, node.gtTerms);
  }
  if (node.needEq)
    addProduct(eqOpen, level, monoIds, node.eqTerms);
}

/// Whether a wide plan differs from the narrow one: K in (24, 48].
bool widens(int k) { return k > 24 && k <= 48; }

ComparePlan buildPlan(int k, bool wide) {
  ComparePlan plan;
  plan.bits = k;
  wide = wide && widens(k);
  int levels = wide ? 1 : levelsFor((k + 5) / 6);
  int g = wide ? (k + 5) / 6 : std::min(1 << (2 * levels), (k + 3) / 4);
  for (int j = 0, shift = 0; j < g; ++j) {
    int w = k / g + (j < k % g ? 1 : 0);
    assert(w >= 1 && w <= 6 && "leaf groups are 1..6 bits");
    plan.groupShift.push_back(shift);
    plan.groupWidth.push_back(w);
    plan.tableBits += (1 << w) - 1;
    shift += w;
  }
  // Node structure, bottom-up.
  for (int m = g; m > 1;) {
    int parents = wide ? 1 : (m + 3) / 4;
    TreeLevel level;
    for (int t = 0, first = 0; t < parents; ++t) {
      TreeNode node;
      node.first = first;
      node.count = m / parents + (t < m % parents ? 1 : 0);
      first += node.count;
      level.nodes.push_back(node);
    }
    plan.levels.push_back(std::move(level));
    m = parents;
  }
  assert(int(plan.levels.size()) == levels && "unexpected tree depth");
  // Which eq outputs are used, top-down.
  plan.leafNeedEq.assign(g, false);
  for (int l = int(plan.levels.size()) - 1; l >= 0; --l)
    for (TreeNode &node : plan.levels[l].nodes)
      for (int j = 0; j < node.count; ++j) {
        bool need = j >= 1 || node.needEq;
        if (l == 0)
          plan.leafNeedEq[node.first + j] = need;
        else
          plan.levels[l - 1].nodes[node.first + j].needEq = need;
      }
  for (TreeLevel &level : plan.levels) {
    std::map<llvm::SmallVector<int, 4>, int> monoIds;
    for (TreeNode &node : level.nodes)
      compileNode(node, level, monoIds);
    level.maskBase = plan.maskPlanes;
    level.monoBase = plan.monoPlanes;
    plan.maskPlanes += int(level.opened.size());
    plan.monoPlanes += int(level.monos.size());
  }
  return plan;
}

const ComparePlan &planFor(int k, bool wide) {
  assert(k >= 1 && k <= kMaxCompareBits && "comparison bits out of range");
  using Plans = std::array<ComparePlan, kMaxCompareBits + 1>;
  static const std::array<Plans, 2> plans = [] {
    std::array<Plans, 2> ps;
    for (int w = 0; w < 2; ++w)
      for (int b = 1; b <= kMaxCompareBits; ++b)
        ps[w][b] = buildPlan(b, w == 1);
    return ps;
  }();
  return plans[wide && widens(k) ? 1 : 0][k];
}

/// Evaluates one node output over all words of the planes.
void evalTerms(const std::vector<TreeTerm> &terms, int64_t nw, bool p0,
               const std::vector<const u64 *> &open,
               const std::vector<const u64 *> &mask,
               const std::vector<const u64 *> &mono,
               const std::vector<u64> &childGt, u64 *out) {
  std::fill(out, out + nw, 0);
  for (const TreeTerm &t : terms) {
    const u64 *src = nullptr;
    switch (t.src) {
    case TreeTerm::One:
      if (!p0)
        continue;
      break;
    case TreeTerm::Mask:
      src = mask[t.idx];
      break;
    case TreeTerm::Mono:
      src = mono[t.idx];
      break;
    case TreeTerm::ChildGt:
      src = childGt.data() + int64_t(t.idx) * nw;
      break;
    }
    for (int64_t q = 0; q < nw; ++q) {
      u64 c = src ? src[q] : ~u64(0);
      for (int u : t.coef)
        c &= open[u][q];
      out[q] ^= c;
    }
  }
}

/// The dealt bits of a sign test against the mask \p r (dealer side): r_K,
/// the leaf tables of r's groups, the tree's monomials of \p maskv.
RingTensor dealtStream(const ComparePlan &plan, int bits, int skip,
                       const RingTensor &r, const RingTensor &maskv) {
  int64_t n = r.size(), nw = wordsFor(n);
  int64_t words = wordsFor(plan.dealtBits(n));
  std::vector<u64> out;
  out.reserve(words);
  BitWriter w(out);
  for (int64_t i = 0; i < n; ++i)
    w.put((r[i] >> bits) & 1, 1);
  // Table of group g: bit v is [r_g > v], v < 2^w - 1, i.e. r_g low ones.
  for (int64_t i = 0; i < n; ++i)
    for (size_t j = 0; j < plan.groupWidth.size(); ++j) {
      int width = plan.groupWidth[j];
      u64 rg = (r[i] >> (skip + plan.groupShift[j])) & lowMask(width);
      w.put(lowMask(int(rg)), (1 << width) - 1);
    }
  std::vector<u64> plane(nw);
  for (const TreeLevel &level : plan.levels)
    for (const auto &mono : level.monos) {
      std::fill(plane.begin(), plane.end(), ~u64(0));
      for (int v : mono) {
        const u64 *mp = maskv.data() + (level.maskBase + v) * nw;
        for (int64_t q = 0; q < nw; ++q)
          plane[q] &= mp[q];
      }
      w.putPlane(plane.data(), n);
    }
  w.finish();
  assert(int64_t(out.size()) == words && "dealer stream size");
  return RingTensor({words}, std::move(out));
}

/// Material with the mask \p rValue (evaluated by the dealer only).
LtzBitsMat dealWithMask(Corr &c, int64_t n, int bits, TreeForm form,
                        llvm::function_ref<RingTensor()> rValue) {
  assert(form.skip >= 0 && form.skip < bits &&
         "a coarse test keeps at least one bit");
  const ComparePlan &plan = planFor(bits - form.skip, form.wide);
  LtzBitsMat m;
  m.bits = bits;
  m.form = form;
  if (n == 0)
    return m;
  m.masks = c.randomBits({int64_t(plan.maskPlanes) * wordsFor(n)});
  m.dealt = c.xorShareOf({wordsFor(plan.dealtBits(n))}, [&] {
    return dealtStream(plan, bits, form.skip, rValue(),
                       Corr::xorValue(m.masks));
  });
  return m;
}

} // namespace

LtzBitsMat dealLessThanZeroBits(Corr &c, llvm::ArrayRef<int64_t> shape,
                                int bits, TreeForm form) {
  Dealt r = c.random(shape);
  LtzBitsMat m = dealWithMask(c, numElements(shape), bits, form,
                              [&] { return Corr::value(r); });
  m.r = std::move(r);
  return m;
}

LtzBitsMat dealLessThanZeroBitsKnown(Corr &c, llvm::ArrayRef<int64_t> shape,
                                     int bits,
                                     llvm::function_ref<RingTensor()> r,
                                     TreeForm form) {
  return dealWithMask(c, numElements(shape), bits, form, r);
}

Proto<detail::SignTest> detail::signTest(Party &p, RingTensor x,
                                         const LtzBitsMat &m, int bits,
                                         int cRing) {
  assert(m.bits == bits && "comparison material dealt for other bits");
  int64_t n = x.size();
  SignTest st;
  st.lt.shape = x.shape();
  if (n == 0)
    co_return st;
  bool p0 = p.id() == 0;
  const RingTensor &r = m.r.mine(p.id());
  assert(r.size() == n && "comparison material has the wrong size");

  // Round 1: open C = x + 2^K + r mod 2^(K+1), as (K+1)-bit fields, or
  // c = x + 2^K + r mod 2^cRing when the caller needs c (C is its low
  // K + 1 bits).
  assert((cRing == 0 || (cRing >= bits + 2 || cRing == 64)) &&
         "c's ring must hold x + 2^K with a free top bit");
  int fieldBits = cRing ? cRing : bits + 1;
  u64 bias = p0 ? u64(1) << bits : 0;
  std::vector<u64> cmine(n);
  for (int64_t i = 0; i < n; ++i)
    cmine[i] = lowBits(x[i] + r[i] + bias, fieldBits);
  std::vector<u64> in = co_await exchangeRing(p, cmine, size_t(n), fieldBits);
  for (int64_t i = 0; i < n; ++i)
    cmine[i] = lowBits(cmine[i] + in[i], fieldBits);
  if (cRing) {
    st.c = cmine;
    u64 fieldMask = lowMask(bits + 1);
    for (u64 &v : cmine)
      v &= fieldMask;
  }
  st.lt = co_await compareTree(p, std::move(cmine), x.shape(), m, bits);
  co_return st;
}

Proto<SharedBits> detail::compareTree(Party &p, std::vector<u64> cpub,
                                      Shape shape, const LtzBitsMat &m,
                                      int bits) {
  const ComparePlan &plan = planFor(bits - m.form.skip, m.form.wide);
  int64_t n = numElements(shape);
  SharedBits res;
  res.shape = shape;
  if (n == 0)
    co_return res;
  int64_t nw = wordsFor(n);
  bool p0 = p.id() == 0;
  const RingTensor &masks = m.masks.mine(p.id());
  const RingTensor &dealt = m.dealt.mine(p.id());

  // Leaves from the tables: gt = T[v], eq = T[v-1] ^ T[v] (T[-1] = 1,
  // T[2^w - 1] = 0) for the public group value v. Each element's tables
  // are tableBits consecutive bits, so blocks of 64 elements (whole words
  // of gt and eq) go to the pool's threads independently.
  int groups = int(plan.groupWidth.size());
  std::vector<u64> gt(int64_t(groups) * nw, 0), eq(int64_t(groups) * nw, 0);
  parallelRange(nw, 64, [&](int64_t qlo, int64_t qhi) {
    int64_t lo = qlo * 64, end = std::min(n, qhi * 64);
    BitReader rd(dealt.data(), dealt.size(),
                 plan.tableStart(n) + uint64_t(lo) * plan.tableBits);
    for (int64_t i = lo; i < end; ++i) {
      int64_t q = i / 64;
      int bit = int(i % 64);
      for (int j = 0; j < groups; ++j) {
        int width = plan.groupWidth[j];
        int v = int((cpub[i] >> (m.form.skip + plan.groupShift[j])) &
                    lowMask(width));
        u64 ext = (rd.get((1 << width) - 1) << 1) | (p0 ? 1 : 0);
        u64 hi = bits::shr(ext, v + 1);
        gt[j * nw + q] |= (hi & 1) << bit;
        if (plan.leafNeedEq[j])
          eq[j * nw + q] |= (((ext >> v) ^ hi) & 1) << bit;
      }
    }
  });

  // Tree levels: one round each.
  for (const TreeLevel &level : plan.levels) {
    int nv = int(level.opened.size());
    std::vector<u64> mineOpen(int64_t(nv) * nw);
    std::vector<const u64 *> maskPl(nv), openPl(nv), monoPl;
    std::vector<u64> msg;
    int64_t msgWords = wordsFor(n * nv);
    msg.reserve(msgWords);
    BitWriter w(msg);
    for (int v = 0; v < nv; ++v) {
      const OpenedVar &ov = level.opened[v];
      const u64 *val = (ov.isEq ? eq : gt).data() + int64_t(ov.child) * nw;
      maskPl[v] = masks.data() + (level.maskBase + v) * nw;
      u64 *o = mineOpen.data() + int64_t(v) * nw;
      for (int64_t q = 0; q < nw; ++q)
        o[q] = val[q] ^ maskPl[v][q];
      w.putPlane(o, n);
    }
    w.finish();
    std::vector<u64> theirs = co_await p.exchange(std::move(msg), msgWords);
    assert(int64_t(theirs.size()) == msgWords && "peer sent the wrong size");
    std::vector<u64> peerPlane(nw);
    for (int v = 0; v < nv; ++v) {
      bits::readPlane(theirs.data(), msgWords, uint64_t(v) * n, n,
                      peerPlane.data());
      u64 *o = mineOpen.data() + int64_t(v) * nw;
      for (int64_t q = 0; q < nw; ++q)
        o[q] ^= peerPlane[q];
      openPl[v] = o;
    }
    std::vector<u64> monos(level.monos.size() * nw);
    for (size_t t = 0; t < level.monos.size(); ++t) {
      bits::readPlane(dealt.data(), dealt.size(),
                      plan.monoStart(n, level.monoBase + int(t)), n,
                      monos.data() + t * nw);
      monoPl.push_back(monos.data() + t * nw);
    }
    size_t parents = level.nodes.size();
    std::vector<u64> ngt(parents * nw), neq(parents * nw, 0);
    for (size_t t = 0; t < parents; ++t) {
      const TreeNode &node = level.nodes[t];
      evalTerms(node.gtTerms, nw, p0, openPl, maskPl, monoPl, gt,
                ngt.data() + t * nw);
      if (node.needEq)
        evalTerms(node.eqTerms, nw, p0, openPl, maskPl, monoPl, gt,
                  neq.data() + t * nw);
    }
    gt = std::move(ngt);
    eq = std::move(neq);
  }

  // [x < 0] = 1 ^ C_K ^ r_K ^ borrow, borrow = the root's gt.
  res.words.resize(nw);
  bits::readPlane(dealt.data(), dealt.size(), 0, n, res.words.data());
  for (int64_t q = 0; q < nw; ++q)
    res.words[q] ^= gt[q];
  if (p0)
    for (int64_t i = 0; i < n; ++i)
      res.words[i / 64] ^= (~(cpub[i] >> bits) & 1) << (i % 64);
  co_return res;
}

Proto<SharedBits> lessThanZeroBits(Party &p, RingTensor x, const LtzBitsMat &m,
                                   int bits) {
  detail::SignTest st =
      co_await detail::signTest(p, std::move(x), m, bits, /*cRing=*/0);
  co_return std::move(st.lt);
}

Cost lessThanZeroBitsCost(int64_t n, int bits, TreeForm form) {
  return detail::signTestCost(n, bits, /*cRing=*/0, form);
}

Proto<SharedBits> lessThanZeroBitsOfPublic(Party &p, std::vector<u64> c,
                                           Shape shape, const LtzBitsMat &m,
                                           int bits) {
  assert(m.bits == bits && "comparison material dealt for other bits");
  assert(int64_t(c.size()) == numElements(shape) && "one C per element");
  u64 fieldMask = lowMask(bits + 1);
  for (u64 &v : c)
    v &= fieldMask;
  return detail::compareTree(p, std::move(c), std::move(shape), m, bits);
}

Cost lessThanZeroBitsOfPublicCost(int64_t n, int bits, TreeForm form) {
  Cost c = detail::signTestCost(n, bits, /*cRing=*/0, form);
  if (n == 0)
    return c;
  c.rounds -= 1;
  c.bytes01 = c.bytes10 = c.bytes01 - bitBytes(uint64_t(n) * (bits + 1));
  return c;
}

Cost detail::signTestCost(int64_t n, int bits, int cRing, TreeForm form) {
  const ComparePlan &plan = planFor(bits - form.skip, form.wide);
  Cost c;
  if (n == 0)
    return c;
  c.rounds = 1 + plan.levels.size();
  uint64_t online = bitBytes(uint64_t(n) * (cRing ? cRing : bits + 1));
  for (const TreeLevel &level : plan.levels)
    online += bitBytes(uint64_t(n) * level.opened.size());
  c.bytes01 = c.bytes10 = online;
  c.dealerBytes1 = bitBytes(uint64_t(plan.dealtBits(n)));
  c.elemOps = double(n) * double(plan.groupWidth.size()); // leaf lookups
  return c;
}

} // namespace mpc::rt
