//===- tools/mpc-run/mpc-run.cpp - The two-party runner -------------------===//
//
// A thin driver over runtime/plan: parse the command line, read and check
// the plan, the inputs (party 1) or the weights (party 0) before touching
// the network, connect, run one role, write the outputs atomically and the
// profile. `mpc-run local` (Local.cpp) starts all three roles on loopback.
//
//   mpc-run --party 0 --plan P --weights W --listen HOST:PORT --dealer
//   HOST:PORT mpc-run --party 1 --plan P --connect HOST:PORT --dealer HOST:PORT
//           --input NAME=FILE ... --output FILE.npy [--reveal-to-both]
//   mpc-run --dealer --plan P --listen HOST:PORT
//   mpc-run local P --weights W --input NAME=FILE ... --output FILE.npy
//           [--profile FILE.json] [--quiet]
//
//===----------------------------------------------------------------------===//
#include "tools/mpc-run/Options.h"

#include "runtime/plan/Profile.h"
#include "support/Diag.h"
#include "support/MallocTuning.h"

#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <memory>

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::tool;

namespace {

const char *kUsage = R"(usage:
  mpc-run --party 0 --plan P --weights W --listen HOST:PORT --dealer HOST:PORT
  mpc-run --party 1 --plan P --connect HOST:PORT --dealer HOST:PORT
          --input NAME=FILE(.npy|.pb) ... --output FILE.npy|NAME=FILE.npy ...
  mpc-run --dealer --plan P --listen HOST:PORT
  mpc-run local P --weights W --input NAME=FILE ... --output FILE.npy
          [--profile FILE.json] [--quiet]
options:
  --reveal-to-both   party 1 also sends the outputs to party 0 (both parties
                     must pass it; party 0 then accepts --output too)
  --profile FILE     write the measured per-op profile as JSON
  --timeout SECONDS  give up on a peer silent for this long (default 60)
  --threads N        threads for local ring kernels (default: all cores)
  --material-window MIB
                     deal at most about MIB MiB of party 1's dealer material
                     ahead of the online steps that use it, alternating
                     offline and online per window (default 512; 0: all
                     material before the online phase; both parties must
                     pass the same value)
  --quiet            no progress and no profile table
Party 0 holds the weights, party 1 the inputs; the dealer listens and both
parties connect to it. Plaintext TCP: use on trusted networks or loopback.
)";

llvm::Expected<Options> parseArgs(int argc, char **argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  bool hasParty = false;
  for (const std::string &a : args)
    hasParty |= a == "--party" || llvm::StringRef(a).startswith("--party=");
  size_t i = 0;
  if (!args.empty() && args[0] == "local") {
    o.mode = Options::Local;
    if (args.size() < 2 || llvm::StringRef(args[1]).startswith("--"))
      return mpc::error("mpc-run local: expected the plan file");
    o.plan = args[1];
    i = 2;
  }
  for (; i < args.size(); ++i) {
    std::string flag = args[i], value;
    bool inlineValue = false;
    if (size_t eq = flag.find('=');
        llvm::StringRef(flag).startswith("--") && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inlineValue = true;
    }
    auto take = [&]() -> llvm::Expected<std::string> {
      if (inlineValue)
        return value;
      if (i + 1 >= args.size())
        return mpc::error("option {} needs a value", flag);
      return args[++i];
    };
#define TAKE(dst)                                                              \
  do {                                                                         \
    llvm::Expected<std::string> taken = take();                                \
    if (!taken)                                                                \
      return taken.takeError();                                                \
    dst = *taken;                                                              \
  } while (0)
    std::string v;
    if (flag == "--party") {
      TAKE(v);
      if (v != "0" && v != "1")
        return mpc::error("--party must be 0 or 1, not '{}'", v);
      o.party = v[0] - '0';
    } else if (flag == "--dealer") {
      if (hasParty) {
        TAKE(o.dealerAddr);
      } else if (o.mode != Options::Local) {
        o.mode = Options::Dealer;
      } else {
        return mpc::error("--dealer is not an option of mpc-run local");
      }
    } else if (flag == "--plan") {
      TAKE(o.plan);
    } else if (flag == "--weights") {
      TAKE(o.weights);
    } else if (flag == "--listen") {
      TAKE(o.listen);
    } else if (flag == "--connect") {
      TAKE(o.connect);
    } else if (flag == "--input") {
      TAKE(v);
      o.inputs.push_back(v);
    } else if (flag == "--output") {
      TAKE(v);
      o.outputs.push_back(v);
    } else if (flag == "--profile") {
      TAKE(o.profile);
    } else if (flag == "--timeout") {
      TAKE(v);
      if (llvm::StringRef(v).getAsDouble(o.timeoutSeconds) ||
          !(o.timeoutSeconds > 0))
        return mpc::error("--timeout expects a positive number of seconds, "
                          "not '{}'",
                          v);
    } else if (flag == "--threads") {
      TAKE(v);
      if (llvm::StringRef(v).getAsInteger(10, o.threads) || o.threads < 1)
        return mpc::error("--threads expects a positive integer, not '{}'", v);
    } else if (flag == "--material-window") {
      TAKE(v);
      if (llvm::StringRef(v).getAsInteger(10, o.materialWindowMiB))
        return mpc::error("--material-window expects a number of MiB (0 for "
                          "no window), not '{}'",
                          v);
    } else if (flag == "--reveal-to-both" && !inlineValue) {
      o.revealToBoth = true;
    } else if (flag == "--quiet" && !inlineValue) {
      o.quiet = true;
    } else {
      return mpc::error("unknown argument '{}'", args[i]);
    }
#undef TAKE
  }
  if (o.mode == Options::Party && o.party < 0)
    return mpc::error("say which role to run: --party 0, --party 1, --dealer "
                      "or local");
  if (o.plan.empty())
    return mpc::error("--plan is required");
  switch (o.mode) {
  case Options::Party:
    if (o.dealerAddr.empty())
      return mpc::error("--dealer HOST:PORT is required");
    if (o.party == 0 && (o.weights.empty() || o.listen.empty()))
      return mpc::error("party 0 needs --weights and --listen HOST:PORT");
    if (o.party == 1 && !o.weights.empty())
      return mpc::error("party 1 never reads the weights: drop --weights");
    if (o.party == 1 && o.connect.empty())
      return mpc::error("party 1 needs --connect HOST:PORT (party 0)");
    if (o.party == 1 && o.outputs.empty())
      return mpc::error("party 1 needs --output FILE.npy");
    break;
  case Options::Dealer:
    if (o.listen.empty())
      return mpc::error("the dealer needs --listen HOST:PORT");
    if (!o.weights.empty() || !o.inputs.empty() || !o.outputs.empty())
      return mpc::error("the dealer takes no weights, inputs or outputs");
    break;
  case Options::Local:
    if (o.weights.empty() || o.outputs.empty())
      return mpc::error("mpc-run local needs --weights and --output");
    break;
  }
  return o;
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

llvm::Error writeProfile(const std::string &path, const RunProfile &p,
                         const LoadedPlan &plan) {
  Cost predicted = planCost(plan);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", profileToJson(p, &predicted)) << "\n";
  return writeFileAtomic(path, os.str());
}

llvm::Error runDealerMode(const Options &o, const LoadedPlan &plan) {
  auto timeout = std::chrono::milliseconds(int64_t(o.timeoutSeconds * 1000));
  auto listener = TcpListener::listen(o.listen);
  if (!listener)
    return addContext(listener.takeError(), "dealer: ");
  std::unique_ptr<TcpChannel> ch[2];
  for (auto &c : ch) {
    auto a = (*listener)->accept(timeout);
    if (!a)
      return addContext(a.takeError(), "dealer: waiting for the parties: ");
    c = std::move(*a);
    c->setTimeout(timeout);
  }
  RunOptions ro;
  if (!o.quiet)
    ro.progress = progressPrinter("dealer");
  auto prof = runDealer(plan, *ch[0], *ch[1], ro);
  if (!prof)
    return prof.takeError();
  if (!o.profile.empty())
    return writeProfile(o.profile, *prof, plan);
  return llvm::Error::success();
}

llvm::Error runPartyMode(const Options &o, const LoadedPlan &plan) {
  int id = o.party;
  // Everything that can be checked without the network first.
  auto given = readInputs(o.inputs);
  if (!given)
    return given.takeError();
  auto inputs = encodeInputs(plan, id, *given);
  if (!inputs)
    return inputs.takeError();
  auto outFiles = resolveOutputs(plan, id, o.revealToBoth, o.outputs);
  if (!outFiles)
    return outFiles.takeError();
  PartyData data;
  data.inputs = std::move(*inputs);
  if (id == 0) {
    auto w = readWeightsFile(o.weights, plan);
    if (!w)
      return w.takeError();
    data.weights = std::move(*w);
  }

  auto timeout = std::chrono::milliseconds(int64_t(o.timeoutSeconds * 1000));
  std::unique_ptr<TcpListener> listener;
  if (id == 0) {
    auto l = TcpListener::listen(o.listen);
    if (!l)
      return addContext(l.takeError(), "party 0: ");
    listener = std::move(*l);
  }
  auto dealer = TcpChannel::connect(o.dealerAddr, timeout);
  if (!dealer)
    return addContext(dealer.takeError(),
                      fmt::format("party {}: connecting to the dealer: ", id));
  (*dealer)->setPeerName("the dealer at " + o.dealerAddr);
  (*dealer)->setTimeout(timeout);
  llvm::Expected<std::unique_ptr<TcpChannel>> peer =
      id == 0 ? listener->accept(timeout)
              : TcpChannel::connect(o.connect, timeout);
  if (!peer)
    return addContext(
        peer.takeError(),
        fmt::format("party {}: connecting to party {}: ", id, 1 - id));
  (*peer)->setPeerName(id == 0 ? "party 1" : "party 0 at " + o.connect);
  (*peer)->setTimeout(timeout);

  RunOptions ro;
  ro.revealToBoth = o.revealToBoth;
  ro.materialWindowMiB = o.materialWindowMiB;
  if (!o.quiet)
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
  if (!o.profile.empty())
    if (llvm::Error e = writeProfile(o.profile, res->profile, plan))
      return e;
  if (!o.quiet) {
    Cost predicted = planCost(plan);
    printProfile(llvm::outs(), res->profile, &predicted);
  }
  return llvm::Error::success();
}

} // namespace

void mpc::tool::reportError(llvm::Error e) {
  llvm::errs() << "mpc-run: error: " << llvm::toString(std::move(e)) << "\n";
}

llvm::Expected<std::map<std::string, HostTensor>>
mpc::tool::readInputs(const std::vector<std::string> &specs) {
  std::map<std::string, HostTensor> out;
  for (const std::string &s : specs) {
    auto nv = parseNameEqualsValue(s, "--input");
    if (!nv)
      return nv.takeError();
    if (out.count(nv->first))
      return mpc::error("input '{}' is given twice", nv->first);
    auto t = readTensorFile(nv->second);
    if (!t)
      return t.takeError();
    out[nv->first] = std::move(*t);
  }
  return out;
}

llvm::Expected<std::map<std::string, std::string>>
mpc::tool::resolveOutputs(const LoadedPlan &plan, int party, bool revealToBoth,
                          const std::vector<std::string> &specs) {
  std::vector<std::string> visible;
  for (const plan::PlanOutput &out : plan.proto->outputs()) {
    const ValueDesc &v = plan.value(out.value());
    if (v.heldBy(party) || (party == 0 && revealToBoth))
      visible.push_back(out.name());
  }
  std::string names;
  for (const std::string &n : visible)
    names += (names.empty() ? "'" : ", '") + n + "'";
  std::map<std::string, std::string> files;
  for (const std::string &s : specs) {
    if (visible.empty())
      return mpc::error("--output {}: party {} receives no output of this "
                        "plan{}",
                        s, party,
                        party == 0 ? " (both parties may pass --reveal-to-both)"
                                   : "");
    size_t eq = s.find('=');
    std::string name, file = s;
    if (eq != std::string::npos &&
        llvm::is_contained(visible, s.substr(0, eq))) {
      name = s.substr(0, eq);
      file = s.substr(eq + 1);
    } else if (visible.size() == 1) {
      name = visible[0];
    } else {
      return mpc::error("--output {}: name the output as NAME=FILE (party {} "
                        "receives {})",
                        s, party, names.empty() ? "none" : names);
    }
    if (files.count(name))
      return mpc::error("output '{}' is given twice", name);
    files[name] = file;
  }
  return files;
}

int main(int argc, char **argv) {
  mpc::reexecWithMallocTuning(argv);
  if (argc == 2 && (llvm::StringRef(argv[1]) == "--help" ||
                    llvm::StringRef(argv[1]) == "-h")) {
    llvm::outs() << kUsage;
    return 0;
  }
  auto o = parseArgs(argc, argv);
  if (!o) {
    reportError(o.takeError());
    llvm::errs() << kUsage;
    return 2;
  }
  if (o->threads > 0)
    setRingThreads(o->threads);
  if (o->mode == Options::Local)
    return runLocal(*o, argv[0]);
  auto plan = readPlan(o->plan);
  if (!plan) {
    reportError(plan.takeError());
    return 1;
  }
  llvm::Error e = o->mode == Options::Dealer ? runDealerMode(*o, *plan)
                                             : runPartyMode(*o, *plan);
  if (e) {
    reportError(std::move(e));
    return 1;
  }
  return 0;
}
