//===- runtime/session/Local.cpp - All three roles on loopback ------------===//
//
// `mpc-run local` checks what it can up front (plan, inputs, outputs, that
// the weights file exists), then starts mpc-run three times: the dealer,
// party 0 and party 1, each a separate process on 127.0.0.1, over TLS with
// identities made for this run only (unless --insecure). Ports are
// never guessed: the dealer listens on port 0 and writes the port it got
// to a file in this run's private temporary directory, and only then is
// party 0 started, pointed at it; party 0 does the same for party 1. Each
// child writes its profile to the temporary directory and party 1 its
// outputs next to their final paths. When one child fails, the others get
// a second to fail on their own (they usually report "closed the
// connection") and are then stopped; the first failure is reported as the
// cause, with its message, and no output file is left. On success the three
// profiles are merged and printed as one table, and the outputs are renamed
// into place. With --requests party 1 runs the list's requests over the
// one session (its copy of the list names the temporary outputs).
//
//===----------------------------------------------------------------------===//
#include "runtime/session/SessionImpl.h"

#include "support/Diag.h"
#include "support/TempDir.h"

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
using Clock = std::chrono::steady_clock;

namespace {

struct Child {
  std::string role; ///< "dealer", "party 0", "party 1".
  std::string profile, stdoutPath, stderrPath, portFile;
  std::vector<std::string> args;
  llvm::sys::ProcessInfo pi;
  bool started = false, running = false, killed = false;
  int rc = 0;
  int exitOrder = -1;
};

std::string readText(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  return buf ? (*buf)->getBuffer().trim().str() : "";
}

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
  c.started = true;
  c.running = !failed && c.pi.Pid != 0;
  if (!c.running) {
    c.rc = 127;
    std::error_code ec;
    llvm::raw_fd_ostream(c.stderrPath, ec)
        << "cannot start " << exe << ": " << err << "\n";
  }
}

/// Whether \p c has exited (recording how).
bool exited(Child &c, int &order) {
  if (!c.running)
    return true;
  llvm::sys::ProcessInfo r =
      llvm::sys::Wait(c.pi, 0, /*WaitUntilTerminates=*/false);
  if (r.Pid == 0)
    return false;
  c.running = false;
  c.rc = r.ReturnCode;
  c.exitOrder = order++;
  return true;
}

/// Waits until \p c has written the port it listens on; 0 if it exited
/// first or took longer than \p timeout.
int waitForPort(Child &c, int &order, Clock::duration timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    std::string text = readText(c.portFile);
    int port = 0;
    if (!text.empty() && !llvm::StringRef(text).getAsInteger(10, port) &&
        port > 0)
      return port;
    if (exited(c, order))
      return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return 0;
}

void stop(Child &c) {
  if (!c.running)
    return;
  ::kill(c.pi.Pid, SIGTERM);
  llvm::sys::Wait(c.pi, 0, /*WaitUntilTerminates=*/true);
  c.running = false;
  c.killed = true;
}

/// Waits for every started child; after the first failure, gives the
/// others \p grace to finish before stopping them.
void waitAll(std::vector<Child> &children, int &order,
             std::chrono::milliseconds grace) {
  std::optional<Clock::time_point> firstFailure;
  for (Child &c : children)
    if (c.started && !c.running && c.rc != 0)
      firstFailure = Clock::now();
  for (;;) {
    bool anyRunning = false;
    for (Child &c : children) {
      if (!c.running)
        continue;
      if (!exited(c, order)) {
        anyRunning = true;
        continue;
      }
      if (c.rc != 0 && !firstFailure)
        firstFailure = Clock::now();
    }
    if (!anyRunning)
      return;
    if (firstFailure && Clock::now() - *firstFailure > grace) {
      for (Child &c : children)
        stop(c);
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

/// One request of the run: the --input specs of each party and the
/// outputs party 1 writes (output name -> final file).
struct LocalRequest {
  std::vector<std::string> inputArgs[2];
  std::map<std::string, std::string> outFiles;
};

/// The up-front checks: the same the children make, before any starts, for
/// --input and --output or for each request of --requests (the client's
/// inputs only: party 0 serves every request with the same inputs).
llvm::Expected<std::vector<LocalRequest>> checkLocal(const RunConfig &c,
                                                     const LoadedPlan &plan) {
  auto files = requestFilesOf(c);
  if (!files)
    return files.takeError();
  const std::vector<RequestFiles> &list = *files;
  std::map<std::string, int> ownerOf;
  for (const plan::PlanInput &in : plan.proto->inputs())
    ownerOf[in.name()] = in.owner();
  std::vector<LocalRequest> requests(list.size());
  for (size_t k = 0; k < list.size(); ++k) {
    std::string where = requestContext(c, k);
    auto given = readInputs(list[k].inputs);
    if (!given)
      return addContext(given.takeError(), where);
    std::map<std::string, HostTensor> byParty[2];
    for (const std::string &spec : list[k].inputs) {
      std::string name = spec.substr(0, spec.find('='));
      int owner = ownerOf.count(name) ? ownerOf[name] : 1;
      if (owner == 0 && !c.requests.empty())
        return mpc::error("{}input '{}' is party 0's; a request list holds "
                          "the client's inputs only",
                          where, name);
      byParty[owner][name] = (*given)[name];
      requests[k].inputArgs[owner].push_back(spec);
    }
    for (int p = 0; p < 2; ++p)
      if (auto enc = encodeInputs(plan, p, byParty[p]); !enc)
        return addContext(enc.takeError(), where);
    auto outFiles = resolveOutputs(plan, 1, c.revealToBoth, list[k].outputs);
    if (!outFiles)
      return addContext(outFiles.takeError(), where);
    requests[k].outFiles = std::move(*outFiles);
  }
  if (!llvm::sys::fs::exists(c.weights))
    return mpc::error("cannot open weights file '{}': No such file or "
                      "directory",
                      c.weights);
  return requests;
}

} // namespace

llvm::Error mpc::rt::runLocal(const RunConfig &c, llvm::StringRef exe) {
  auto plan = loadPlan(c);
  if (!plan)
    return plan.takeError();
  if (!c.clientReviewShown)
    if (llvm::Error e = reviewPlanAsClient(*plan, c))
      return e;
  for (int role : {kDealerRole, 0, 1})
    if (llvm::Error e = checkMemory(*plan, c, role))
      return e;
  auto requests = checkLocal(c, *plan);
  if (!requests)
    return requests.takeError();

  TempDir tmp;
  if (llvm::Error e = tmp.create("mpc-run-local"))
    return e;

  std::vector<Child> children(3);
  const char *roles[3] = {"dealer", "party 0", "party 1"};
  const char *tags[3] = {"dealer", "p0", "p1"};
  for (int i = 0; i < 3; ++i) {
    Child &ch = children[i];
    ch.role = roles[i];
    ch.profile = tmp.file(std::string(tags[i]) + ".json");
    ch.stdoutPath = tmp.file(std::string(tags[i]) + ".out");
    ch.stderrPath = tmp.file(std::string(tags[i]) + ".err");
    ch.portFile = tmp.file(std::string(tags[i]) + ".port");
    ch.args = {"--plan",
               c.plan,
               "--timeout",
               fmt::format("{}", c.timeoutSeconds),
               "--quiet",
               "--profile",
               ch.profile,
               "--material-window",
               std::to_string(c.materialWindowMiB)};
    if (c.maxMemoryMiB > 0)
      ch.args.insert(ch.args.end(),
                     {"--max-memory", std::to_string(c.maxMemoryMiB)});
    if (c.threads > 0)
      ch.args.insert(ch.args.end(), {"--threads", std::to_string(c.threads)});
    if (!c.expectPlan.empty())
      ch.args.insert(ch.args.end(), {"--expect-plan", c.expectPlan});
    if (!c.emulateNet.empty())
      ch.args.insert(ch.args.end(), {"--emulate-net", c.emulateNet});
  }
  // Identities: fresh ones for this run (in the 0700 directory, keys
  // 0600), each role pinning the other two; or none with --insecure.
  const int roleOf[3] = {kDealerRole, 0, 1};
  if (c.insecure && !c.insecureWarningShown)
    llvm::errs() << kInsecureWarning;
  for (int i = 0; i < 3; ++i) {
    Child &ch = children[i];
    if (c.insecure) {
      ch.args.push_back("--insecure");
      continue;
    }
    std::string name = roleKey(roleOf[i]).str();
    auto f = keygen(name, tmp.path);
    if (!f)
      return addContext(f.takeError(), "ephemeral identities: ");
    ch.args.insert(ch.args.end(), {"--key", tmp.file(name + ".key"), "--cert",
                                   tmp.file(name + ".crt")});
    for (int peer : peersOf(roleOf[i]))
      ch.args.insert(ch.args.end(),
                     {"--trust", roleKey(peer).str() + "=" +
                                     tmp.file(roleKey(peer).str() + ".crt")});
  }
  children[0].args.insert(children[0].args.begin(), "dealer");
  children[0].args.insert(
      children[0].args.end(),
      {"--listen", "127.0.0.1:0", "--port-file", children[0].portFile});
  children[1].args.insert(children[1].args.end(),
                          {"--party", "0", "--weights", c.weights, "--listen",
                           "127.0.0.1:0", "--port-file", children[1].portFile});
  children[2].args.insert(children[2].args.end(), {"--party", "1"});
  // Party 1 writes every output to a temporary file next to its final
  // path; they are renamed into place once all three roles succeeded.
  std::map<std::string, std::string> tmpOut; // final path -> temporary
  std::string list;                          // party 1's --requests
  for (const LocalRequest &r : *requests) {
    RequestFiles party1;
    for (int p = 0; p < 2; ++p)
      for (const std::string &spec : r.inputArgs[p]) {
        if (p == 0 || c.requests.empty())
          children[1 + p].args.insert(children[1 + p].args.end(),
                                      {"--input", spec});
        else
          party1.inputs.push_back(spec);
      }
    for (const auto &[name, file] : r.outFiles) {
      std::string t = fmt::format("{}.mpc-run-{}.tmp", file, ::getpid());
      tmpOut[file] = t;
      tmp.extra.push_back(t);
      if (c.requests.empty())
        children[2].args.insert(children[2].args.end(),
                                {"--output", name + "=" + t});
      else
        party1.outputs.push_back(name + "=" + t);
    }
    list += requestListLine(party1);
  }
  if (!c.requests.empty()) {
    std::string listFile = tmp.file("requests.txt");
    if (llvm::Error e = writeFileAtomic(listFile, list))
      return e;
    children[2].args.insert(children[2].args.end(), {"--requests", listFile});
  }
  if (c.revealToBoth)
    for (int i = 1; i < 3; ++i)
      children[i].args.push_back("--reveal-to-both");

  // One role at a time, each told the port of the one before.
  auto t0 = Clock::now();
  auto timeout = std::chrono::milliseconds(int64_t(c.timeoutSeconds * 1000));
  int order = 0;
  for (int i = 0; i < 3; ++i) {
    Child &ch = children[i];
    start(ch, exe);
    if (i == 2 || !ch.running)
      break;
    int port = waitForPort(ch, order, timeout);
    if (port == 0) {
      if (ch.running) { // silent for the whole timeout
        stop(ch);
        for (Child &other : children)
          stop(other);
        return mpc::error("{} did not report its port within {:g} s", ch.role,
                          c.timeoutSeconds);
      }
      break;
    }
    std::string addr = fmt::format("127.0.0.1:{}", port);
    if (i == 0) {
      children[1].args.insert(children[1].args.end(), {"--dealer", addr});
      children[2].args.insert(children[2].args.end(), {"--dealer", addr});
    } else {
      children[2].args.insert(children[2].args.end(), {"--connect", addr});
    }
  }
  waitAll(children, order, std::chrono::seconds(1));
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<const Child *> failed;
  for (const Child &ch : children)
    if (ch.started && !ch.killed && ch.rc != 0)
      failed.push_back(&ch);
  llvm::sort(failed, [](const Child *a, const Child *b) {
    return a->exitOrder < b->exitOrder;
  });
  if (!failed.empty()) {
    std::string msg = failed[0]->role + " failed: " + childError(*failed[0]);
    for (size_t i = 1; i < failed.size(); ++i)
      msg +=
          "\n  then " + failed[i]->role + " failed: " + childError(*failed[i]);
    return mpc::error("{}", msg);
  }

  RunProfile profs[3];
  for (int i = 0; i < 3; ++i) {
    auto p = profileFromJson(readText(children[i].profile));
    if (!p)
      return addContext(p.takeError(), children[i].role + ": ");
    profs[i] = std::move(*p);
  }
  RunProfile merged = mergeProfiles(profs[1], profs[2]);
  PeakRss rss{profs[1].peakRssBytes, profs[2].peakRssBytes,
              profs[0].peakRssBytes};
  if (!c.profile.empty())
    if (llvm::Error e = writeProfileFile(
            c.profile, merged, *plan,
            c.emulateNet.empty() ? "loopback" : c.emulateNet, &rss))
      return e;
  for (const auto &[file, t] : tmpOut)
    if (std::error_code ec = llvm::sys::fs::rename(t, file))
      return mpc::error("cannot write '{}': {}", file, ec.message());
  if (!c.quiet) {
    Cost predicted = planCost(*plan);
    printProfile(llvm::outs(), merged, &predicted, &rss);
    llvm::outs() << fmt::format("wall:     {:.3f} s for the three processes\n",
                                wall);
    if (!merged.requests.empty()) {
      std::vector<std::string> each;
      for (const RunProfile::Request &r : merged.requests)
        each.push_back(fmt::format("{:.3f}", r.onlineSeconds));
      llvm::outs() << fmt::format(
          "requests: {} over one session (the table is request 1's); online "
          "s each: {}\n",
          merged.requests.size(), llvm::join(each, ", "));
    }
    for (const LocalRequest &r : *requests)
      for (const auto &[name, file] : r.outFiles)
        llvm::outs() << "wrote " << file << " (output '" << name << "')\n";
  }
  return llvm::Error::success();
}
