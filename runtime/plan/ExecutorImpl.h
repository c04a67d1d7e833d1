//===- runtime/plan/ExecutorImpl.h - Executor internals --------*- C++ -*-===//
//
// The pieces of a run shared by Session.cpp (handshakes), Dealer.cpp (the
// offline phase in all three roles) and PartyExecutor.cpp (set-up, online,
// outputs). Internal to runtime/plan.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/Executor.h"

#include <any>
#include <chrono>

namespace mpc::rt {

/// Seeds a party holds after the handshakes (wiped when destroyed).
struct PartySeeds {
  Seed dealer{}; ///< Shared with the dealer (this party's Corr stream).
  Seed mask{};   ///< Party 0 only: the weight-mask seed.
  Seed common{}; ///< Shared by the two parties.
  ~PartySeeds();
};

/// Hello with the dealer (receives the session id and the seeds), then
/// with the peer (checks the session id; party 0 sends the common seed).
/// See Handshake.h.
llvm::Expected<std::unique_ptr<PartySeeds>>
partyHandshake(int party, const LoadedPlan &plan, Channel &peer,
               Channel &dealer, const RunOptions &opts);

/// The dealer's side: draws the session id, identifies the two parties
/// (by their certificates over TLS, else by their hellos) and sends their
/// seeds.
struct DealerSeeds {
  Seed s0{}, s1{}, mask{};
  Channel *toP0 = nullptr, *toP1 = nullptr;
  ~DealerSeeds();
};
llvm::Expected<std::unique_ptr<DealerSeeds>>
dealerHandshake(const LoadedPlan &plan, Channel &a, Channel &b);

/// Ops [first, last) of a plan.
using OpRange = std::pair<size_t, size_t>;

/// The parties' offline phase for the ops in \p ops (all of them, or one
/// window, in order): each op's deal() in this party's role on \p corr;
/// party 1 receives each op's corrections from the dealer first. Fills
/// those ops' \p material and adds to the profile's dealer bytes and
/// offline seconds. Each party also sends its peer one word per op dealt
/// and, at the end, receives the peer's: a heartbeat (a party that
/// finishes first waits for the other without its channel timing out
/// however long the phase takes) and a barrier (the online steps that
/// follow start together, so their timing excludes the other party's
/// offline work). With \p dealerBeats (party 1, the session's last
/// request) party 1 also sends the dealer its heartbeats (Executor.h,
/// sessions).
struct DealerBeats {
  std::chrono::steady_clock::time_point last = {}; ///< The latest beat sent.
};
llvm::Error partyOffline(int party, const LoadedPlan &plan, Session &session,
                         Corr &corr, Channel &dealer, Channel &peer,
                         OpRange ops, std::vector<std::any> &material,
                         RunProfile &prof, const RunOptions &opts,
                         DealerBeats *dealerBeats = nullptr);

/// The embedding lookups of the plan (Lookups.cpp), party \p party's side,
/// after the set-up and before the offline phase: fills Session::lookups
/// and the online figures of \p prof. Party 1 reads the ids from
/// \p inputs. Draws from party 1's stream of \p corr before any deal.
llvm::Error partyLookups(int party, const LoadedPlan &plan, Session &session,
                         Corr &corr, Channel &peer, Channel &dealer,
                         const std::map<int, RingTensor> &inputs,
                         RunProfile &prof);
/// The dealer's side, before its first deal.
llvm::Error dealerLookups(const LoadedPlan &plan, Session &session, Corr &corr,
                          Channel &toP0, Channel &toP1, RunProfile &prof);

/// An op's profile row with its identity filled in, no measurements.
OpProfile profileRow(const OpDesc &op);

/// Seconds since \p t0.
inline double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

} // namespace mpc::rt
