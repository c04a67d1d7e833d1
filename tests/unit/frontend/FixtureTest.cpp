//===- tests/unit/frontend/FixtureTest.cpp - Real PyTorch exports ---------===//
//
// For every fixture under tests/fixtures (PyTorch exports of a BERT-style
// classifier at opsets 13/14/17, static and dynamic axes): import with the
// shapes of the input files, run the float interpreter and compare with
// PyTorch's logits (second input set too for dynamic exports), check the
// recognised patterns against the model configuration in meta.json, and
// round-trip the imported graph through the printer and parser.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtil.h"

#include "frontend/TensorProto.h"
#include "support/Tensor.h"

#include <fmt/format.h>

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>

using namespace mpc;
using namespace mpc::test;

namespace {
struct Fixture {
  std::string dir, name;
  llvm::json::Value meta = nullptr;
};
} // namespace

/// Every fixture folder (one holding model.onnx and meta.json), sorted.
static std::vector<Fixture> fixtures() {
  std::vector<Fixture> out;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(MPCC_FIXTURES_DIR, ec), end;
       it != end && !ec; it.increment(ec)) {
    llvm::SmallString<256> meta(it->path());
    llvm::sys::path::append(meta, "meta.json");
    auto buf = llvm::MemoryBuffer::getFile(meta);
    if (!buf)
      continue;
    auto json = llvm::json::parse((*buf)->getBuffer());
    if (!json) {
      llvm::consumeError(json.takeError());
      continue;
    }
    out.push_back({it->path(), llvm::sys::path::filename(it->path()).str(),
                   std::move(*json)});
  }
  std::sort(out.begin(), out.end(),
            [](const Fixture &a, const Fixture &b) { return a.name < b.name; });
  return out;
}

static std::string path(const Fixture &f, llvm::StringRef file) {
  llvm::SmallString<256> p(f.dir);
  llvm::sys::path::append(p, file);
  return p.str().str();
}

static HostTensor readOk(const std::string &file) {
  auto t = readTensorFile(file);
  if (!t)
    FAIL(llvm::toString(t.takeError()));
  return std::move(*t);
}

/// Imports the fixture with shapes bound from input set \p set ("set_a" or
/// "set_b") and compares the interpreter's logits with PyTorch's.
static double runSet(const Fixture &f, llvm::StringRef set,
                     std::unique_ptr<Graph> *keep = nullptr) {
  const llvm::json::Object *s = f.meta.getAsObject()->getObject(set);
  REQUIRE(s);
  ImportOptions opts;
  std::map<std::string, HostTensor> inputs;
  for (const llvm::json::Value &in : *s->getArray("inputs")) {
    const auto *o = in.getAsObject();
    std::string name = o->getString("name")->str();
    HostTensor t = readOk(path(f, *o->getString("file")));
    opts.inputShapes[name] = t.shape;
    inputs[name] = std::move(t);
  }
  auto g = importOnnxFile(path(f, "model.onnx"), opts);
  if (!g)
    FAIL(f.name << ": " << llvm::toString(g.takeError()));
  auto out = runOk(**g, inputs);
  const auto *o0 = (*s->getArray("outputs"))[0].getAsObject();
  HostTensor want = readOk(path(f, *o0->getString("file")));
  REQUIRE(out.size() == 1);
  double err = maxAbsDiff(out[0], want);
  if (keep)
    *keep = std::move(*g);
  return err;
}

TEST_CASE("every fixture matches PyTorch's logits", "[frontend][fixtures]") {
  auto all = fixtures();
  REQUIRE(all.size() >= 8);
  for (const Fixture &f : all) {
    INFO(f.name);
    double errA = runSet(f, "set_a");
    CHECK(errA <= 1e-4);
    const auto *meta = f.meta.getAsObject();
    std::string line =
        fmt::format("{}: max abs error set a {:.2e}", f.name, errA);
    if (meta->getBoolean("dynamic").getValueOr(false)) {
      REQUIRE(meta->getObject("set_b"));
      double errB = runSet(f, "set_b");
      CHECK(errB <= 1e-4);
      line += fmt::format(", set b {:.2e}", errB);
    }
    WARN(line);
  }
}

TEST_CASE("fixtures: patterns recognised per the model configuration",
          "[frontend][fixtures]") {
  for (const Fixture &f : fixtures()) {
    INFO(f.name);
    std::unique_ptr<Graph> g;
    runSet(f, "set_a", &g);
    const auto *meta = f.meta.getAsObject();
    const auto *cfg = meta->getObject("config");
    int64_t layers = *cfg->getInteger("num_hidden_layers");
    std::string gelu = cfg->getString("gelu")->str();
    std::string softmax = cfg->getString("softmax")->str();
    bool mask = meta->getBoolean("mask").getValueOr(false);

    CHECK(countOps(*g, OpKind::LayerNorm) == 2 * layers + 1);
    CHECK(countOps(*g, OpKind::Gelu) == layers);
    CHECK(countOps(*g, OpKind::Softmax) == layers);
    // Q, K, V, attention output, two FFN linears per layer; pooler and
    // classifier (Gemm).
    CHECK(countOps(*g, OpKind::Linear) == 6 * layers + 2);
    CHECK(countOps(*g, OpKind::MatMul) == 2 * layers); // QK^T and PV.
    // Word and token-type embeddings; positions fold to a constant.
    CHECK(countOps(*g, OpKind::Embedding) == 2);
    CHECK(countOps(*g, OpKind::MaskBias) ==
          (mask && softmax == "exp" ? 1u : 0u));
    for (const auto &op : g->ops()) {
      if (op->kind() == OpKind::Gelu)
        CHECK(op->getString("form") == gelu);
      if (op->kind() == OpKind::Softmax)
        CHECK(op->getString("form") == softmax);
    }
    // Nothing of the decomposed forms is left; the pooler's tanh stays.
    for (OpKind k : {OpKind::Erf, OpKind::Pow, OpKind::Sqrt, OpKind::ReduceMean,
                     OpKind::ReduceSum})
      CHECK(countOps(*g, k) == 0);
    CHECK(countOps(*g, OpKind::Tanh) == 1);
    CHECK(countOps(*g, OpKind::Gather) == 1); // The pooler's hidden[:, 0].
    checkRoundTrip(*g);
  }
}

TEST_CASE("fixtures: without patterns the primitive graph agrees too",
          "[frontend][fixtures]") {
  for (const Fixture &f : fixtures()) {
    INFO(f.name);
    const auto *s = f.meta.getAsObject()->getObject("set_a");
    ImportOptions opts;
    opts.recognisePatterns = false;
    std::map<std::string, HostTensor> inputs;
    for (const llvm::json::Value &in : *s->getArray("inputs")) {
      const auto *o = in.getAsObject();
      HostTensor t = readOk(path(f, *o->getString("file")));
      opts.inputShapes[o->getString("name")->str()] = t.shape;
      inputs[o->getString("name")->str()] = std::move(t);
    }
    auto g = importOnnxFile(path(f, "model.onnx"), opts);
    if (!g)
      FAIL(llvm::toString(g.takeError()));
    CHECK(countOps(**g, OpKind::Gelu) == 0);
    CHECK(countOps(**g, OpKind::Linear) == 2); // Gemm imports as linear.
    auto out = runOk(**g, inputs);
    HostTensor want = readOk(path(f, "logits.npy"));
    CHECK(maxAbsDiff(out[0], want) <= 1e-4);
    checkRoundTrip(**g);
  }
}

TEST_CASE("fixtures: dynamic exports fold their shape sub-graph",
          "[frontend][fixtures]") {
  for (const Fixture &f : fixtures()) {
    if (!f.meta.getAsObject()->getBoolean("dynamic").getValueOr(false))
      continue;
    INFO(f.name);
    // Unbound dynamic dimensions are an error naming the input and dim.
    auto g = importOnnxFile(path(f, "model.onnx"), {});
    REQUIRE(!g);
    std::string msg = llvm::toString(g.takeError());
    CHECK_THAT(msg, Catch::Contains("graph input 'input_ids' has dynamic "
                                    "dimension 0 ('batch')"));
    std::unique_ptr<Graph> bound;
    runSet(f, "set_b", &bound);
    // Only activation ops remain: no Shape/Gather/Concat arithmetic.
    CHECK(countOps(*bound, OpKind::Concat) == 0);
    CHECK(countOps(*bound, OpKind::Slice) == 0);
    CHECK(countOps(*bound, OpKind::Cast) == 0);
    // Everything computable from constants was folded.
    for (const auto &op : bound->ops())
      CHECK(!llvm::all_of(op->operands(),
                          [](const Value *v) { return v->isConstant(); }));
  }
}

TEST_CASE("fixture with TensorProto (.pb) inputs", "[frontend][fixtures]") {
  std::string dir = std::string(MPCC_FIXTURES_DIR) + "/bert_17_erf_mask_static";
  auto g = importOnnxFile(dir + "/model.onnx", {});
  if (!g)
    FAIL(llvm::toString(g.takeError()));
  std::map<std::string, HostTensor> in;
  const char *names[] = {"input_ids", "token_type_ids", "attention_mask"};
  for (int k = 0; k < 3; ++k)
    in[names[k]] = readOk(dir + "/pb/input_" + std::to_string(k) + ".pb");
  auto out = runOk(**g, in);
  CHECK(maxAbsDiff(out[0], readOk(dir + "/pb/output_0.pb")) <= 1e-4);
}

TEST_CASE("a truncated model is rejected, not crashed on",
          "[frontend][fixtures][errors]") {
  std::string file =
      std::string(MPCC_FIXTURES_DIR) + "/bert_17_erf_mask_static/model.onnx";
  auto buf = llvm::MemoryBuffer::getFile(file);
  REQUIRE(buf);
  llvm::StringRef bytes = (*buf)->getBuffer();
  for (size_t len :
       {size_t(0), size_t(100), bytes.size() / 2, bytes.size() - 1}) {
    INFO(len);
    auto g = importOnnxBytes(bytes.take_front(len), {}, "cut.onnx");
    REQUIRE(!g);
    CHECK_THAT(llvm::toString(g.takeError()),
               Catch::StartsWith("cut.onnx: not a valid ONNX model: "));
  }
}
