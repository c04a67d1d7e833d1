//===- runtime/plan/Lookups.cpp - The embedding lookups of a run ----------===//
//
// Every embed_lookup op of a plan runs its protocol (protocols/Embedding.h)
// once, all of them together, after the W - B set-up and before the first
// deal: their ids are plan inputs, known from the start, and the dealer's
// links are otherwise idle in that direction (party 1 -> dealer, dealer ->
// party 0), so the lookups never interleave with the material stream. Each
// party keeps its shares in Session::lookups for the ops to hand on in
// their steps. The traffic counts as online traffic: the keys party 1 sends
// party 0 in the parties' rounds and bytes (and in the lookup ops' profile
// rows), the dealer's links in their own fields.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/ExecutorImpl.h"
#include "runtime/protocols/Embedding.h"

using namespace mpc;
using namespace mpc::rt;
using Clock = std::chrono::steady_clock;

namespace {

/// The plan's lookups in plan order, without ids, and their op indices.
std::vector<EmbedLookup> planLookups(const LoadedPlan &plan,
                                     std::vector<int> &opIndex) {
  std::vector<EmbedLookup> lookups;
  for (const OpDesc &op : plan.ops) {
    if (op.kernel->id() != KernelId::EmbedLookup)
      continue;
    EmbedLookup l;
    l.weightId = op.in[1]->id;
    l.idsShape = op.in[0]->shape;
    l.vocab = op.in[1]->shape[0];
    l.dim = op.in[1]->shape[1];
    lookups.push_back(std::move(l));
    opIndex.push_back(op.index);
  }
  return lookups;
}

} // namespace

llvm::Error mpc::rt::partyLookups(int party, const LoadedPlan &plan,
                                  Session &session, Corr &corr, Channel &peer,
                                  Channel &dealer,
                                  const std::map<int, RingTensor> &inputs,
                                  RunProfile &prof) {
  std::vector<int> opIndex;
  std::vector<EmbedLookup> lookups = planLookups(plan, opIndex);
  if (lookups.empty())
    return llvm::Error::success();
  auto t0 = Clock::now();
  uint64_t sent = peer.bytesSent(), recvd = peer.bytesReceived(),
           rounds = peer.rounds(), dSent = dealer.bytesSent(),
           dRecvd = dealer.bytesReceived();
  if (party == 1)
    for (size_t i = 0; i < lookups.size(); ++i) {
      int ids = plan.ops[opIndex[i]].in[0]->id;
      auto it = inputs.find(ids);
      if (it == inputs.end())
        return mpc::error("party 1: {} reads input '{}', which was not given",
                          plan.ops[opIndex[i]].describe(),
                          plan.value(ids).describe());
      lookups[i].ids = &it->second;
    }
  llvm::Expected<std::vector<RingTensor>> shares =
      party == 0
          ? embedLookupsParty0(peer, dealer, session.masks, lookups)
          : embedLookupsParty1(peer, dealer, corr, session.masks, lookups);
  if (!shares)
    return addContext(shares.takeError(), roleName(party) + ": ");
  for (size_t i = 0; i < lookups.size(); ++i)
    session.lookups[opIndex[i]] = std::move((*shares)[i]);

  double seconds = secondsSince(t0);
  uint64_t r = peer.rounds() - rounds;
  uint64_t keys =
      party == 0 ? peer.bytesReceived() - recvd : peer.bytesSent() - sent;
  prof.onlineSeconds += seconds;
  prof.onlineRounds += r;
  prof.onlineBytes10 += keys;
  if (party == 0)
    prof.onlineBytesD0 += dealer.bytesReceived() - dRecvd;
  else
    prof.onlineBytes1D += dealer.bytesSent() - dSent;
  // Per op: the shared round (as ops of one step each show their step's
  // round), each op's own key bytes (the one message is their
  // concatenation) and an equal share of the time.
  for (size_t i = 0; i < lookups.size(); ++i) {
    OpProfile &row = prof.ops[opIndex[i]];
    row.rounds += r;
    row.bytes10 += wordBytes(uint64_t(lookups[i].tokens()) *
                             embedKeyWords(lookups[i].vocab));
    row.seconds += seconds / double(lookups.size());
  }
  return llvm::Error::success();
}

llvm::Error mpc::rt::dealerLookups(const LoadedPlan &plan, Session &session,
                                   Corr &corr, Channel &toP0, Channel &toP1,
                                   RunProfile &prof) {
  std::vector<int> opIndex;
  std::vector<EmbedLookup> lookups = planLookups(plan, opIndex);
  if (lookups.empty())
    return llvm::Error::success();
  auto t0 = Clock::now();
  uint64_t sent = toP0.bytesSent(), recvd = toP1.bytesReceived();
  if (llvm::Error e =
          embedLookupsDealer(toP0, toP1, corr, session.masks, lookups))
    return addContext(std::move(e), "dealer: ");
  prof.onlineSeconds += secondsSince(t0);
  prof.onlineBytesD0 += toP0.bytesSent() - sent;
  prof.onlineBytes1D += toP1.bytesReceived() - recvd;
  return llvm::Error::success();
}
