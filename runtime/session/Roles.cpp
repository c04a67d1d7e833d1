//===- runtime/session/Roles.cpp - One role of a run ----------------------===//
//
// The dealer listens and both parties connect to it; party 0 listens and
// party 1 connects to it. A role reads and checks the plan, its inputs or
// weights and its output files before it touches the network, then runs
// the executor over its links and writes its outputs atomically, and its
// profile.
//
//===----------------------------------------------------------------------===//
#include "runtime/session/SessionImpl.h"

#include "support/Diag.h"

#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <memory>

using namespace mpc;
using namespace mpc::rt;

namespace {

using Duration = std::chrono::milliseconds;

Duration timeoutOf(const RunConfig &c) {
  return Duration(int64_t(c.timeoutSeconds * 1000));
}

/// Progress on stderr, at most once a second.
std::function<void(const Progress &)> progressPrinter(std::string who) {
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [who, last](const Progress &p) {
    auto now = std::chrono::steady_clock::now();
    if (p.done != p.total && now - *last < std::chrono::seconds(1))
      return;
    *last = now;
    llvm::errs() << fmt::format("{}: {} {}/{} ops, {:.1f} s\n", who, p.phase,
                                p.done, p.total, p.elapsedSeconds);
  };
}

/// Listens on c.listen and reports the port bound (RunConfig::portFile).
llvm::Expected<std::unique_ptr<TcpListener>> listenOn(const RunConfig &c) {
  auto l = TcpListener::listen(c.listen);
  if (!l)
    return l.takeError();
  if (!c.portFile.empty())
    if (llvm::Error e =
            writeFileAtomic(c.portFile, std::to_string((*l)->port()) + "\n"))
      return e;
  return l;
}

llvm::Error runDealerRole(const RunConfig &c, const LoadedPlan &plan) {
  auto listener = listenOn(c);
  if (!listener)
    return addContext(listener.takeError(), "dealer: ");
  std::unique_ptr<TcpChannel> ch[2];
  for (auto &link : ch) {
    auto a = (*listener)->accept(timeoutOf(c));
    if (!a)
      return addContext(a.takeError(), "dealer: waiting for the parties: ");
    link = std::move(*a);
    link->setTimeout(timeoutOf(c));
  }
  RunOptions ro;
  if (!c.quiet)
    ro.progress = progressPrinter("dealer");
  auto prof = runDealer(plan, *ch[0], *ch[1], ro);
  if (!prof)
    return prof.takeError();
  if (!c.profile.empty())
    return writeProfileFile(c.profile, *prof, plan);
  return llvm::Error::success();
}

llvm::Error runPartyRole(const RunConfig &c, const LoadedPlan &plan) {
  int id = c.party;
  // Everything that can be checked without the network first.
  auto given = readInputs(c.inputs);
  if (!given)
    return given.takeError();
  auto inputs = encodeInputs(plan, id, *given);
  if (!inputs)
    return inputs.takeError();
  auto outFiles = resolveOutputs(plan, id, c.revealToBoth, c.outputs);
  if (!outFiles)
    return outFiles.takeError();
  PartyData data;
  data.inputs = std::move(*inputs);
  if (id == 0) {
    auto w = readWeightsFile(c.weights, plan);
    if (!w)
      return w.takeError();
    data.weights = std::move(*w);
  }

  std::unique_ptr<TcpListener> listener;
  if (id == 0) {
    auto l = listenOn(c);
    if (!l)
      return addContext(l.takeError(), "party 0: ");
    listener = std::move(*l);
  }
  auto dealer = TcpChannel::connect(c.dealerAddr, timeoutOf(c));
  if (!dealer)
    return addContext(dealer.takeError(),
                      fmt::format("party {}: connecting to the dealer: ", id));
  (*dealer)->setPeerName("the dealer at " + c.dealerAddr);
  (*dealer)->setTimeout(timeoutOf(c));
  llvm::Expected<std::unique_ptr<TcpChannel>> peer =
      id == 0 ? listener->accept(timeoutOf(c))
              : TcpChannel::connect(c.connect, timeoutOf(c));
  if (!peer)
    return addContext(
        peer.takeError(),
        fmt::format("party {}: connecting to party {}: ", id, 1 - id));
  (*peer)->setPeerName(id == 0 ? "party 1" : "party 0 at " + c.connect);
  (*peer)->setTimeout(timeoutOf(c));

  RunOptions ro;
  ro.revealToBoth = c.revealToBoth;
  ro.materialWindowMiB = c.materialWindowMiB;
  if (!c.quiet)
    ro.progress = progressPrinter(fmt::format("party {}", id));
  auto res = runParty(id, plan, std::move(data), **peer, **dealer, ro);
  if (!res)
    return res.takeError();
  for (const auto &[name, file] : *outFiles) {
    auto it = res->outputs.find(name);
    if (it == res->outputs.end())
      return mpc::error("party {}: output '{}' was not received", id, name);
    if (llvm::Error e = writeNpy(file, it->second))
      return e;
  }
  if (!c.profile.empty())
    if (llvm::Error e = writeProfileFile(c.profile, res->profile, plan))
      return e;
  if (!c.quiet) {
    Cost predicted = planCost(plan);
    printProfile(llvm::outs(), res->profile, &predicted);
  }
  return llvm::Error::success();
}

} // namespace

llvm::Error mpc::rt::checkConfig(const RunConfig &c) {
  if (c.plan.empty())
    return mpc::error("--plan is required");
  if (!(c.timeoutSeconds > 0))
    return mpc::error("--timeout expects a positive number of seconds");
  switch (c.mode) {
  case RunConfig::Party:
    if (c.party != 0 && c.party != 1)
      return mpc::error("say which role to run: --party 0, --party 1, "
                        "`mpc-run dealer` or `mpc-run local`");
    if (c.dealerAddr.empty())
      return mpc::error("--dealer HOST:PORT is required");
    if (c.party == 0 && (c.weights.empty() || c.listen.empty()))
      return mpc::error("party 0 needs --weights and --listen HOST:PORT");
    if (c.party == 1 && !c.weights.empty())
      return mpc::error("party 1 never reads the weights: drop --weights");
    if (c.party == 1 && c.connect.empty())
      return mpc::error("party 1 needs --connect HOST:PORT (party 0)");
    if (c.party == 1 && c.outputs.empty())
      return mpc::error("party 1 needs --output FILE.npy");
    break;
  case RunConfig::Dealer:
    if (c.listen.empty())
      return mpc::error("the dealer needs --listen HOST:PORT");
    if (!c.weights.empty() || !c.inputs.empty() || !c.outputs.empty())
      return mpc::error("the dealer takes no weights, inputs or outputs");
    break;
  case RunConfig::Local:
    if (c.weights.empty() || c.outputs.empty())
      return mpc::error("mpc-run local needs --weights and --output");
    break;
  }
  return llvm::Error::success();
}

llvm::Error mpc::rt::runRole(const RunConfig &c) {
  if (c.threads > 0)
    setRingThreads(c.threads);
  auto plan = readPlan(c.plan);
  if (!plan)
    return plan.takeError();
  return c.mode == RunConfig::Dealer ? runDealerRole(c, *plan)
                                     : runPartyRole(c, *plan);
}
