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

} // namespace

llvm::Expected<std::unique_ptr<TcpListener>>
mpc::rt::listenOn(const RunConfig &c) {
  auto l = TcpListener::listen(c.listen);
  if (!l)
    return l.takeError();
  if (!c.portFile.empty())
    if (llvm::Error e =
            writeFileAtomic(c.portFile, std::to_string((*l)->port()) + "\n"))
      return e;
  return l;
}

llvm::Expected<Listening> mpc::rt::listenAs(const RunConfig &c, int role,
                                            llvm::StringRef who) {
  auto links = makeLinks(c, role);
  if (!links)
    return addContext(links.takeError(), who);
  auto listener = listenOn(c);
  if (!listener)
    return addContext(listener.takeError(), who);
  return Listening{std::move(*links), std::move(*listener)};
}

namespace {

llvm::Error runDealerRole(const RunConfig &c, const LoadedPlan &plan) {
  if (c.serve)
    return runDealerService(c, plan);
  auto l = listenAs(c, kDealerRole, "dealer: ");
  if (!l)
    return l.takeError();
  Links *links = &l->links;
  std::unique_ptr<TcpListener> *listener = &l->listener;
  std::unique_ptr<Channel> ch[2];
  std::optional<PairToken> token;
  for (auto &link : ch) {
    auto tcp = (*listener)->accept(links->timeout);
    if (!tcp)
      return addContext(tcp.takeError(), "dealer: waiting for the parties: ");
    (*tcp)->setTimeout(links->timeout);
    auto t = readPairing(**tcp);
    if (!t)
      return addContext(t.takeError(), "dealer: ");
    if (token && *t != *token)
      return mpc::error("dealer: the two parties come from different "
                        "sessions (their pairing tokens differ); a dealer "
                        "for several sessions is `mpc-run dealer --serve`");
    token = *t;
    auto a = links->secure(std::move(*tcp), otherRoles(ch[0].get()));
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
    return writeProfileFile(c.profile, *prof, plan, c.emulateNet);
  return llvm::Error::success();
}

/// Party 1's requests, read, checked and encoded before any network I/O:
/// --input/--output, or each line of --requests.
struct ClientRequest {
  Wiped<std::map<int, RingTensor>> inputs;
  std::map<std::string, std::string> outputs; ///< Output name -> file.
};

llvm::Expected<std::vector<std::unique_ptr<ClientRequest>>>
readClientRequests(const RunConfig &c, const LoadedPlan &plan) {
  auto list = requestFilesOf(c);
  if (!list)
    return list.takeError();
  std::vector<std::unique_ptr<ClientRequest>> out;
  for (size_t k = 0; k < list->size(); ++k) {
    std::string where = requestContext(c, k);
    auto read = readInputs((*list)[k].inputs);
    if (!read)
      return addContext(read.takeError(), where);
    Wiped<std::map<std::string, HostTensor>> given(std::move(*read));
    auto inputs = encodeInputs(plan, c.party, *given);
    if (!inputs)
      return addContext(inputs.takeError(), where);
    auto files =
        resolveOutputs(plan, c.party, c.revealToBoth, (*list)[k].outputs);
    if (!files)
      return addContext(files.takeError(), where);
    auto r = std::make_unique<ClientRequest>();
    *r->inputs = std::move(*inputs);
    r->outputs = std::move(*files);
    out.push_back(std::move(r));
  }
  return out;
}

llvm::Error runPartyRole(const RunConfig &c, const LoadedPlan &plan) {
  int id = c.party;
  // Everything that can be checked without the network first.
  if (id == 1)
    if (llvm::Error e = reviewPlanAsClient(plan, c))
      return e;
  auto requests = readClientRequests(c, plan);
  if (!requests)
    return requests.takeError();
  WeightMap weights;
  if (id == 0) {
    auto w = readWeightsFile(c.weights, plan);
    if (!w)
      return w.takeError();
    weights = std::move(*w);
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
  // Party 0 draws the pairing token (SessionImpl.h) and brings it to the
  // dealer first; party 1 gets it from party 0, then goes to the dealer.
  llvm::Expected<PairToken> token = id == 0 ? newPairToken() : PairToken{};
  if (!token)
    return addContext(token.takeError(), "party 0: ");
  llvm::Expected<std::unique_ptr<Channel>> dealer(nullptr), peer(nullptr);
  if (id == 0) {
    dealer = links->connect(c.dealerAddr, kDealerRole, &*token);
    if (!dealer)
      return addContext(dealer.takeError(),
                        who + ": connecting to the dealer: ");
  }
  peer = id == 0 ? links->accept(*listener, {1}) : links->connect(c.connect, 0);
  if (!peer)
    return addContext(peer.takeError(),
                      fmt::format("{}: connecting to party {}: ", who, 1 - id));
  if (llvm::Error e =
          id == 0 ? sendPairing(**peer, *token) : recvPairing(**peer, *token))
    return addContext(std::move(e), who + ": ");
  if (id == 1) {
    dealer = links->connect(c.dealerAddr, kDealerRole, &*token);
    if (!dealer)
      return addContext(dealer.takeError(),
                        who + ": connecting to the dealer: ");
  }

  maybeDie(c, "connect", 0);
  RunOptions ro;
  ro.revealToBoth = c.revealToBoth;
  ro.materialWindowMiB = c.materialWindowMiB;
  ro.progress = progressOf(c, who);
  // Party 0 serves every request party 1 asks for, with its own inputs
  // (the first set given) each time.
  SessionHooks hooks;
  RunProfile first;
  std::vector<RunProfile::Request> perRequest;
  hooks.next = [&](size_t k) -> llvm::Expected<std::optional<Request>> {
    ClientRequest &r = *(*requests)[id == 1 ? k : 0];
    Request req;
    req.inputs = *r.inputs;
    req.last = id == 1 && k + 1 == requests->size();
    return std::optional<Request>(std::move(req));
  };
  hooks.done = [&](size_t k, PartyResult res) -> llvm::Error {
    Wiped<std::map<std::string, HostTensor>> outputs(std::move(res.outputs));
    const ClientRequest &r = *(*requests)[id == 1 ? k : 0];
    if (id == 1 || k == 0)
      for (const auto &[name, file] : r.outputs) {
        auto it = outputs->find(name);
        if (it == outputs->end())
          return mpc::error("party {}: output '{}' was not received", id, name);
        if (llvm::Error e = writeNpy(file, it->second))
          return e;
      }
    // The profile is the first request's, rewritten after each later one
    // with every request's online figures so far.
    perRequest.push_back(res.profile.onlineFigures());
    if (k == 0)
      first = res.profile;
    if (!c.profile.empty()) {
      RunProfile written = first;
      if (perRequest.size() > 1)
        written.requests = perRequest;
      if (llvm::Error e =
              writeProfileFile(c.profile, written, plan, c.emulateNet))
        return e;
    }
    if (c.quiet)
      return llvm::Error::success();
    if (k == 0) {
      // Several requests (or party 0, which cannot know how many follow):
      // the table is the first's, the log lines below give each one's.
      if (id == 0 || requests->size() > 1)
        llvm::outs() << who << ": request 1's profile (each request's "
                     << "figures follow, one line each on stderr)\n";
      Cost predicted = planCost(plan);
      printProfile(llvm::outs(), res.profile, &predicted);
    }
    if (id == 0 || requests->size() > 1)
      llvm::errs() << requestLogLine(who, k, res.profile) << "\n";
    return llvm::Error::success();
  };
  return runPartySession(id, plan, std::move(weights), **peer, **dealer, ro,
                         hooks);
}

} // namespace

std::vector<int> mpc::rt::otherRoles(const Channel *first) {
  // Over TLS the first party's certificate takes its role; the second
  // connection must then be the other party's.
  std::vector<int> roles;
  for (int r : {0, 1})
    if (!first || first->authenticatedRole() != r)
      roles.push_back(r);
  return roles;
}

llvm::Error mpc::rt::checkConfig(const RunConfig &c) {
  if (c.plan.empty())
    return mpc::error("--plan is required");
  if (!(c.timeoutSeconds > 0))
    return mpc::error("--timeout expects a positive number of seconds");
  if (!c.emulateNet.empty())
    if (auto net = parseNetworkModel(c.emulateNet, "--emulate-net"); !net)
      return net.takeError();
  if (c.maxSessions == 0)
    return mpc::error("--max-sessions expects at least 1");
  switch (c.mode) {
  case RunConfig::Serve:
    if (c.weights.empty() || c.listen.empty() || c.dealerAddr.empty())
      return mpc::error("mpc-run serve needs --weights, --listen HOST:PORT "
                        "and --dealer HOST:PORT (a dealer --serve)");
    break;
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
    if (c.party == 1 && c.outputs.empty() && c.requests.empty())
      return mpc::error("party 1 needs --output FILE.npy (or --requests "
                        "LIST)");
    if (!c.requests.empty() &&
        (c.party != 1 || !c.inputs.empty() || !c.outputs.empty()))
      return mpc::error("--requests LIST is party 1's, instead of --input "
                        "and --output");
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
    if (c.weights.empty() || (c.outputs.empty() && c.requests.empty()))
      return mpc::error("mpc-run local needs --weights and --output (or "
                        "--requests LIST)");
    if (!c.requests.empty() && (!c.inputs.empty() || !c.outputs.empty()))
      return mpc::error("--requests LIST is instead of --input and --output");
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
  if (c.anyClient && c.mode != RunConfig::Serve && !c.serve)
    return mpc::error("--any-client is for mpc-run serve and dealer --serve");
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
  if (llvm::Error e = checkMemory(*plan, c,
                                  c.mode == RunConfig::Dealer  ? kDealerRole
                                  : c.mode == RunConfig::Serve ? 0
                                                               : c.party))
    return e;
  if (c.mode == RunConfig::Serve)
    return runServe(c, *plan);
  return c.mode == RunConfig::Dealer ? runDealerRole(c, *plan)
                                     : runPartyRole(c, *plan);
}
