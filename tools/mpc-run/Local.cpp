//===- tools/mpc-run/Local.cpp - All three roles on loopback --------------===//
//
// `mpc-run local` checks what it can up front (plan, inputs, outputs, that
// the weights file exists), then starts this executable three times: the
// dealer, party 0 and party 1, each a separate process talking TCP on
// 127.0.0.1 with ports picked here. Each child writes its profile to a
// temporary directory and party 1 its outputs next to their final paths.
// When one child fails, the others get a second to fail on their own
// (they usually report "closed the connection") and are then stopped; the
// first failure is reported as the cause, with its message, and no output
// file is left. On success the three profiles are merged and printed as
// one table, and the outputs are renamed into place.
//
//===----------------------------------------------------------------------===//
#include "tools/mpc-run/Options.h"

#include "runtime/plan/Profile.h"
#include "support/Diag.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::tool;
using Clock = std::chrono::steady_clock;

namespace {

struct Child {
  std::string role; ///< "dealer", "party 0", "party 1".
  std::string profile, stdoutPath, stderrPath;
  std::vector<std::string> args;
  llvm::sys::ProcessInfo pi;
  bool running = false, killed = false;
  int rc = 0;
  int exitOrder = -1;
};

/// A free TCP port on 127.0.0.1 (bound once and released: another process
/// could take it in between, which then fails the run with a clear error).
llvm::Expected<int> freePort() {
  auto l = TcpListener::listen("127.0.0.1:0");
  if (!l)
    return l.takeError();
  return (*l)->port();
}

std::string readText(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  return buf ? (*buf)->getBuffer().trim().str() : "";
}

/// Temporary files of one run, removed when it ends.
struct TempDir {
  llvm::SmallString<128> path;
  std::vector<std::string> extra; ///< Files outside the directory.
  ~TempDir() {
    for (const std::string &f : extra)
      llvm::sys::fs::remove(f);
    if (!path.empty()) {
      std::error_code ec;
      for (llvm::sys::fs::directory_iterator it(path, ec), end;
           it != end && !ec; it.increment(ec))
        llvm::sys::fs::remove(it->path());
      llvm::sys::fs::remove(path);
    }
  }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }
};

void start(Child &c, llvm::StringRef exe) {
  std::vector<llvm::StringRef> argv{exe};
  for (const std::string &a : c.args)
    argv.push_back(a);
  llvm::Optional<llvm::StringRef> redirects[3] = {
      llvm::StringRef(""), llvm::StringRef(c.stdoutPath),
      llvm::StringRef(c.stderrPath)};
  std::string err;
  bool failed = false;
  c.pi = llvm::sys::ExecuteNoWait(exe, argv, llvm::None, redirects, 0, &err,
                                  &failed);
  c.running = !failed && c.pi.Pid != 0;
  if (!c.running) {
    c.rc = 127;
    std::error_code ec;
    llvm::raw_fd_ostream(c.stderrPath, ec)
        << "cannot start " << exe << ": " << err << "\n";
  }
}

/// Waits for every child; after the first failure, gives the others
/// \p grace to finish before stopping them.
void waitAll(std::vector<Child> &children, std::chrono::milliseconds grace) {
  int order = 0;
  std::optional<Clock::time_point> firstFailure;
  for (Child &c : children)
    if (!c.running) {
      c.exitOrder = order++;
      firstFailure = Clock::now();
    }
  for (;;) {
    bool anyRunning = false;
    for (Child &c : children) {
      if (!c.running)
        continue;
      llvm::sys::ProcessInfo r =
          llvm::sys::Wait(c.pi, 0, /*WaitUntilTerminates=*/false);
      if (r.Pid == 0) {
        anyRunning = true;
        continue;
      }
      c.running = false;
      c.rc = r.ReturnCode;
      c.exitOrder = order++;
      if (c.rc != 0 && !firstFailure)
        firstFailure = Clock::now();
    }
    if (!anyRunning)
      return;
    if (firstFailure && Clock::now() - *firstFailure > grace) {
      for (Child &c : children)
        if (c.running) {
          ::kill(c.pi.Pid, SIGTERM);
          llvm::sys::Wait(c.pi, 0, /*WaitUntilTerminates=*/true);
          c.running = false;
          c.killed = true;
        }
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

/// The error lines a child printed ("mpc-run: error: " stripped).
std::string childError(const Child &c) {
  std::string text = readText(c.stderrPath);
  std::string out;
  llvm::SmallVector<llvm::StringRef, 8> lines;
  llvm::StringRef(text).split(lines, '\n');
  for (llvm::StringRef l : lines) {
    if (!l.consume_front("mpc-run: error: "))
      continue;
    out += (out.empty() ? "" : "\n") + l.str();
  }
  if (out.empty())
    out = text.empty() ? fmt::format("exited with status {}", c.rc) : text;
  return out;
}

} // namespace

int mpc::tool::runLocal(const Options &o, const char *argv0) {
  // Up-front checks: the same the children make, before any process starts.
  auto plan = readPlan(o.plan);
  if (!plan) {
    reportError(plan.takeError());
    return 1;
  }
  auto given = readInputs(o.inputs);
  if (!given) {
    reportError(given.takeError());
    return 1;
  }
  std::map<std::string, int> ownerOf;
  for (const plan::PlanInput &in : plan->proto->inputs())
    ownerOf[in.name()] = in.owner();
  std::map<std::string, HostTensor> byParty[2];
  std::vector<std::string> inputArgs[2];
  for (const std::string &spec : o.inputs) {
    std::string name = spec.substr(0, spec.find('='));
    int owner = ownerOf.count(name) ? ownerOf[name] : 1;
    byParty[owner][name] = (*given)[name];
    inputArgs[owner].push_back(spec);
  }
  for (int p = 0; p < 2; ++p)
    if (auto enc = encodeInputs(*plan, p, byParty[p]); !enc) {
      reportError(enc.takeError());
      return 1;
    }
  auto outFiles = resolveOutputs(*plan, 1, o.revealToBoth, o.outputs);
  if (!outFiles) {
    reportError(outFiles.takeError());
    return 1;
  }
  if (!llvm::sys::fs::exists(o.weights)) {
    reportError(mpc::error("cannot open weights file '{}': No such file or "
                           "directory",
                           o.weights));
    return 1;
  }

  TempDir tmp;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("mpc-run-local", tmp.path)) {
    reportError(
        mpc::error("cannot create a temporary directory: {}", ec.message()));
    return 1;
  }
  auto dealerPort = freePort(), p0Port = freePort();
  if (!dealerPort || !p0Port) {
    reportError(dealerPort ? p0Port.takeError() : dealerPort.takeError());
    if (!dealerPort)
      llvm::consumeError(p0Port.takeError());
    return 1;
  }
  std::string dealerAddr = fmt::format("127.0.0.1:{}", *dealerPort);
  std::string p0Addr = fmt::format("127.0.0.1:{}", *p0Port);
  std::string timeout = fmt::format("{}", o.timeoutSeconds);

  std::vector<Child> children(3);
  const char *roles[3] = {"dealer", "party 0", "party 1"};
  const char *tags[3] = {"dealer", "p0", "p1"};
  for (int i = 0; i < 3; ++i) {
    Child &c = children[i];
    c.role = roles[i];
    c.profile = tmp.file(std::string(tags[i]) + ".json");
    c.stdoutPath = tmp.file(std::string(tags[i]) + ".out");
    c.stderrPath = tmp.file(std::string(tags[i]) + ".err");
    c.args = {"--plan",  o.plan,      "--timeout", timeout,
              "--quiet", "--profile", c.profile};
    if (o.threads > 0)
      c.args.insert(c.args.end(), {"--threads", std::to_string(o.threads)});
    c.args.insert(c.args.end(),
                  {"--material-window", std::to_string(o.materialWindowMiB)});
  }
  children[0].args.insert(children[0].args.begin(),
                          {"--dealer", "--listen", dealerAddr});
  children[1].args.insert(children[1].args.begin(),
                          {"--party", "0", "--weights", o.weights, "--listen",
                           p0Addr, "--dealer", dealerAddr});
  children[2].args.insert(
      children[2].args.begin(),
      {"--party", "1", "--connect", p0Addr, "--dealer", dealerAddr});
  for (int p = 0; p < 2; ++p)
    for (const std::string &spec : inputArgs[p])
      children[1 + p].args.insert(children[1 + p].args.end(),
                                  {"--input", spec});
  std::map<std::string, std::string> tmpOut; // final path -> temporary
  for (const auto &[name, file] : *outFiles) {
    std::string t = fmt::format("{}.mpc-run-{}.tmp", file, ::getpid());
    tmpOut[file] = t;
    tmp.extra.push_back(t);
    children[2].args.insert(children[2].args.end(),
                            {"--output", name + "=" + t});
  }
  if (o.revealToBoth)
    for (int i = 1; i < 3; ++i)
      children[i].args.push_back("--reveal-to-both");

  std::string exe =
      llvm::sys::fs::getMainExecutable(argv0, (void *)&mpc::tool::runLocal);
  auto t0 = Clock::now();
  for (Child &c : children)
    start(c, exe);
  waitAll(children, std::chrono::seconds(1));
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<const Child *> failed;
  for (const Child &c : children)
    if (!c.killed && c.rc != 0)
      failed.push_back(&c);
  llvm::sort(failed, [](const Child *a, const Child *b) {
    return a->exitOrder < b->exitOrder;
  });
  if (!failed.empty()) {
    llvm::errs() << "mpc-run: error: " << failed[0]->role
                 << " failed: " << childError(*failed[0]) << "\n";
    for (size_t i = 1; i < failed.size(); ++i)
      llvm::errs() << "mpc-run: then " << failed[i]->role
                   << " failed: " << childError(*failed[i]) << "\n";
    return 1;
  }

  RunProfile profs[3];
  for (int i = 0; i < 3; ++i) {
    auto p = profileFromJson(readText(children[i].profile));
    if (!p) {
      reportError(addContext(p.takeError(), children[i].role + ": "));
      return 1;
    }
    profs[i] = std::move(*p);
  }
  RunProfile merged = mergeProfiles(profs[1], profs[2], &profs[0]);
  PeakRss rss{profs[1].peakRssBytes, profs[2].peakRssBytes,
              profs[0].peakRssBytes};
  Cost predicted = planCost(*plan);
  if (!o.profile.empty()) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::formatv("{0:2}", profileToJson(merged, &predicted, &rss))
       << "\n";
    if (llvm::Error e = writeFileAtomic(o.profile, os.str())) {
      reportError(std::move(e));
      return 1;
    }
  }
  for (const auto &[file, t] : tmpOut)
    if (std::error_code ec = llvm::sys::fs::rename(t, file)) {
      reportError(mpc::error("cannot write '{}': {}", file, ec.message()));
      return 1;
    }
  if (!o.quiet) {
    printProfile(llvm::outs(), merged, &predicted, &rss);
    llvm::outs() << fmt::format("wall:     {:.3f} s for the three processes\n",
                                wall);
    for (const auto &[name, file] : *outFiles)
      llvm::outs() << "wrote " << file << " (output '" << name << "')\n";
  }
  return 0;
}
