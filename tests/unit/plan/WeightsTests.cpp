//===- tests/unit/plan/WeightsTests.cpp - The weights file ----------------===//
//
// Round trip of the raw weights format, and every way a weights file can be
// wrong: missing, truncated anywhere, for another plan, a weight missing,
// repeated, of another shape, or not a weight of the plan at all.
//
//===----------------------------------------------------------------------===//
#include "PlanTestUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Matchers::Contains;

namespace {

/// x shared [2,3] -> pw_mul with g [3] -> reveal; plus a weight W [3,2]
/// read by pw_linear.
PlanBuilder weightsPlan() {
  PlanBuilder b;
  auto S = plan::VIS_SHARED, V0 = plan::VIS_PRIVATE0;
  int x = b.value("x", {2, 3}, 8, S);
  int g = b.value("g", {3}, 8, V0);
  int w = b.value("W", {3, 2}, 8, V0);
  int y = b.value("y", {2, 3}, 16, S);
  int z = b.value("z", {2, 2}, 16, S);
  int out = b.value("out", {2, 2}, 16, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  b.op("pw_mul", {x, g}, {y}, 0);
  b.op("pw_linear", {x, w}, {z}, 0);
  setInt(b.op("reveal", {z}, {out}, 1), "to", 1);
  b.output("out", out);
  return b;
}

struct TempFile {
  llvm::SmallString<128> path;
  TempFile() {
    REQUIRE(!llvm::sys::fs::createTemporaryFile("mpcc-test", "weights", path));
  }
  ~TempFile() { llvm::sys::fs::remove(path); }
  std::string str() const { return path.str().str(); }
};

llvm::ArrayRef<uint8_t> asBytes(const std::string &s) {
  return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

WeightMap goodWeights() {
  WeightMap w;
  w[1] = RingTensor({3}, {1, 2, 3});
  w[2] = RingTensor({3, 2}, {4, 5, 6, 7, 8, 9});
  return w;
}

std::string readAll(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  REQUIRE(bool(buf));
  return (*buf)->getBuffer().str();
}

void writeRaw(const std::string &path, llvm::StringRef bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  REQUIRE(!ec);
  os << bytes;
}

} // namespace

TEST_CASE("weights round-trip and are bound to their plan", "[plan][weights]") {
  PlanBuilder b = weightsPlan();
  std::string planBytes = b.bytes();
  LoadedPlan plan = mustLoad(b);
  CHECK(plan.weightIds() == std::vector<int>{1, 2});
  TempFile f;
  REQUIRE(errorOf(writeWeightsFile(f.str(), asBytes(planBytes),
                                   goodWeights())) == "");
  auto w = readWeightsFile(f.str(), plan);
  REQUIRE(errorOf(std::move(w)) == "");
  w = readWeightsFile(f.str(), plan);
  CHECK((*w)[1].vec() == std::vector<u64>{1, 2, 3});
  CHECK((*w)[2].vec() == std::vector<u64>{4, 5, 6, 7, 8, 9});
  CHECK(llvm::ArrayRef<int64_t>((*w)[2].shape()) ==
        llvm::ArrayRef<int64_t>({3, 2}));

  SECTION("another plan's weights are rejected") {
    PlanBuilder other = weightsPlan();
    other.p.set_model_name("other");
    LoadedPlan otherPlan = mustLoad(other);
    CHECK_THAT(errorOf(readWeightsFile(f.str(), otherPlan)),
               Contains("it belongs to another plan"));
  }
  SECTION("a missing file") {
    CHECK_THAT(errorOf(readWeightsFile("/nonexistent/w.weights", plan)),
               Contains("cannot open weights file '/nonexistent/w.weights'"));
  }
  SECTION("every truncation is reported") {
    std::string all = readAll(f.str());
    for (size_t n = 0; n < all.size(); n += 7) {
      writeRaw(f.str(), llvm::StringRef(all).take_front(n));
      INFO("first " << n << " bytes");
      std::string e = errorOf(readWeightsFile(f.str(), plan));
      CHECK_THAT(e, Contains("truncated") || Contains("bad magic"));
    }
    writeRaw(f.str(), all + "x");
    CHECK_THAT(errorOf(readWeightsFile(f.str(), plan)),
               Contains("unexpected bytes after the last tensor"));
  }
}

TEST_CASE("weights must match the plan's weights exactly", "[plan][weights]") {
  PlanBuilder b = weightsPlan();
  std::string planBytes = b.bytes();
  LoadedPlan plan = mustLoad(b);
  TempFile f;
  auto check = [&](WeightMap w, const char *msg) {
    REQUIRE(errorOf(writeWeightsFile(f.str(), asBytes(planBytes), w)) == "");
    CHECK_THAT(errorOf(readWeightsFile(f.str(), plan)), Contains(msg));
  };
  WeightMap w = goodWeights();
  w.erase(2);
  check(w, "missing weight 2 ('W', [3, 2])");
  w = goodWeights();
  w[2] = RingTensor({2, 3}, {4, 5, 6, 7, 8, 9});
  check(w, "weight 2 ('W') has shape [2, 3], the plan expects [3, 2]");
  w = goodWeights();
  w[0] = RingTensor({2, 3});
  check(w, "tensor 1 is for value 0, which is not a weight of the plan");

  // A repeated tensor, written by hand with the streaming writer.
  auto ww = WeightsWriter::create(f.str(), sha256(asBytes(planBytes)), 3);
  REQUIRE(bool(ww));
  REQUIRE(errorOf((*ww)->add(1, goodWeights()[1])) == "");
  REQUIRE(errorOf((*ww)->add(1, goodWeights()[1])) == "");
  REQUIRE(errorOf((*ww)->add(2, goodWeights()[2])) == "");
  REQUIRE(errorOf((*ww)->finish()) == "");
  CHECK_THAT(errorOf(readWeightsFile(f.str(), plan)),
             Contains("weight 1 ('g') appears twice"));

  // The streaming writer refuses to finish short and leaves no file.
  llvm::sys::fs::remove(f.path);
  {
    auto w2 = WeightsWriter::create(f.str(), sha256(asBytes(planBytes)), 2);
    REQUIRE(bool(w2));
    REQUIRE(errorOf((*w2)->add(1, goodWeights()[1])) == "");
    CHECK_THAT(errorOf((*w2)->finish()), Contains("2 tensors announced, 1 "
                                                  "written"));
  }
  CHECK(!llvm::sys::fs::exists(f.path));
  CHECK(!llvm::sys::fs::exists(f.str() + ".tmp"));
}

TEST_CASE("the weights reader allocates nothing the file cannot fill",
          "[plan][weights]") {
  // A plan may declare a 2^40-word weight; a weights file that announces it
  // but holds no data is rejected before 8 TiB are allocated.
  PlanBuilder b;
  int64_t n = int64_t(1) << 20;
  int x = b.value("x", {1, n}, 8, plan::VIS_SHARED);
  int w = b.value("W", {n, n}, 8, plan::VIS_PRIVATE0);
  int z = b.value("z", {1, n}, 16, plan::VIS_SHARED);
  int out = b.value("out", {1, n}, 16, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  b.op("pw_linear", {x, w}, {z}, 0);
  setInt(b.op("reveal", {z}, {out}, 1), "to", 1);
  b.output("out", out);
  LoadedPlan plan = mustLoad(b);

  // The header and the tensor record, then 64 bytes of data.
  TempFile f;
  std::string header(8 + 4 + 4 + 32, '\0');
  std::memcpy(header.data(), "MPCCWGT1", 8);
  uint32_t version = kPlanFormatVersion, count = 1;
  std::memcpy(header.data() + 8, &version, 4);
  std::memcpy(header.data() + 12, &count, 4);
  std::memcpy(header.data() + 16, plan.digest.data(), 32);
  int32_t id = w;
  uint32_t rank = 2;
  header.append(reinterpret_cast<const char *>(&id), 4);
  header.append(reinterpret_cast<const char *>(&rank), 4);
  header.append(reinterpret_cast<const char *>(&n), 8);
  header.append(reinterpret_cast<const char *>(&n), 8);
  header += std::string(64, '\0');
  writeRaw(f.str(), header);
  const char *expect = "truncated in the data of weight 1 ('W', "
                       "1099511627776 words expected, 64 bytes left)";
  CHECK_THAT(errorOf(readWeightsFile(f.str(), plan)), Contains(expect));
  CHECK_THAT(errorOf(parseWeights(asBytes(header), "mem.weights", plan)),
             Contains(expect));
}
