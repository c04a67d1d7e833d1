//===- tools/mpc-run/Options.cpp - mpc-run's command line -----------------===//
//
// The llvm::cl options of a run: the parties at the top level, and the
// subcommands local, dealer and serve (keygen is in mpc-run.cpp).
//
//===----------------------------------------------------------------------===//
#include "tools/mpc-run/Options.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

using namespace llvm;
using namespace mpc::rt;
using namespace mpc::tool;

static cl::SubCommand localCmd("local", "Run the dealer and both parties as "
                                        "three processes on loopback");
static cl::SubCommand dealerCmd("dealer", "Run the dealer");
static cl::SubCommand serveCmd("serve", "Party 0 for many clients: serve "
                                        "sessions until SIGINT/SIGTERM");
cl::OptionCategory mpc::tool::runOptions("mpc-run options");

static auto top = cl::sub(*cl::TopLevelSubCommand);
static auto dealerSub = cl::sub(dealerCmd);
static auto localSub = cl::sub(localCmd);
static auto serveSub = cl::sub(serveCmd);

static cl::opt<int> party("party",
                          cl::desc("The party to run: 0 (model "
                                   "owner, weights) or 1 (client)"),
                          cl::init(-1), top, cl::cat(runOptions));
static cl::opt<std::string> planFile("plan", cl::desc("The plan"),
                                     cl::value_desc("FILE"), top, dealerSub,
                                     serveSub, cl::cat(runOptions));
static cl::opt<std::string> localPlan(cl::Positional, cl::Required,
                                      cl::desc("<model.plan>"), localSub,
                                      cl::cat(runOptions));
static cl::opt<std::string> weights("weights",
                                    cl::desc("Party 0's weights file"),
                                    cl::value_desc("FILE"), top, localSub,
                                    serveSub, cl::cat(runOptions));
static cl::opt<std::string> listenAddr("listen",
                                       cl::desc("Party 0, dealer: listen on "
                                                "HOST:PORT"),
                                       cl::value_desc("HOST:PORT"), top,
                                       dealerSub, serveSub,
                                       cl::cat(runOptions));
static cl::opt<std::string>
    connectAddr("connect", cl::desc("Party 1: party 0's HOST:PORT"),
                cl::value_desc("HOST:PORT"), top, cl::cat(runOptions));
static cl::opt<std::string>
    dealerAddr("dealer", cl::desc("Parties: the dealer's HOST:PORT"),
               cl::value_desc("HOST:PORT"), top, serveSub, cl::cat(runOptions));
static cl::list<std::string> inputs("input", cl::desc("An input tensor (.npy)"),
                                    cl::value_desc("NAME=FILE"), top, localSub,
                                    cl::cat(runOptions));
static cl::list<std::string> outputs("output",
                                     cl::desc("Where an output goes (.npy)"),
                                     cl::value_desc("FILE|NAME=FILE"), top,
                                     localSub, cl::cat(runOptions));
static cl::opt<std::string> requests(
    "requests",
    cl::desc("Party 1 (and local): run several requests over one session, "
             "one per line of FILE: --input NAME=FILE ... --output FILE ... "
             "(instead of --input and --output)"),
    cl::value_desc("FILE"), top, localSub, cl::cat(runOptions));
static cl::opt<std::string>
    profile("profile", cl::desc("Write the measured per-op profile (JSON)"),
            cl::value_desc("FILE"), top, dealerSub, localSub,
            cl::cat(runOptions));
static cl::opt<bool> revealToBoth(
    "reveal-to-both",
    cl::desc("Party 1 also sends the outputs to party 0 (both parties must "
             "pass it; party 0 then accepts --output too)"),
    top, localSub, cl::cat(runOptions));
static cl::opt<bool> quiet("quiet",
                           cl::desc("No progress and no profile table"), top,
                           dealerSub, localSub, serveSub, cl::cat(runOptions));
static cl::opt<double> timeout("timeout",
                               cl::desc("Give up on a peer silent for this "
                                        "many seconds (default 60)"),
                               cl::init(60), top, dealerSub, localSub, serveSub,
                               cl::cat(runOptions));
static cl::opt<int> threads("threads",
                            cl::desc("Threads for local ring kernels "
                                     "(default: all cores)"),
                            cl::init(0), top, dealerSub, localSub, serveSub,
                            cl::cat(runOptions));
static const std::string windowHelp = fmt::format(
    "Deal at most about MIB MiB of party 1's dealer material ahead of the "
    "online steps that use it (default {}; 0: all before the online phase; "
    "both parties must pass the same value)",
    kDefaultMaterialWindowMiB);
static cl::opt<unsigned> window("material-window", cl::desc(windowHelp),
                                cl::value_desc("MIB"),
                                cl::init(kDefaultMaterialWindowMiB), top,
                                dealerSub, localSub, serveSub,
                                cl::cat(runOptions));
static cl::opt<uint64_t>
    maxMemory("max-memory",
              cl::desc("Refuse a plan that needs more than MIB MiB per process "
                       "(default: 3/4 of physical memory)"),
              cl::value_desc("MIB"), cl::init(0), top, dealerSub, localSub,
              serveSub, cl::cat(runOptions));
static cl::opt<std::string>
    portFile("port-file",
             cl::desc("After listening, write the port bound to FILE"),
             cl::value_desc("FILE"), cl::Hidden, top, dealerSub, serveSub,
             cl::cat(runOptions));

static cl::opt<std::string> keyFile("key",
                                    cl::desc("This role's private key (PEM)"),
                                    cl::value_desc("FILE"), top, dealerSub,
                                    serveSub, cl::cat(runOptions));
static cl::opt<std::string> certFile("cert",
                                     cl::desc("This role's certificate"),
                                     cl::value_desc("FILE"), top, dealerSub,
                                     serveSub, cl::cat(runOptions));
static cl::list<std::string>
    trust("trust",
          cl::desc("A peer's certificate: only it is accepted as that role "
                   "(ROLE: party0, party1, dealer)"),
          cl::value_desc("ROLE=CERT"), top, dealerSub, serveSub,
          cl::cat(runOptions));
static cl::opt<bool>
    insecure("insecure",
             cl::desc("Plaintext TCP, no identities (trusted networks only)"),
             top, dealerSub, localSub, serveSub, cl::cat(runOptions));
static cl::opt<std::string> emulateNet(
    "emulate-net",
    cl::desc("Delay and throttle this process's links as over NET (lan, wan, "
             "or bw=GBIT,rtt=MS as in `mpcc report --net`): each send "
             "arrives RTT/2 after its last bit left, at most GBIT Gbit/s "
             "each way; `local` applies it to all three roles"),
    cl::value_desc("NET"), top, dealerSub, localSub, serveSub,
    cl::cat(runOptions));
static cl::opt<std::string> expectPlan(
    "expect-plan",
    cl::desc("Run only the plan with this SHA-256 (a client pins the plan "
             "it reviewed; sha256sum model.plan)"),
    cl::value_desc("SHA256"), top, dealerSub, localSub, serveSub,
    cl::cat(runOptions));

static cl::opt<bool>
    serveDealer("serve",
                cl::desc("Deal for many sessions (of `mpc-run serve`) until "
                         "SIGINT/SIGTERM"),
                dealerSub, cl::cat(runOptions));
static cl::opt<unsigned> maxSessions(
    "max-sessions",
    cl::desc("Serving: at most N sessions at once; more clients wait until "
             "one ends (default 8)"),
    cl::value_desc("N"), cl::init(8), dealerSub, serveSub, cl::cat(runOptions));
static cl::opt<bool> anyClient(
    "any-client",
    cl::desc("Serving: accept any client certificate instead of those given "
             "with --trust party1=CERT (README: Serving)"),
    dealerSub, serveSub, cl::cat(runOptions));

RunConfig mpc::tool::runConfig() {
  RunConfig c;
  c.mode = localCmd    ? RunConfig::Local
           : dealerCmd ? RunConfig::Dealer
           : serveCmd  ? RunConfig::Serve
                       : RunConfig::Party;
  c.party = party;
  c.plan = localCmd ? localPlan : planFile;
  c.weights = weights;
  c.profile = profile;
  c.listen = listenAddr;
  c.connect = connectAddr;
  c.dealerAddr = dealerAddr;
  c.inputs = inputs;
  c.outputs = outputs;
  c.requests = requests;
  c.revealToBoth = revealToBoth;
  c.quiet = quiet;
  c.timeoutSeconds = timeout;
  c.threads = threads;
  c.materialWindowMiB = window;
  c.portFile = portFile;
  c.maxMemoryMiB = maxMemory;
  c.keyFile = keyFile;
  c.certFile = certFile;
  c.trust = trust;
  c.insecure = insecure;
  c.expectPlan = expectPlan;
  c.serve = serveDealer;
  c.maxSessions = maxSessions;
  c.anyClient = anyClient;
  c.emulateNet = emulateNet;
  return c;
}
