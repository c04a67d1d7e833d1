//===- runtime/session/Roles.cpp - One role of a run ----------------------===//
//
// The dealer listens and both parties connect to it; party 0 listens and
// party 1 connects to it. A role reads and checks the plan, its inputs or
// weights and its output files before it touches the network, then runs
// the executor over its links and writes its outputs atomically, and its
// profile.
//
//===----------------------------------------------------------------------===//
#include "runtime/session/ClientCheck.h"
#include "runtime/session/SessionImpl.h"

#include "runtime/Wipe.h"

#include "support/Diag.h"

#include "llvm/Support/raw_ostream.h"

#include <signal.h>

#include <chrono>
#include <memory>

using namespace mpc;
using namespace mpc::rt;

namespace {

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

/// RunConfig::dieAt: kills this process at \p phase once \p done ops of it
/// are done ("connect": done is 0).
void maybeDie(const RunConfig &c, llvm::StringRef phase, size_t done) {
  if (c.dieAt.empty())
    return;
  auto [want, count] = llvm::StringRef(c.dieAt).split(':');
  size_t n = 0; // checkConfig checked the form
  if (want == phase && (count.empty() || !count.getAsInteger(10, n)) &&
      done >= n)
    ::raise(SIGKILL);
}

/// The progress callback of a role: printed unless quiet; --die-at.
std::function<void(const Progress &)> progressOf(const RunConfig &c,
                                                 std::string who) {
  std::function<void(const Progress &)> print;
  if (!c.quiet)
    print = progressPrinter(who);
  if (c.dieAt.empty())
    return print;
  return [print, &c](const Progress &p) {
    if (print)
      print(p);
    maybeDie(c, p.phase, p.done);
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
  auto links = makeLinks(c, kDealerRole);
  if (!links)
    return addContext(links.takeError(), "dealer: ");
  auto listener = listenOn(c);
  if (!listener)
    return addContext(listener.takeError(), "dealer: ");
  std::unique_ptr<Channel> ch[2];
  for (auto &link : ch) {
    // Over TLS the first party's certificate takes its role; the second
    // connection must then be the other party's.
    std::vector<int> roles;
    for (int r : {0, 1})
      if (&link == &ch[0] || ch[0]->authenticatedRole() != r)
        roles.push_back(r);
    auto a = links->accept(**listener, roles);
    if (!a)
      return addContext(a.takeError(), "dealer: waiting for the parties: ");
    link = std::move(*a);
  }
  maybeDie(c, "connect", 0);
  RunOptions ro;
  ro.progress = progressOf(c, "dealer");
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
  if (id == 1)
    if (llvm::Error e = reviewPlanAsClient(plan, c))
      return e;
  auto read = readInputs(c.inputs);
  if (!read)
    return read.takeError();
  Wiped<std::map<std::string, HostTensor>> given(std::move(*read));
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
  std::string who = roleName(id);
  auto links = makeLinks(c, id);
  if (!links)
    return addContext(links.takeError(), who + ": ");

  std::unique_ptr<TcpListener> listener;
  if (id == 0) {
    auto l = listenOn(c);
    if (!l)
      return addContext(l.takeError(), "party 0: ");
    listener = std::move(*l);
  }
  auto dealer = links->connect(c.dealerAddr, kDealerRole);
  if (!dealer)
    return addContext(dealer.takeError(), who + ": connecting to the dealer: ");
  auto peer =
      id == 0 ? links->accept(*listener, {1}) : links->connect(c.connect, 0);
  if (!peer)
    return addContext(peer.takeError(),
                      fmt::format("{}: connecting to party {}: ", who, 1 - id));

  maybeDie(c, "connect", 0);
  RunOptions ro;
  ro.revealToBoth = c.revealToBoth;
  ro.materialWindowMiB = c.materialWindowMiB;
  ro.progress = progressOf(c, who);
  auto res = runParty(id, plan, std::move(data), **peer, **dealer, ro);
  if (!res)
    return res.takeError();
  Wiped<std::map<std::string, HostTensor>> outputs(std::move(res->outputs));
  for (const auto &[name, file] : *outFiles) {
    auto it = outputs->find(name);
    if (it == outputs->end())
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
  if (!c.emulateNet.empty())
    if (auto net = parseNetworkModel(c.emulateNet, "--emulate-net"); !net)
      return net.takeError();
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
    if (!c.dieAt.empty())
      return mpc::error("--die-at is for one role, not mpc-run local");
    if (c.weights.empty() || c.outputs.empty())
      return mpc::error("mpc-run local needs --weights and --output");
    if (!c.keyFile.empty() || !c.certFile.empty() || !c.trust.empty())
      return mpc::error("mpc-run local makes its own identities: drop --key, "
                        "--cert and --trust");
    return llvm::Error::success();
  }
  if (!c.dieAt.empty()) {
    auto [phase, count] = llvm::StringRef(c.dieAt).split(':');
    size_t n = 0;
    if (!(phase == "connect" && count.empty()) &&
        !((phase == "offline" || phase == "online") &&
          !count.getAsInteger(10, n)))
      return mpc::error("--die-at expects connect, offline:N or online:N, "
                        "not '{}'",
                        c.dieAt);
  }
  if (c.insecure && (!c.keyFile.empty() || !c.trust.empty()))
    return mpc::error("--insecure runs without identities: drop --key, "
                      "--cert and --trust, or --insecure");
  if (!c.insecure && (c.keyFile.empty() || c.certFile.empty()))
    return mpc::error("this role needs its identity, --key FILE --cert FILE "
                      "(made by `mpc-run keygen NAME`), and --trust ROLE=CERT "
                      "for each peer; or --insecure for plaintext TCP on a "
                      "trusted network");
  return llvm::Error::success();
}

llvm::Expected<LoadedPlan> mpc::rt::loadPlan(const RunConfig &c) {
  auto plan = readPlan(c.plan);
  if (!plan || c.expectPlan.empty())
    return plan;
  std::string have = digestHex(plan->digest);
  if (llvm::StringRef(c.expectPlan).lower() != have)
    return mpc::error("plan '{}' has SHA-256 {}, not {} (--expect-plan): "
                      "refusing a plan other than the one reviewed",
                      c.plan, have, c.expectPlan);
  return plan;
}

llvm::Error mpc::rt::checkMemory(const LoadedPlan &plan, const RunConfig &c,
                                 int role) {
  uint64_t budget =
      c.maxMemoryMiB ? c.maxMemoryMiB << 20 : defaultMemoryBudget();
  return checkMemoryBudget(plan, role, c.materialWindowMiB, budget);
}

llvm::Error mpc::rt::reviewPlanAsClient(const LoadedPlan &plan,
                                        const RunConfig &c) {
  auto learns = checkPlanForClient(plan, c.revealToBoth);
  if (!learns)
    return addContext(learns.takeError(), "party 1: ");
  llvm::errs() << *learns << "\n";
  return llvm::Error::success();
}

llvm::Error mpc::rt::runRole(const RunConfig &c) {
  if (c.threads > 0)
    setRingThreads(c.threads);
  auto plan = loadPlan(c);
  if (!plan)
    return plan.takeError();
  if (llvm::Error e = checkMemory(
          *plan, c, c.mode == RunConfig::Dealer ? kDealerRole : c.party))
    return e;
  return c.mode == RunConfig::Dealer ? runDealerRole(c, *plan)
                                     : runPartyRole(c, *plan);
}
