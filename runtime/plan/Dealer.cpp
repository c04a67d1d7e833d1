//===- runtime/plan/Dealer.cpp - The offline phase in all three roles -----===//
//
// The dealer runs every op's deal() in plan order with both parties' PRG
// streams and sends each correction to party 1 as deal() makes it. The
// sizes are public: party 1 runs deal() in its role, receiving each
// correction straight into its tensor, reads exactly cost(op).dealerBytes1
// bytes for the op and must consume them all (Corr::remainingInput); party
// 0 runs deal() from its seed alone. The dealer's part ends when party 1
// has dealt the last request's last op (its heartbeats, Executor.h). A
// mismatch between an op's cost formula and its material is a runtime bug
// and is reported as one, naming the op, on whichever side sees it. The
// parties exchange one heartbeat word per op dealt (see ExecutorImpl.h).
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/ExecutorImpl.h"

#include <array>

using namespace mpc;
using namespace mpc::rt;
using Clock = std::chrono::steady_clock;

OpProfile mpc::rt::profileRow(const OpDesc &op) {
  OpProfile r;
  r.index = op.index;
  r.node = op.onnxNode().str();
  r.onnxOp = op.onnxOp().str();
  r.kernel = op.kernelName().str();
  r.step = op.step;
  return r;
}

namespace {

/// The end of the dealer's part: party 1's offline heartbeats of the
/// session's last request \p k, up to the plan's last op (Executor.h).
llvm::Error awaitParty1Material(const LoadedPlan &plan, Channel &toP1,
                                size_t k) {
  u64 last = plan.ops.size();
  for (u64 prev = ~u64(0); last != 0;) {
    u64 beat = 0;
    if (llvm::Error e = recvWords(toP1, {&beat, 1}))
      return addContext(std::move(e),
                        fmt::format("dealer: waiting for party 1 to receive "
                                    "all of request {}'s material: ",
                                    k + 1));
    if (beat >= last || (prev != ~u64(0) && beat <= prev))
      return mpc::error("dealer: party 1 is out of step in request {}'s "
                        "offline phase (op {} after {})",
                        k + 1, beat, prev);
    if (beat + 1 == last)
      break;
    prev = beat;
  }
  return llvm::Error::success();
}

} // namespace

llvm::Error mpc::rt::runDealerSession(
    const LoadedPlan &plan, Channel &a, Channel &b, const RunOptions &opts,
    const std::function<llvm::Error(size_t k, RunProfile)> &done) {
  auto t0 = Clock::now();
  llvm::Expected<std::unique_ptr<DealerSeeds>> seeds =
      dealerHandshake(plan, a, b);
  if (!seeds)
    return addContext(seeds.takeError(), "dealer: ");
  double handshakeSeconds = secondsSince(t0);

  Session session;
  session.role = Role::Dealer;
  session.masks = WeightMasks::withSeed(int(Role::Dealer), (*seeds)->mask);
  Channel &toP1 = *(*seeds)->toP1;
  Corr corr = Corr::dealer(
      (*seeds)->s0, (*seeds)->s1,
      [&toP1](llvm::ArrayRef<u64> words) { return sendWords(toP1, words); });
  Channel &toP0 = *(*seeds)->toP0;
  for (size_t k = 0;; ++k) {
    // Party 0's decision (Executor.h, sessions): the dealer deals only the
    // requests the model owner agreed to.
    u64 decision = 0;
    if (llvm::Error e = recvWords(toP0, {&decision, 1}))
      return addContext(std::move(e),
                        fmt::format("dealer: waiting for request {}: ", k + 1));
    if (decision == kRequestRefused)
      return llvm::Error::success();
    if (decision != kRequestMore && decision != kRequestLast)
      return mpc::error("dealer: party 0 sent an unknown request word {}",
                        decision);
    RunProfile prof;
    prof.party = 2;
    if (k == 0)
      prof.handshakeSeconds = handshakeSeconds;
    auto tOff = Clock::now();
    session.lookups.clear();
    if (llvm::Error e = dealerLookups(plan, session, corr, toP0, toP1, prof))
      return e;
    for (const OpDesc &op : plan.ops) {
      OpProfile row = profileRow(op);
      auto tOp = Clock::now();
      uint64_t want = op.kernel->cost(op).dealerBytes1;
      uint64_t before = corr.correctionWords();
      // Each correction goes to party 1 as deal() makes it (Corr.h).
      (void)op.kernel->deal(corr, op, session);
      if (llvm::Error e = corr.takeStreamError())
        return addContext(std::move(e),
                          fmt::format("dealer: offline {}: ", op.describe()));
      uint64_t sent = wordBytes(corr.correctionWords() - before);
      if (sent != want)
        return mpc::error("dealer: internal error: {} dealt {} bytes for "
                          "party 1 but its cost formula says {}",
                          op.describe(), sent, want);
      row.dealerBytes = want;
      row.offlineSeconds = secondsSince(tOp);
      prof.dealerBytes1 += want;
      prof.ops.push_back(std::move(row));
      if (opts.progress)
        opts.progress({"offline", size_t(op.index) + 1, plan.ops.size(),
                       secondsSince(tOff)});
    }
    prof.offlineSeconds = secondsSince(tOff);
    prof.peakRssBytes = peakRssBytes();
    if (done)
      if (llvm::Error e = done(k, std::move(prof)))
        return e;
    if (decision == kRequestLast)
      return awaitParty1Material(plan, toP1, k);
  }
}

llvm::Expected<RunProfile> mpc::rt::runDealer(const LoadedPlan &plan,
                                              Channel &a, Channel &b,
                                              const RunOptions &opts) {
  RunProfile first;
  first.party = 2;
  llvm::Error e =
      runDealerSession(plan, a, b, opts, [&](size_t k, RunProfile p) {
        if (k == 0)
          first = std::move(p);
        return llvm::Error::success();
      });
  if (e)
    return e;
  return first;
}

/// Party 1 lost the dealer at \p op: tells party 0 (kPeerLostDealer) and
/// waits for it to hang up first; returns \p e with its context.
static llvm::Error dealerLost(Channel &peer, const OpDesc &op, llvm::Error e) {
  llvm::Error lost = addContext(
      std::move(e), fmt::format("party 1: offline {}: ", op.describe()));
  u64 word = kPeerLostDealer;
  if (llvm::Error sent = sendWords(peer, {&word, 1})) {
    llvm::consumeError(std::move(sent));
    return lost;
  }
  auto until = Clock::now() + kPeerLostDealerDrain;
  std::array<uint8_t, 4096> sink;
  while (Clock::now() < until) {
    auto moved = peer.transfer({}, sink, until);
    if (!moved) { // party 0 hung up (or the link failed): done
      llvm::consumeError(moved.takeError());
      break;
    }
  }
  return lost;
}

llvm::Error mpc::rt::partyOffline(int party, const LoadedPlan &plan,
                                  Session &session, Corr &corr, Channel &dealer,
                                  Channel &peer, OpRange ops,
                                  std::vector<std::any> &material,
                                  RunProfile &prof, const RunOptions &opts,
                                  DealerBeats *dealerBeats) {
  auto t0 = Clock::now();
  for (size_t i = ops.first; i < ops.second; ++i) {
    const OpDesc &op = plan.ops[i];
    OpProfile &row = prof.ops[op.index];
    auto tOp = Clock::now();
    uint64_t bytes = op.kernel->cost(op).dealerBytes1;
    if (party == 1) {
      if (bytes % 8 != 0)
        return mpc::error("party 1: internal error: {} costs {} dealer bytes, "
                          "not whole ring words",
                          op.describe(), bytes);
      // Each correction is received straight into its tensor (Corr.h),
      // never more than the op's cost formula gives.
      corr.setSource(bytes / 8, [&dealer](llvm::MutableArrayRef<u64> words) {
        return recvWords(dealer, words);
      });
    }
    material[op.index] = op.kernel->deal(corr, op, session);
    if (party == 1) {
      if (llvm::Error e = corr.takeStreamError())
        return dealerLost(peer, op, std::move(e));
      if (corr.outOfSync() || corr.remainingInput() != 0)
        return mpc::error(
            "party 1: internal error: {} consumed {} of the {} "
            "dealer bytes its cost formula gives",
            op.describe(),
            corr.outOfSync()
                ? "more than"
                : fmt::format("{}", bytes - wordBytes(corr.remainingInput())),
            bytes);
      row.dealerBytes = bytes;
      prof.dealerBytes1 += bytes;
    }
    row.offlineSeconds = secondsSince(tOp);
    u64 beat = u64(op.index);
    if (llvm::Error e = sendWords(peer, {&beat, 1}))
      return addContext(
          std::move(e),
          fmt::format("{}: offline {}: ", roleName(party), op.describe()));
    if (dealerBeats &&
        (size_t(op.index) + 1 == plan.ops.size() ||
         Clock::now() - dealerBeats->last >= kDealerBeatInterval)) {
      if (llvm::Error e = sendWords(dealer, {&beat, 1}))
        return dealerLost(peer, op, std::move(e));
      dealerBeats->last = Clock::now();
    }
    if (opts.progress)
      opts.progress({"offline", size_t(op.index) + 1, plan.ops.size(),
                     prof.offlineSeconds + secondsSince(t0)});
  }
  prof.offlineSeconds += secondsSince(t0);
  // The peer's heartbeats: arriving one per op, they keep this wait alive
  // for as long as the peer's offline phase takes. One at a time, so that
  // a kPeerLostDealer in place of one is read before the link ends.
  for (size_t i = ops.first; i < ops.second; ++i) {
    u64 beat = 0;
    if (llvm::Error e = recvWords(peer, {&beat, 1}))
      return addContext(std::move(e),
                        fmt::format("{}: waiting for {} to finish the offline "
                                    "phase: ",
                                    roleName(party), roleName(1 - party)));
    if (beat == kPeerLostDealer && party == 0)
      return mpc::error("party 0: offline phase: party 1 lost its link to the "
                        "dealer at {} (the dealer stopped or was "
                        "disconnected)",
                        plan.ops[i].describe());
    if (beat != i)
      return mpc::error("{}: {} is out of step in the offline phase",
                        roleName(party), roleName(1 - party));
  }
  return llvm::Error::success();
}

std::vector<StepRange> mpc::rt::materialWindows(const LoadedPlan &plan,
                                                uint32_t windowMiB) {
  std::vector<StepRange> windows;
  size_t numSteps = plan.steps.size();
  if (windowMiB == 0) {
    windows.push_back({0, numSteps});
    return windows;
  }
  uint64_t budget = uint64_t(windowMiB) << 20, held = 0;
  size_t begin = 0;
  for (size_t s = 0; s < numSteps; ++s) {
    uint64_t bytes = 0;
    for (size_t i = plan.steps[s].first; i < plan.steps[s].second; ++i)
      bytes += plan.ops[i].kernel->cost(plan.ops[i]).dealerBytes1;
    if (s > begin && bytes > 0 && held + bytes > budget) {
      windows.push_back({begin, s});
      begin = s;
      held = 0;
    }
    held += bytes;
  }
  if (begin < numSteps || windows.empty())
    windows.push_back({begin, numSteps});
  return windows;
}
