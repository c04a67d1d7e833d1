//===- runtime/plan/InProcess.cpp - All three roles in one process --------===//

#include "runtime/plan/InProcess.h"
#include "runtime/plan/Profile.h"

#include <future>

using namespace mpc;
using namespace mpc::rt;

llvm::Expected<InProcessResult>
rt::runInProcess(const LoadedPlan &plan, WeightMap weights,
                 const std::map<std::string, HostTensor> &inputs,
                 RunOptions opts) {
  auto encoded = encodeInputs(plan, 1, inputs);
  if (!encoded)
    return encoded.takeError();
  auto [a0, a1] = MemChannel::pair(); // party 0 <-> party 1
  auto [b0, bd] = MemChannel::pair(); // party 0 <-> dealer
  auto [c1, cd] = MemChannel::pair(); // party 1 <-> dealer
  b0->setPeerName("the dealer");
  c1->setPeerName("the dealer");
  bd->setPeerName("party 0");
  cd->setPeerName("party 1");
  a0->setPeerName("party 1");
  a1->setPeerName("party 0");
  // Each role closes its channels when it returns, as a process does by
  // exiting, so a failure never leaves the others waiting.
  auto dealer = std::async(std::launch::async, [&] {
    auto res = runDealer(plan, *bd, *cd);
    bd->close();
    cd->close();
    return res;
  });
  RunOptions opts0 = opts;
  opts0.progress = nullptr;
  auto party0 = std::async(std::launch::async, [&] {
    PartyData d;
    d.weights = std::move(weights);
    auto res = runParty(0, plan, std::move(d), *a0, *b0, opts0);
    a0->close();
    b0->close();
    return res;
  });
  PartyData d1;
  d1.inputs = std::move(*encoded);
  llvm::Expected<PartyResult> r1 =
      runParty(1, plan, std::move(d1), *a1, *c1, opts);
  a1->close();
  c1->close();
  llvm::Expected<PartyResult> r0 = party0.get();
  llvm::Expected<RunProfile> rd = dealer.get();
  // Report the root cause first: a role that failed on its own makes the
  // others fail with "peer closed".
  if (!r0 || !r1 || !rd) {
    std::string msg;
    auto add = [&](llvm::Error e, const char *who) {
      if (e)
        msg += (msg.empty() ? "" : "\n  ") + std::string(who) + ": " +
               llvm::toString(std::move(e));
    };
    add(r1 ? llvm::Error::success() : r1.takeError(), "party 1");
    add(r0 ? llvm::Error::success() : r0.takeError(), "party 0");
    add(rd ? llvm::Error::success() : rd.takeError(), "dealer");
    return error("{}", msg);
  }
  InProcessResult out;
  out.outputs = std::move(r1->outputs);
  out.party0 = r0->profile;
  out.party1 = r1->profile;
  out.dealer = *rd;
  out.profile = mergeProfiles(out.party0, out.party1);
  return out;
}
