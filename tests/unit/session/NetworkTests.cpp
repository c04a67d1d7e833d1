//===- tests/unit/session/NetworkTests.cpp - Three mpc-run processes ------===//
//
// The roles of mpc-run as three separate processes on three identities,
// started one by one as on three machines:
//  - the bundled model (a PyTorch export) over TLS, with a relay between
//    party 1 and party 0 that records party 1's stream: TLS records only,
//    and logits that match PyTorch's, on a rerun too;
//  - party 1 trusting another certificate for party 0: refused, with a
//    message about the certificate, and no output file;
//  - faults: the dealer, party 0 or party 1 killed (SIGKILL, --die-at)
//    before the handshake, while dealing and while online: the others
//    exit non-zero within seconds, naming the peer they lost, and party 1
//    writes no output.
//
//===----------------------------------------------------------------------===//
#include "../plan/PlanTestUtil.h"
#include "runtime/session/Run.h"

#include "support/Tensor.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Matchers::Contains;
using Clock = std::chrono::steady_clock;

namespace {

struct TempDir {
  llvm::SmallString<128> path;
  TempDir() {
    REQUIRE(!llvm::sys::fs::createUniqueDirectory("mpcc-net", path));
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }
};

std::string readText(const std::string &path) {
  auto b = llvm::MemoryBuffer::getFile(path);
  return b ? (*b)->getBuffer().str() : "";
}

std::string tool(llvm::StringRef name) {
  return std::string(MPCC_BINARY_DIR) + "/tools/" + name.str();
}

/// One child process, its stderr in a file.
struct Proc {
  std::string tag, errPath;
  llvm::sys::ProcessInfo pi;
  bool running = false;
  int rc = -1;
  double seconds = 0; ///< From the start of waitAll to its exit.
  std::string err() const { return readText(errPath); }
};

Proc start(const TempDir &dir, const std::string &tag,
           std::vector<std::string> args,
           const std::string &exe = tool("mpc-run")) {
  Proc p;
  p.tag = tag;
  p.errPath = dir.file(tag + ".err");
  std::string outPath = dir.file(tag + ".out");
  std::vector<llvm::StringRef> argv{exe};
  for (const std::string &a : args)
    argv.push_back(a);
  llvm::Optional<llvm::StringRef> redirects[3] = {llvm::StringRef(""),
                                                  llvm::StringRef(outPath),
                                                  llvm::StringRef(p.errPath)};
  std::string msg;
  bool failed = false;
  p.pi = llvm::sys::ExecuteNoWait(exe, argv, llvm::None, redirects, 0, &msg,
                                  &failed);
  REQUIRE(!failed);
  p.running = true;
  return p;
}

bool poll(Proc &p) {
  if (!p.running)
    return true;
  llvm::sys::ProcessInfo r = llvm::sys::Wait(p.pi, 0, false);
  if (r.Pid == 0)
    return false;
  p.running = false;
  p.rc = r.ReturnCode;
  return true;
}

/// The port \p p wrote to \p portFile, waiting for it.
int waitPort(Proc &p, const std::string &portFile) {
  for (auto end = Clock::now() + std::chrono::seconds(60);
       Clock::now() < end;) {
    int port = 0;
    std::string text = readText(portFile);
    if (!text.empty() && !llvm::StringRef(text).trim().getAsInteger(10, port))
      return port;
    if (poll(p))
      FAIL(p.tag << " exited before listening:\n" << p.err());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL(p.tag << " did not listen");
  return 0;
}

/// Waits for every process, at most \p limit; kills the ones left.
void waitAll(std::vector<Proc *> procs, std::chrono::seconds limit) {
  auto t0 = Clock::now();
  for (;;) {
    bool any = false;
    for (Proc *p : procs)
      if (p->running) {
        if (poll(*p))
          p->seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        else
          any = true;
      }
    if (!any)
      return;
    if (Clock::now() - t0 > limit) {
      for (Proc *p : procs)
        if (p->running) {
          ::kill(p->pi.Pid, SIGKILL);
          llvm::sys::Wait(p->pi, 0, true);
          p->running = false;
          p->rc = -1000; // did not exit on its own
          p->seconds = 1e9;
        }
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

const char *kRoles[3] = {"party0", "party1", "dealer"};

/// Identities for the three roles (and an impostor for party 0).
void makeIdentities(const TempDir &dir) {
  for (const char *name : {"party0", "party1", "dealer", "other"})
    REQUIRE(errorOf(keygen(name, dir.path)) == "");
}

/// --key, --cert and --trust of \p role (0, 1, 2 = dealer).
std::vector<std::string> idArgs(const TempDir &dir, int role,
                                std::string trustParty0 = "party0") {
  std::vector<std::string> a = {
      "--key", dir.file(std::string(kRoles[role]) + ".key"), "--cert",
      dir.file(std::string(kRoles[role]) + ".crt")};
  for (int peer = 0; peer < 3; ++peer)
    if (peer != role)
      a.insert(a.end(), {"--trust",
                         std::string(kRoles[peer]) + "=" +
                             dir.file((peer == 0 ? trustParty0 : kRoles[peer]) +
                                      std::string(".crt"))});
  return a;
}

/// A TCP relay on 127.0.0.1 to \p port that records what its client sends.
class Relay {
public:
  explicit Relay(int port) : target_(port) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(lfd_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
    REQUIRE(::listen(lfd_, 1) == 0);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr *>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~Relay() {
    finish();
    ::close(lfd_);
  }
  /// Stops relaying (the recording is then complete).
  void finish() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  int port() const { return port_; }
  /// Client -> server bytes; call after the run.
  const std::vector<uint8_t> &recorded() const { return recorded_; }

private:
  void run() {
    pollfd lp{lfd_, POLLIN, 0};
    while (!stop_ && ::poll(&lp, 1, 50) <= 0) {
    }
    if (stop_)
      return;
    int c = ::accept(lfd_, nullptr, nullptr);
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(uint16_t(target_));
    if (c < 0 || ::connect(s, reinterpret_cast<sockaddr *>(&a), sizeof a)) {
      ::close(c);
      ::close(s);
      return;
    }
    std::vector<uint8_t> buf(1 << 16);
    bool open[2] = {true, true}; // client -> server, server -> client
    while (!stop_ && (open[0] || open[1])) {
      pollfd p[2] = {{open[0] ? c : -1, POLLIN, 0},
                     {open[1] ? s : -1, POLLIN, 0}};
      if (::poll(p, 2, 50) <= 0)
        continue;
      for (int i = 0; i < 2; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
          continue;
        int from = i == 0 ? c : s, to = i == 0 ? s : c;
        ssize_t n = ::recv(from, buf.data(), buf.size(), 0);
        if (n <= 0) {
          open[i] = false;
          ::shutdown(to, SHUT_WR);
          continue;
        }
        if (i == 0)
          recorded_.insert(recorded_.end(), buf.begin(), buf.begin() + n);
        for (ssize_t off = 0; off < n;) {
          ssize_t w =
              ::send(to, buf.data() + off, size_t(n - off), MSG_NOSIGNAL);
          if (w <= 0)
            break;
          off += w;
        }
      }
    }
    ::close(c);
    ::close(s);
  }

  int target_, port_ = 0, lfd_ = -1;
  std::atomic<bool> stop_{false};
  std::vector<uint8_t> recorded_;
  std::thread thread_;
};

/// The three roles of one run; party 1 connects to \p viaRelay's port when
/// given, else to party 0. Extra arguments per role.
struct Run3P {
  Proc dealer, p0, p1;
};

Run3P startRoles(const TempDir &dir, const std::string &plan,
                 const std::string &weights,
                 const std::vector<std::string> &inputs,
                 const std::string &output, std::vector<std::string> extra[3],
                 std::function<int(int)> connectPort = nullptr,
                 const std::string &trustParty0 = "party0") {
  Run3P r;
  std::string dport = dir.file("dealer.port"), pport = dir.file("p0.port");
  llvm::sys::fs::remove(dport);
  llvm::sys::fs::remove(pport);
  std::vector<std::string> common = {"--plan", plan, "--timeout", "20",
                                     "--quiet"};
  std::vector<std::string> a = {"dealer", "--listen", "127.0.0.1:0",
                                "--port-file", dport};
  for (auto *v : {&common, &extra[2]})
    a.insert(a.end(), v->begin(), v->end());
  auto ids = idArgs(dir, 2);
  a.insert(a.end(), ids.begin(), ids.end());
  r.dealer = start(dir, "dealer", a);
  std::string dealerAddr =
      fmt::format("127.0.0.1:{}", waitPort(r.dealer, dport));

  a = {"--party",     "0",           "--weights", weights,    "--listen",
       "127.0.0.1:0", "--port-file", pport,       "--dealer", dealerAddr};
  for (auto *v : {&common, &extra[0]})
    a.insert(a.end(), v->begin(), v->end());
  ids = idArgs(dir, 0);
  a.insert(a.end(), ids.begin(), ids.end());
  r.p0 = start(dir, "p0", a);
  int port = waitPort(r.p0, pport);
  if (connectPort)
    port = connectPort(port);

  a = {"--party",  "1",        "--connect", fmt::format("127.0.0.1:{}", port),
       "--dealer", dealerAddr, "--output",  output};
  for (const std::string &in : inputs)
    a.insert(a.end(), {"--input", in});
  for (auto *v : {&common, &extra[1]})
    a.insert(a.end(), v->begin(), v->end());
  ids = idArgs(dir, 1, trustParty0);
  a.insert(a.end(), ids.begin(), ids.end());
  r.p1 = start(dir, "p1", a);
  return r;
}

std::string allErrors(const Run3P &r) {
  return "dealer:\n" + r.dealer.err() + "\nparty 0:\n" + r.p0.err() +
         "\nparty 1:\n" + r.p1.err();
}

} // namespace

TEST_CASE("three processes run the bundled model over TLS only",
          "[session][network]") {
  TempDir dir;
  makeIdentities(dir);
  std::string fx = std::string(MPCC_FIXTURES_DIR) + "/bert_17_erf_mask_static";
  std::string plan = dir.file("m.plan"), weights = dir.file("m.weights");
  Proc c = start(dir, "compile", {"compile", fx + "/model.onnx", "-o", plan},
                 tool("mpcc"));
  waitAll({&c}, std::chrono::seconds(300));
  INFO("mpcc compile:\n" << c.err());
  REQUIRE(c.rc == 0);
  std::vector<std::string> inputs;
  for (const char *n : {"input_ids", "token_type_ids", "attention_mask"})
    inputs.push_back(std::string(n) + "=" + fx + "/" + n + ".npy");
  auto torch = readNpy(fx + "/logits.npy");
  REQUIRE(bool(torch));

  std::vector<std::string> none[3];
  std::unique_ptr<Relay> relay;
  std::string out = dir.file("logits.npy");
  Run3P r = startRoles(dir, plan, weights, inputs, out, none, [&](int port) {
    relay = std::make_unique<Relay>(port);
    return relay->port();
  });
  waitAll({&r.dealer, &r.p0, &r.p1}, std::chrono::seconds(300));
  INFO(allErrors(r));
  REQUIRE(r.dealer.rc == 0);
  REQUIRE(r.p0.rc == 0);
  REQUIRE(r.p1.rc == 0);
  relay->finish();

  auto logits = readNpy(out);
  REQUIRE(bool(logits));
  REQUIRE(logits->f.size() == torch->f.size());
  double err = 0;
  for (size_t i = 0; i < logits->f.size(); ++i)
    err = std::max(err, std::fabs(double(logits->f[i]) - torch->f[i]));
  CHECK(err < 5e-3);

  // Party 1 -> party 0: a TLS handshake record first, then TLS records
  // only (type, legacy version 3.x, 16-bit length), lengths adding up to
  // the whole stream.
  const std::vector<uint8_t> &rec = relay->recorded();
  REQUIRE(rec.size() > 1000);
  CHECK(rec[0] == 0x16);
  size_t pos = 0, records = 0, appData = 0;
  bool onlyTls = true;
  while (pos + 5 <= rec.size()) {
    uint8_t type = rec[pos];
    size_t len = size_t(rec[pos + 3]) << 8 | rec[pos + 4];
    bool ok = (type == 0x16 || type == 0x14 || type == 0x17) &&
              rec[pos + 1] == 3 && len <= (1 << 14) + 256;
    if (!ok) {
      INFO("record " << records << " at byte " << pos << ": type " << int(type)
                     << ", length " << len);
      onlyTls = false;
      break;
    }
    appData += type == 0x17;
    pos += 5 + len;
    ++records;
  }
  CHECK(onlyTls);
  CHECK(pos == rec.size());
  CHECK(appData > 10);

  // The logits' last truncation is party 1's, in the clear (the plan's
  // reveal has trunc_bits; reveal-before-trunc), but the truncations
  // inside the model round at random by one ulp, and that noise reaches
  // the output: a rerun differs in the last bits (README, threat model),
  // far below the error against PyTorch.
  std::string again = dir.file("again.npy");
  r = startRoles(dir, plan, weights, inputs, again, none);
  waitAll({&r.dealer, &r.p0, &r.p1}, std::chrono::seconds(300));
  REQUIRE(r.p1.rc == 0);
  auto second = readNpy(again);
  REQUIRE(bool(second));
  REQUIRE(second->f.size() == logits->f.size());
  for (size_t i = 0; i < logits->f.size(); ++i) {
    CHECK(std::fabs(second->f[i] - logits->f[i]) < 2e-3);
    CHECK(std::fabs(double(second->f[i]) - torch->f[i]) < 5e-3);
  }

  // Party 1 trusting another certificate for party 0 stops before
  // anything is sent, and writes nothing.
  std::string refused = dir.file("refused.npy");
  r = startRoles(dir, plan, weights, inputs, refused, none, nullptr, "other");
  waitAll({&r.dealer, &r.p0, &r.p1}, std::chrono::seconds(60));
  std::string p1err = r.p1.err();
  INFO(allErrors(r));
  CHECK(r.p1.rc == 1);
  CHECK_THAT(p1err, Contains("presented a certificate with SHA-256 "
                             "fingerprint"));
  CHECK_THAT(p1err, Contains("party0 ("));
  CHECK_THAT(p1err, Contains("is trusted"));
  CHECK(r.p0.rc != 0);
  CHECK(r.dealer.rc != 0);
  CHECK(!llvm::sys::fs::exists(refused));
}

TEST_CASE("a role killed mid-run ends the others within seconds",
          "[session][network]") {
  // x -> pw_linear -> trunc -> relu -> reveal: every op but the last has
  // dealer material, every step exchanges.
  PlanBuilder b;
  auto S = plan::VIS_SHARED;
  int x = b.value("x", {8, 16}, 12, plan::VIS_PRIVATE1);
  int w = b.value("W", {16, 8}, 12, plan::VIS_PRIVATE0);
  int y = b.value("y", {8, 8}, 24, S);
  int t = b.value("t", {8, 8}, 12, S);
  int rl = b.value("r", {8, 8}, 12, S);
  int o = b.value("out", {8, 8}, 12, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  b.op("pw_linear", {x, w}, {y}, 0, "/fc/MatMul");
  setInt(b.op("trunc", {y}, {t}, 1, "/fc/MatMul"), "bits", 12);
  b.op("relu", {t}, {rl}, 2, "/act/Relu");
  setInt(b.op("reveal", {rl}, {o}, 3, "/out"), "to", 1);
  b.output("logits", o);

  TempDir dir;
  makeIdentities(dir);
  std::string plan = dir.file("m.plan"), weights = dir.file("m.weights");
  auto planBytes = writePlanFile(plan, b.p);
  REQUIRE(bool(planBytes));
  WeightMap wm;
  wm[1] = fixed(std::vector<double>(16 * 8, 0.25), {16, 8}, 12);
  REQUIRE(errorOf(writeWeightsFile(
              weights,
              llvm::ArrayRef<uint8_t>(
                  reinterpret_cast<const uint8_t *>(planBytes->data()),
                  planBytes->size()),
              wm)) == "");
  std::string xin = dir.file("x.npy");
  REQUIRE(errorOf(writeNpy(xin, HostTensor::floats(
                                    {8, 16}, std::vector<double>(128, 0.5)))) ==
          "");

  // Who talks to whom: the peer a survivor names when the victim dies.
  const char *names[3] = {"party 0", "party 1", "dealer"};
  int victim = GENERATE(0, 1, 2);
  std::string point = GENERATE(std::string("connect"), std::string("offline:1"),
                               std::string("online:1"));
  if (victim == 2 && point == "online:1")
    point = "offline:2"; // the dealer has no online phase
  INFO("killing " << names[victim] << " at " << point);
  std::vector<std::string> extra[3];
  extra[victim] = {"--die-at", point};
  std::string out = dir.file("y.npy");
  Run3P r = startRoles(dir, plan, weights, {"x=" + xin}, out, extra);
  waitAll({&r.dealer, &r.p0, &r.p1}, std::chrono::seconds(30));
  INFO(allErrors(r));
  Proc *procs[3] = {&r.p0, &r.p1, &r.dealer};
  CHECK(procs[victim]->rc != 0);
  for (int role = 0; role < 3; ++role) {
    if (role == victim)
      continue;
    INFO(names[role] << " after " << procs[role]->seconds << " s");
    CHECK(procs[role]->seconds < 10);
    // The dealer's part ends when party 1 has dealt its last op: a party
    // dying later is the parties' failure, not the dealer's (party 1's
    // offline phase runs on while party 0 dies in its own); party 1 dying
    // before it is the dealer's too.
    bool party1HadAll =
        point == "online:1" || (victim == 0 && point == "offline:1");
    if (role == 2 && party1HadAll && procs[role]->rc == 0)
      continue;
    CHECK(procs[role]->rc == 1);
    std::string err = procs[role]->err();
    CHECK_THAT(err, Contains("mpc-run: error: "));
    // Party 0 has no link that reads while the dealer deals (it derives
    // its material from its seed), but party 1 relays the dealer's loss
    // in the offline phase (kPeerLostDealer), and in the handshake party 0
    // waits on the dealer first: both parties name a lost dealer. The
    // dealer, waiting on party 1 when party 0 dies, names party 1, which
    // then names party 0.
    int other = 3 - victim - role;
    bool direct = err.find(names[victim]) != std::string::npos;
    bool chained = err.find(names[other]) != std::string::npos &&
                   procs[other]->err().find(names[victim]) != std::string::npos;
    if (victim == 2)
      CHECK(direct);
    else
      CHECK((direct || chained));
  }
  CHECK(!llvm::sys::fs::exists(out));
}
