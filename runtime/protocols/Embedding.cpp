//===- runtime/protocols/Embedding.cpp - Secure embedding lookup ----------===//
//
// The 2-server PIR of Embedding.h. Keys travel as whole ring words (a DPF
// key's byte format is a multiple of 8 bytes), all keys of all lookups in
// one message per link; each server expands its keys with FullEval (tokens
// in parallel) into a [tokens, vocab] matrix E_b and multiplies it by B
// with the ring matmul, drawing B a block of rows at a time.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Embedding.h"

#include "runtime/Dpf.h"
#include "runtime/Parallel.h"
#include "runtime/Wipe.h"
#include "support/Diag.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <memory>

namespace mpc::rt {

namespace {

uint64_t keyWordsOf(llvm::ArrayRef<EmbedLookup> lookups) {
  uint64_t n = 0;
  for (const EmbedLookup &l : lookups)
    n += uint64_t(l.tokens()) * embedKeyWords(l.vocab);
  return n;
}

/// Rows of the mask B per step of a server's answer: 4 MiB of B at a
/// time, so the vocabulary-sized B (bert-base: 187 MB) is never held, or
/// freshly allocated, whole.
int64_t answerBlockRows(int64_t dim) {
  return std::max<int64_t>(64, (int64_t(4) << 20) /
                                   (8 * std::max<int64_t>(dim, 1)));
}

/// Server \p party's answer FullEval(k) . B for one lookup, [tokens, dim],
/// from the lookup's keys (tokens x embedKeyWords words). B is drawn and
/// multiplied a block of rows at a time: y += E[:, rows] . B[rows, :].
llvm::Expected<RingTensor> serverAnswer(int party, llvm::ArrayRef<u64> words,
                                        const EmbedLookup &l,
                                        const WeightMasks &masks) {
  int64_t tokens = l.tokens();
  uint64_t kw = embedKeyWords(l.vocab);
  std::vector<DpfKey> keys;
  keys.reserve(tokens);
  std::vector<uint8_t> bytes(kw * 8);
  for (int64_t t = 0; t < tokens; ++t) {
    std::memcpy(bytes.data(), words.data() + t * kw, bytes.size());
    llvm::Expected<DpfKey> k = parseDpfKey(party, uint64_t(l.vocab), bytes);
    if (!k)
      return addContext(k.takeError(), fmt::format("token {}: ", t));
    keys.push_back(std::move(*k));
  }
  size_t eWords = size_t(tokens) * size_t(l.vocab);
  auto e = std::make_unique_for_overwrite<u64[]>(eWords);
  parallelFor(tokens,
              [&](int64_t t) { dpfFullEval(keys[t], e.get() + t * l.vocab); });
  RingTensor y({tokens, l.dim});
  int64_t step = answerBlockRows(l.dim);
  std::vector<u64> eBlock;
  for (int64_t r0 = 0; r0 < l.vocab; r0 += step) {
    int64_t rows = std::min(step, l.vocab - r0);
    RingTensor b = masks.maskRows(l.weightId, l.dim, r0, rows);
    eBlock.resize(size_t(tokens) * size_t(rows));
    for (int64_t t = 0; t < tokens; ++t)
      std::memcpy(eBlock.data() + t * rows, e.get() + t * l.vocab + r0,
                  size_t(rows) * 8);
    matmulRaw(eBlock.data(), b.data(), y.data(), tokens, rows, l.dim,
              /*accumulate=*/true);
  }
  return y;
}

} // namespace

Shape EmbedLookup::outShape() const {
  Shape s = idsShape;
  s.push_back(dim);
  return s;
}

uint64_t embedKeyWords(int64_t vocab) {
  return dpfKeyBytes(uint64_t(vocab)) / 8;
}

Cost embedLookupCost(llvm::ArrayRef<int64_t> idsShape, int64_t vocab,
                     int64_t dim) {
  Cost c;
  uint64_t tokens = numElements(idsShape);
  if (tokens == 0)
    return c;
  uint64_t keys = wordBytes(tokens * embedKeyWords(vocab));
  c.rounds = 1;
  c.bytes10 = keys;
  c.bytes1D = keys;
  c.bytesD0 = wordBytes(tokens * uint64_t(dim));
  c.macs = double(tokens) * double(vocab) * double(dim);
  c.elemOps = double(tokens) * double(vocab);
  return c;
}

llvm::Expected<std::vector<RingTensor>>
embedLookupsParty1(Channel &peer, Channel &dealer, Corr &corr,
                   const WeightMasks &masks,
                   llvm::ArrayRef<EmbedLookup> lookups) {
  std::vector<u64> toP0, toDealer;
  toP0.reserve(keyWordsOf(lookups));
  toDealer.reserve(keyWordsOf(lookups));
  std::vector<uint8_t> bytes;
  std::vector<RingTensor> shares;
  for (size_t i = 0; i < lookups.size(); ++i) {
    const EmbedLookup &l = lookups[i];
    assert(l.ids && l.ids->size() == l.tokens() && "party 1 needs the ids");
    assert(masks.hasMasked(l.weightId) && "the table must be set up first");
    const RingTensor &tb = masks.masked(l.weightId);
    assert(tb.rank() == 2 && tb.dim(0) == l.vocab && tb.dim(1) == l.dim &&
           "set-up table has another shape");
    RingTensor y = corr.privateRandom(1, l.outShape());
    for (int64_t t = 0; t < l.tokens(); ++t) {
      u64 id = (*l.ids)[t];
      if (id >= u64(l.vocab))
        return mpc::error("embedding lookup {}: token id {} at index {} is "
                          "outside [0, {})",
                          i, int64_t(id), t, l.vocab);
      auto [k0, k1] = dpfGen(uint64_t(l.vocab), id);
      for (auto [k, out] : {std::pair{&k0, &toP0}, std::pair{&k1, &toDealer}}) {
        bytes.clear();
        serializeDpfKey(*k, bytes);
        size_t at = out->size();
        out->resize(at + bytes.size() / 8);
        std::memcpy(out->data() + at, bytes.data(), bytes.size());
      }
      // Party 1's share of the row: (T - B)[id] - m.
      u64 *row = y.data() + t * l.dim;
      const u64 *src = tb.data() + int64_t(id) * l.dim;
      for (int64_t j = 0; j < l.dim; ++j)
        row[j] = src[j] - row[j];
    }
    shares.push_back(std::move(y));
  }
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (!toP0.empty()) {
    if (llvm::Error e = sendWords(peer, toP0))
      return addContext(std::move(e), "embedding lookups: keys to party 0: ");
    if (llvm::Error e = sendWords(dealer, toDealer))
      return addContext(std::move(e),
                        "embedding lookups: keys to the dealer: ");
  }
  return shares;
}

llvm::Expected<std::vector<RingTensor>>
embedLookupsParty0(Channel &peer, Channel &dealer, const WeightMasks &masks,
                   llvm::ArrayRef<EmbedLookup> lookups) {
  std::vector<u64> keys(keyWordsOf(lookups));
  if (!keys.empty())
    if (llvm::Error e = recvWords(peer, keys))
      return addContext(std::move(e), "embedding lookups: keys from party 1: ");
  std::vector<RingTensor> shares;
  size_t at = 0;
  for (size_t i = 0; i < lookups.size(); ++i) {
    const EmbedLookup &l = lookups[i];
    size_t n = size_t(l.tokens()) * embedKeyWords(l.vocab);
    llvm::Expected<RingTensor> y =
        serverAnswer(0, llvm::ArrayRef<u64>(keys).slice(at, n), l, masks);
    if (!y)
      return addContext(
          y.takeError(),
          fmt::format("embedding lookup {}: key from party 1: ", i));
    at += n;
    shares.push_back(std::move(*y));
  }
  uint64_t answerWords = 0;
  for (const EmbedLookup &l : lookups)
    answerWords += uint64_t(l.tokens()) * uint64_t(l.dim);
  std::vector<u64> z(answerWords);
  if (!z.empty())
    if (llvm::Error e = recvWords(dealer, z))
      return addContext(std::move(e),
                        "embedding lookups: answers from the dealer: ");
  // Party 0's share: y_0 + z = B[id] + m.
  at = 0;
  for (size_t i = 0; i < lookups.size(); ++i) {
    RingTensor &y = shares[i];
    for (int64_t j = 0; j < y.size(); ++j)
      y[j] += z[at + j];
    at += y.size();
    y = RingTensor(lookups[i].outShape(), std::move(y.vec()));
  }
  return shares;
}

llvm::Error embedLookupsDealer(Channel &toP0, Channel &toP1, Corr &corr,
                               const WeightMasks &masks,
                               llvm::ArrayRef<EmbedLookup> lookups) {
  std::vector<u64> keys(keyWordsOf(lookups));
  if (!keys.empty())
    if (llvm::Error e = recvWords(toP1, keys))
      return addContext(std::move(e), "embedding lookups: keys from party 1: ");
  std::vector<u64> z;
  size_t at = 0;
  for (size_t i = 0; i < lookups.size(); ++i) {
    const EmbedLookup &l = lookups[i];
    size_t n = size_t(l.tokens()) * embedKeyWords(l.vocab);
    llvm::Expected<RingTensor> y =
        serverAnswer(1, llvm::ArrayRef<u64>(keys).slice(at, n), l, masks);
    if (!y)
      return addContext(
          y.takeError(),
          fmt::format("embedding lookup {}: key from party 1: ", i));
    at += n;
    // z = y_1 + m, m from the stream party 1 shares with the dealer.
    RingTensor m = corr.privateRandom(1, l.outShape());
    for (int64_t j = 0; j < m.size(); ++j)
      z.push_back((*y)[j] + m[j]);
  }
  if (!z.empty())
    if (llvm::Error e = sendWords(toP0, z))
      return addContext(std::move(e),
                        "embedding lookups: answers to party 0: ");
  return llvm::Error::success();
}

} // namespace mpc::rt
