//===- tests/unit/plan/MpcRunTests.cpp - mpc-run as real processes --------===//
//
// Runs the mpc-run executable in `local` mode (the dealer and both parties
// as three processes over loopback TCP) on a tiny hand-built plan written
// to a temporary directory: the output file holds the right values, the
// --profile JSON has the documented schema and its measured totals equal
// the plan's cost, and a failing run exits non-zero, names the failing
// process and leaves no output file.
//
//===----------------------------------------------------------------------===//
#include "PlanTestUtil.h"

#include "support/Tensor.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Matchers::Contains;

namespace {

/// x [m,k] (party 1) -> pw_linear W [k,n] -> trunc -> relu -> reveal to 1
/// (by default [2,3] and [3,2]).
PlanBuilder tinyPlan(int64_t m = 2, int64_t k = 3, int64_t n = 2) {
  PlanBuilder b;
  auto S = plan::VIS_SHARED;
  int x = b.value("x", {m, k}, 12, plan::VIS_PRIVATE1);
  int w = b.value("W", {k, n}, 12, plan::VIS_PRIVATE0);
  int y = b.value("y", {m, n}, 24, S);
  int t = b.value("t", {m, n}, 12, S);
  int r = b.value("r", {m, n}, 12, S);
  int out = b.value("out", {m, n}, 12, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  b.op("pw_linear", {x, w}, {y}, 0, "/fc/MatMul");
  setInt(b.op("trunc", {y}, {t}, 1, "/fc/MatMul"), "bits", 12);
  b.op("relu", {t}, {r}, 2, "/act/Relu");
  setInt(b.op("reveal", {r}, {out}, 3, "/out"), "to", 1);
  b.output("logits", out);
  return b;
}

struct TempDir {
  llvm::SmallString<128> path;
  TempDir() {
    REQUIRE(!llvm::sys::fs::createUniqueDirectory("mpcc-mpc-run", path));
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }
};

struct ProcResult {
  int rc;
  std::string out, err;
};

ProcResult runTool(const TempDir &dir, std::vector<std::string> args) {
  std::string exe = std::string(MPCC_BINARY_DIR) + "/tools/mpc-run";
  REQUIRE(llvm::sys::fs::can_execute(exe));
  std::vector<llvm::StringRef> argv{exe};
  for (const std::string &a : args)
    argv.push_back(a);
  std::string outPath = dir.file("stdout.txt"),
              errPath = dir.file("stderr.txt");
  llvm::sys::fs::remove(outPath); // redirects do not truncate
  llvm::sys::fs::remove(errPath);
  llvm::Optional<llvm::StringRef> redirects[3] = {
      llvm::StringRef(""), llvm::StringRef(outPath), llvm::StringRef(errPath)};
  ProcResult r;
  r.rc = llvm::sys::ExecuteAndWait(exe, argv, llvm::None, redirects,
                                   /*SecondsToWait=*/120);
  auto o = llvm::MemoryBuffer::getFile(outPath);
  auto e = llvm::MemoryBuffer::getFile(errPath);
  r.out = o ? (*o)->getBuffer().str() : "";
  r.err = e ? (*e)->getBuffer().str() : "";
  return r;
}

const std::vector<double> kX = {1.0, -2.0, 0.5, 3.0, 0.25, -1.0};
const std::vector<double> kW = {0.5, -1.0, 1.5, 0.25, -0.75, 2.0};

/// m.plan from \p b, m.weights bound to it (W at value 1), x.npy.
void writeRunFiles(const TempDir &dir, const PlanBuilder &b) {
  auto planBytes = writePlanFile(dir.file("m.plan"), b.p);
  REQUIRE(bool(planBytes));
  WeightMap w;
  w[1] = fixed(kW, {3, 2}, 12);
  llvm::ArrayRef<uint8_t> pb(
      reinterpret_cast<const uint8_t *>(planBytes->data()), planBytes->size());
  REQUIRE(errorOf(writeWeightsFile(dir.file("m.weights"), pb, w)) == "");
  REQUIRE(errorOf(writeNpy(dir.file("x.npy"),
                           HostTensor::floats({2, 3}, kX))) == "");
}

/// \p file (y.npy) is relu(s x W) for x scaled by \p s, as the fixed-point
/// run gives it (within 2e-3 s).
void checkOutput(const TempDir &dir, llvm::StringRef file = "y.npy",
                 double s = 1) {
  auto y = readNpy(dir.file(file));
  REQUIRE(bool(y));
  REQUIRE(y->shape == std::vector<int64_t>{2, 2});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      double z = 0;
      for (int k = 0; k < 3; ++k)
        z += s * kX[i * 3 + k] * kW[k * 2 + j];
      CHECK(std::fabs(y->f[i * 2 + j] - std::max(z, 0.0)) < 2e-3 * s);
    }
}

} // namespace

TEST_CASE("mpc-run local runs three processes and writes the output",
          "[plan][mpc-run]") {
  TempDir dir;
  PlanBuilder b = tinyPlan();
  writeRunFiles(dir, b);

  ProcResult r = runTool(
      dir, {"local", dir.file("m.plan"), "--weights", dir.file("m.weights"),
            "--input", "x=" + dir.file("x.npy"), "--output", dir.file("y.npy"),
            "--profile", dir.file("p.json"), "--timeout", "20"});
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.rc == 0);
  CHECK_THAT(r.out, Contains("/act/Relu"));
  CHECK_THAT(r.out, Contains("measured = predicted"));

  checkOutput(dir);

  auto text = llvm::MemoryBuffer::getFile(dir.file("p.json"));
  REQUIRE(bool(text));
  auto json = llvm::json::parse((*text)->getBuffer());
  REQUIRE(bool(json));
  const llvm::json::Object *root = json->getAsObject();
  REQUIRE(root);
  const llvm::json::Array *ops = root->getArray("ops");
  const llvm::json::Object *total = root->getObject("total");
  REQUIRE(ops);
  REQUIRE(total);
  REQUIRE(ops->size() == 4);
  for (const llvm::json::Value &v : *ops) {
    const llvm::json::Object *o = v.getAsObject();
    REQUIRE(o);
    for (const char *k : {"node", "op", "protocol"})
      CHECK(o->getString(k));
    for (const char *k :
         {"rounds", "bytes_p0_to_p1", "bytes_p1_to_p0", "dealer_bytes"})
      CHECK(o->getInteger(k));
    CHECK(o->getNumber("seconds"));
  }
  CHECK(*(*ops)[2].getAsObject()->getString("protocol") == "relu");
  CHECK(*(*ops)[2].getAsObject()->getString("node") == "/act/Relu");
  for (const char *k :
       {"rounds", "bytes_p0_to_p1", "bytes_p1_to_p0", "dealer_bytes"})
    CHECK(total->getInteger(k));
  CHECK(total->getNumber("online_seconds"));
  CHECK(total->getNumber("offline_seconds"));

  LoadedPlan plan = mustLoad(b);
  Cost c = planCost(plan);
  CHECK(uint64_t(*total->getInteger("rounds")) == c.rounds);
  CHECK(uint64_t(*total->getInteger("bytes_p0_to_p1")) == c.bytes01);
  CHECK(uint64_t(*total->getInteger("bytes_p1_to_p0")) == c.bytes10);
  CHECK(uint64_t(*total->getInteger("dealer_bytes")) == c.dealerBytes1);
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const llvm::json::Object *o = (*ops)[i].getAsObject();
    Cost oc = opCost(plan, i);
    CHECK(uint64_t(*o->getInteger("rounds")) == oc.rounds);
    CHECK(uint64_t(*o->getInteger("bytes_p0_to_p1")) == oc.bytes01);
    CHECK(uint64_t(*o->getInteger("bytes_p1_to_p0")) == oc.bytes10);
    CHECK(uint64_t(*o->getInteger("dealer_bytes")) == oc.dealerBytes1);
    // The work counts that let the profile calibrate `mpcc report`.
    CHECK(o->getNumber("macs") == oc.macs);
    CHECK(o->getNumber("element_ops") == oc.elemOps);
  }
  CHECK(opCost(plan, 2).elemOps > 0); // the ReLU
  CHECK(total->getString("network").getValueOr("") == "loopback");
}

TEST_CASE("mpc-run local --requests runs each request over one session",
          "[plan][mpc-run]") {
  TempDir dir;
  PlanBuilder b = tinyPlan();
  writeRunFiles(dir, b);
  // Request k's input is x scaled by k + 1 (ReLU(k x W) = k ReLU(x W)).
  // Request 3's files are in a folder with a space in its name, the paths
  // in quotes.
  const int kRequests = 3;
  REQUIRE(!llvm::sys::fs::create_directory(dir.file("a folder")));
  auto nameOf = [](const char *stem, int k) {
    return fmt::format("{}{}{}.npy", k == 2 ? "a folder/" : "", stem, k);
  };
  auto fileOf = [&](const char *stem, int k) {
    return dir.file(nameOf(stem, k));
  };
  std::string list = "# one request per line\n";
  for (int k = 0; k < kRequests; ++k) {
    std::vector<double> xk = kX;
    for (double &v : xk)
      v *= k + 1;
    std::string in = fileOf("x", k);
    REQUIRE(errorOf(writeNpy(in, HostTensor::floats({2, 3}, xk))) == "");
    if (k < 2)
      list += fmt::format("--input x={} --output {}\n", in, fileOf("y", k));
    else
      list +=
          fmt::format("--input \"x={}\" --output \"{}\"\n", in, fileOf("y", k));
  }
  REQUIRE(errorOf(writeFileAtomic(dir.file("list.txt"), list)) == "");

  ProcResult r =
      runTool(dir, {"local", dir.file("m.plan"), "--weights",
                    dir.file("m.weights"), "--requests", dir.file("list.txt"),
                    "--profile", dir.file("p.json"), "--timeout", "20"});
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.rc == 0);
  CHECK_THAT(r.out, Contains("requests: 3 over one session"));
  for (int k = 0; k < kRequests; ++k)
    checkOutput(dir, nameOf("y", k), k + 1);
  // The profile: request 1's rows and totals, and every request's online
  // figures, each the plan's cost.
  auto text = llvm::MemoryBuffer::getFile(dir.file("p.json"));
  REQUIRE(bool(text));
  auto prof = profileFromJson((*text)->getBuffer());
  if (!prof)
    FAIL(llvm::toString(prof.takeError()));
  Cost c = planCost(mustLoad(b));
  CHECK(prof->onlineRounds == c.rounds);
  REQUIRE(prof->requests.size() == size_t(kRequests));
  for (const RunProfile::Request &q : prof->requests) {
    CHECK(q.onlineRounds == c.rounds);
    CHECK(q.onlineBytes01 == c.bytes01);
    CHECK(q.onlineBytes10 == c.bytes10);
    CHECK(q.onlineSeconds > 0);
  }

  // A request list is the client's: party 0's inputs, or --input beside
  // it, are refused before any process starts.
  r = runTool(dir, {"local", dir.file("m.plan"), "--weights",
                    dir.file("m.weights"), "--requests", dir.file("list.txt"),
                    "--input", "x=" + dir.file("x.npy")});
  CHECK(r.rc != 0);
  CHECK_THAT(r.err, Contains("--requests LIST is instead of --input"));
  REQUIRE(errorOf(writeFileAtomic(
              dir.file("bad.txt"),
              "--input x=" + dir.file("x0.npy") + " --output " +
                  dir.file("z0.npy") + "\n--input x=" + dir.file("nope.npy") +
                  " --output " + dir.file("z1.npy") + "\n")) == "");
  r = runTool(dir, {"local", dir.file("m.plan"), "--weights",
                    dir.file("m.weights"), "--requests", dir.file("bad.txt")});
  CHECK(r.rc != 0);
  CHECK_THAT(r.err, Contains("bad.txt: request 2: "));
  CHECK_THAT(r.err, Contains("nope.npy"));
  CHECK_FALSE(llvm::sys::fs::exists(dir.file("z0.npy")));
}

TEST_CASE("a failing mpc-run local leaves no output file", "[plan][mpc-run]") {
  TempDir dir;
  PlanBuilder b = tinyPlan();
  auto planBytes = writePlanFile(dir.file("m.plan"), b.p);
  REQUIRE(bool(planBytes));
  REQUIRE(errorOf(writeNpy(dir.file("x.npy"),
                           HostTensor::floats({2, 3}, kX))) == "");
  // Weights written for another plan: party 0 refuses them.
  PlanBuilder other = tinyPlan();
  other.p.set_model_name("other");
  std::string otherBytes = other.bytes();
  WeightMap w;
  w[1] = fixed(kW, {3, 2}, 12);
  REQUIRE(errorOf(writeWeightsFile(
              dir.file("m.weights"),
              llvm::ArrayRef<uint8_t>(
                  reinterpret_cast<const uint8_t *>(otherBytes.data()),
                  otherBytes.size()),
              w)) == "");
  ProcResult r =
      runTool(dir, {"local", dir.file("m.plan"), "--weights",
                    dir.file("m.weights"), "--input", "x=" + dir.file("x.npy"),
                    "--output", dir.file("y.npy"), "--timeout", "20"});
  INFO("stderr:\n" << r.err);
  CHECK(r.rc != 0);
  CHECK_THAT(r.err, Contains("party 0 failed"));
  CHECK_THAT(r.err, Contains("belongs to another plan"));
  CHECK(!llvm::sys::fs::exists(dir.file("y.npy")));

  // A wrong input shape is refused before any process starts.
  REQUIRE(errorOf(writeNpy(dir.file("x.npy"),
                           HostTensor::floats({3, 2}, kX))) == "");
  r = runTool(dir, {"local", dir.file("m.plan"), "--weights",
                    dir.file("m.weights"), "--input", "x=" + dir.file("x.npy"),
                    "--output", dir.file("y.npy")});
  CHECK(r.rc != 0);
  CHECK_THAT(r.err, Contains("input 'x': expected float32[2,3], got "
                             "float32[3,2]"));
  CHECK(!llvm::sys::fs::exists(dir.file("y.npy")));

  // mpc-run does not link ONNX: a TensorProto input is refused by name,
  // with what to do instead (mpcc reads .pb).
  r = runTool(dir, {"local", dir.file("m.plan"), "--weights",
                    dir.file("m.weights"), "--input", "x=" + dir.file("x.pb"),
                    "--output", dir.file("y.npy")});
  CHECK(r.rc != 0);
  CHECK_THAT(r.err, Contains("x.pb: mpc-run reads NumPy .npy inputs, not "
                             "'.pb' files; save the tensor with numpy.save"));
  CHECK(!llvm::sys::fs::exists(dir.file("y.npy")));

  // Party 1 never takes --weights.
  r = runTool(dir, {"--party", "1", "--plan", dir.file("m.plan"), "--weights",
                    dir.file("m.weights"), "--connect", "127.0.0.1:1",
                    "--dealer", "127.0.0.1:2", "--output", dir.file("y.npy")});
  CHECK(r.rc == 2);
  CHECK_THAT(r.err, Contains("party 1 never reads the weights"));

  // Without an identity a role refuses to run, unless --insecure.
  r = runTool(dir, {"--party", "1", "--plan", dir.file("m.plan"), "--connect",
                    "127.0.0.1:1", "--dealer", "127.0.0.1:2", "--input",
                    "x=" + dir.file("x.npy"), "--output", dir.file("y.npy")});
  CHECK(r.rc == 2);
  CHECK_THAT(r.err, Contains("this role needs its identity, --key FILE "
                             "--cert FILE"));
  CHECK_THAT(r.err, Contains("or --insecure"));
  r = runTool(dir, {"dealer", "--plan", dir.file("m.plan"), "--listen",
                    "127.0.0.1:0", "--key", dir.file("k"), "--cert",
                    dir.file("c"), "--trust", "party0=" + dir.file("c")});
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Contains("dealer talks to party 1: pass its certificate "
                             "with --trust party1=CERT"));
}

TEST_CASE("mpc-run local --insecure warns and still runs", "[plan][mpc-run]") {
  TempDir dir;
  PlanBuilder b = tinyPlan();
  writeRunFiles(dir, b);
  ProcResult r =
      runTool(dir, {"local", dir.file("m.plan"), "--weights",
                    dir.file("m.weights"), "--input", "x=" + dir.file("x.npy"),
                    "--output", dir.file("y.npy"), "--insecure", "--quiet"});
  INFO("stderr:\n" << r.err);
  CHECK(r.rc == 0);
  CHECK_THAT(r.err, Contains("warning: --insecure: plaintext TCP"));
  CHECK_THAT(r.err, Contains("party 0 learns: nothing but the plan's shapes"));
  CHECK(llvm::sys::fs::exists(dir.file("y.npy")));
}

TEST_CASE("mpc-run local --emulate-net delays the run, not its result",
          "[plan][mpc-run]") {
  TempDir dir;
  PlanBuilder b = tinyPlan();
  writeRunFiles(dir, b);
  std::vector<std::string> args{
      "local",     dir.file("m.plan"),       "--weights", dir.file("m.weights"),
      "--input",   "x=" + dir.file("x.npy"), "--output",  dir.file("y.npy"),
      "--profile", dir.file("p.json"),       "--quiet"};
  // Over TLS and plaintext alike: the online phase waits at least once
  // for a message, half the 100 ms round trip.
  for (bool insecure : {false, true}) {
    CAPTURE(insecure);
    std::vector<std::string> a = args;
    a.insert(a.end(), {"--emulate-net", "bw=1,rtt=100"});
    if (insecure)
      a.push_back("--insecure");
    ProcResult r = runTool(dir, a);
    INFO("stderr:\n" << r.err);
    REQUIRE(r.rc == 0);
    checkOutput(dir);
    auto text = llvm::MemoryBuffer::getFile(dir.file("p.json"));
    REQUIRE(bool(text));
    auto json = llvm::json::parse((*text)->getBuffer());
    REQUIRE(bool(json));
    const llvm::json::Object *total = json->getAsObject()->getObject("total");
    REQUIRE(total);
    Cost c = planCost(mustLoad(b));
    CHECK(uint64_t(*total->getInteger("rounds")) == c.rounds);
    CHECK(c.rounds > 0);
    CHECK(*total->getNumber("online_seconds") >= 0.05);
  }

  std::vector<std::string> bad = args;
  bad.insert(bad.end(), {"--emulate-net", "bw=fast"});
  ProcResult r = runTool(dir, bad);
  CHECK(r.rc != 0);
  CHECK_THAT(r.err, Contains("--emulate-net: 'bw=fast' is not KEY=NUMBER"));
}

TEST_CASE("party 1 refuses a plan that reveals its input to party 0",
          "[plan][mpc-run]") {
  // The model owner adds a reveal of the client's input to party 0, as an
  // output of its own, and re-binds the weights file to the edited plan.
  TempDir dir;
  PlanBuilder b = tinyPlan();
  int leak = b.value("leak", {2, 3}, 12, plan::VIS_PRIVATE0);
  setInt(b.op("reveal", {0}, {leak}, 4, "/leak"), "to", 0);
  b.output("ids", leak, 0);
  writeRunFiles(dir, b);
  std::vector<std::string> args = {"local",     dir.file("m.plan"),
                                   "--weights", dir.file("m.weights"),
                                   "--input",   "x=" + dir.file("x.npy"),
                                   "--output",  "logits=" + dir.file("y.npy")};
  ProcResult r = runTool(dir, args);
  INFO("stderr:\n" << r.err);
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Contains("party 1: the plan reveals to party 0 a value "
                             "computed from party 1's input 'x'"));
  CHECK_THAT(r.err, Contains("op 4 'reveal' (onnx node '/leak')"));
  CHECK_THAT(r.err, Contains("--reveal-to-both"));
  CHECK(!llvm::sys::fs::exists(dir.file("y.npy")));

  // A client that pinned the plan it reviewed refuses any other.
  args.insert(args.end(), {"--expect-plan", std::string(64, 'a')});
  r = runTool(dir, args);
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Contains("(--expect-plan): refusing a plan other than "
                             "the one reviewed"));
  CHECK(!llvm::sys::fs::exists(dir.file("y.npy")));
}

TEST_CASE("a plan too large for --max-memory is refused before any run",
          "[plan][mpc-run]") {
  TempDir dir;
  // Values of 2^40 elements: refused under the default budget, before any
  // allocation, file or connection.
  const int64_t big = int64_t(1) << 20;
  REQUIRE(
      bool(writePlanFile(dir.file("huge.plan"), tinyPlan(big, big, big).p)));
  ProcResult r =
      runTool(dir, {"local", dir.file("huge.plan"), "--weights",
                    dir.file("none.weights"), "--output", dir.file("y.npy")});
  INFO("stderr:\n" << r.err);
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Contains("dealer: plan '" + dir.file("huge.plan") +
                             "' needs about"));
  CHECK_THAT(r.err, Contains("--max-memory allows"));
  CHECK(!llvm::sys::fs::exists(dir.file("y.npy")));
  r = runTool(dir, {"--party", "1", "--plan", dir.file("huge.plan"),
                    "--connect", "127.0.0.1:1", "--dealer", "127.0.0.1:2",
                    "--output", dir.file("y.npy"), "--insecure"});
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Contains("party 1: plan"));
  CHECK_THAT(r.err, Contains("of memory at op "));

  // A small plan under a budget of 1 MiB: refused by the option alone.
  PlanBuilder b = tinyPlan(256, 256, 256);
  writeRunFiles(dir, tinyPlan());
  REQUIRE(bool(writePlanFile(dir.file("m.plan"), b.p)));
  r = runTool(dir, {"local", dir.file("m.plan"), "--weights",
                    dir.file("m.weights"), "--input", "x=" + dir.file("x.npy"),
                    "--output", dir.file("y.npy"), "--max-memory", "1"});
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Contains("more than the 1.0 MiB --max-memory allows"));
  CHECK(!llvm::sys::fs::exists(dir.file("y.npy")));
}
