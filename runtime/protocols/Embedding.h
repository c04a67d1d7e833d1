//===- runtime/protocols/Embedding.h - Secure embedding lookup -*- C++ -*-===//
//
// Party 1's token ids select rows of a table T [V, d] that party 0 holds as
// a private weight (set up once per session: party 1 holds T - B, party 0
// and the dealer the mask B, Arith.h WeightMasks). Party 1 computes
// (T - B)[id] alone; B[id] comes from a 2-server PIR in which party 0 and
// the dealer, who both know B, are the servers. Per token party 1 makes
// DPF keys (k0, k1) of [x == id] (runtime/Dpf.h) and sends k0 to party 0
// and k1 to the dealer. Server b computes y_b = FullEval(k_b) . B, so that
// y_0 + y_1 = B[id]. The dealer sends z = y_1 + m to party 0, where m is
// drawn from the dealer's PRG stream with party 1 (Corr::privateRandom(1)).
// The shares are
//
//   party 0: y_0 + z = B[id] + m,   party 1: (T - B)[id] - m,
//
// adding up to T[id]. Party 0 sees k0 and z, uniform to it (m is unknown to
// it); the dealer sees k1, pseudorandom; party 1 receives nothing. Traffic
// is O(log V) per token from party 1 and d words per token from the dealer,
// against V words per token for a one-hot row times a private weight.
//
// The lookups of a run happen before any dealer material flows, all in one
// message per link direction: party 1 -> party 0 and party 1 -> dealer
// (keys), dealer -> party 0 (answers). The m of each lookup is drawn, in
// lookup order, before the first deal of the run, in the dealer's and party
// 1's Corr streams.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Channel.h"
#include "runtime/protocols/Arith.h"

#include "llvm/Support/Error.h"

#include <vector>

namespace mpc::rt {

/// One lookup: token ids of shape idsShape (party 1's, in the clear) into
/// the table with weight id weightId, shape [vocab, dim]. The result is
/// shared, of shape idsShape + [dim], at the table's fixed-point scale.
struct EmbedLookup {
  int64_t weightId = 0;
  Shape idsShape;
  int64_t vocab = 0, dim = 0;
  /// Party 1 only: the ids (as ring words).
  const RingTensor *ids = nullptr;

  int64_t tokens() const { return numElements(idsShape); }
  Shape outShape() const;
};

/// Each party's shares of the lookups, in order. Party 0 talks to party 1
/// on \p peer and to the dealer on \p dealer; it needs the table masks
/// (WeightMasks::withSeed).
llvm::Expected<std::vector<RingTensor>>
embedLookupsParty0(Channel &peer, Channel &dealer, const WeightMasks &masks,
                   llvm::ArrayRef<EmbedLookup> lookups);
/// Party 1: the lookups' ids must lie in [0, vocab) (an error otherwise);
/// every table must be set up (pwSetup). Draws each lookup's m from \p corr.
llvm::Expected<std::vector<RingTensor>>
embedLookupsParty1(Channel &peer, Channel &dealer, Corr &corr,
                   const WeightMasks &masks,
                   llvm::ArrayRef<EmbedLookup> lookups);
/// The dealer: answers party 0 (\p toP0) from party 1's keys (\p toP1).
/// Draws each lookup's m from \p corr, as party 1 does.
llvm::Error embedLookupsDealer(Channel &toP0, Channel &toP1, Corr &corr,
                               const WeightMasks &masks,
                               llvm::ArrayRef<EmbedLookup> lookups);

/// Words of one token's DPF key over a vocabulary of \p vocab.
uint64_t embedKeyWords(int64_t vocab);
/// One lookup: 1 round between the parties (the keys, party 1 -> party 0;
/// the dealer's answer adds one one-way hop on the dealer's links), key
/// bytes party 1 -> party 0 and party 1 -> dealer, tokens x dim words
/// dealer -> party 0, no offline material. macs: one server's FullEval . B.
Cost embedLookupCost(llvm::ArrayRef<int64_t> idsShape, int64_t vocab,
                     int64_t dim);

} // namespace mpc::rt
