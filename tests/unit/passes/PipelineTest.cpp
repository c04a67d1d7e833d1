//===- tests/unit/passes/PipelineTest.cpp - Lowering real exports ---------===//
//
// Runs the default compile pipeline on every committed fixture (real PyTorch
// exports) with verification after each pass, and checks what the lowered
// graph must look like: no semantic op left, one private-weight op per
// attention input (Q/K/V share a mask), a schedule on every op, outputs
// revealed; and that the backend's plan loads in the runtime's reader.
//
//===----------------------------------------------------------------------===//

#include "backend/EmitPlan.h"
#include "driver/Compile.h"
#include "frontend/OnnxImporter.h"
#include "ir/IR.h"
#include "passes/PassManager.h"
#include "runtime/plan/PlanReader.h"
#include "support/Tensor.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace mpc;

namespace {

std::vector<std::string> fixtureDirs() {
  std::vector<std::string> dirs;
  for (auto &e : std::filesystem::directory_iterator(MPCC_FIXTURES_DIR))
    if (std::filesystem::exists(e.path() / "model.onnx"))
      dirs.push_back(e.path().string());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

/// Imports a fixture with the shapes of its committed inputs.
std::unique_ptr<Graph> importFixture(const std::string &dir) {
  ImportOptions opts;
  for (const char *name : {"input_ids", "token_type_ids", "attention_mask"}) {
    std::string path = dir + "/" + name + ".npy";
    if (!std::filesystem::exists(path))
      continue;
    auto t = readNpy(path);
    REQUIRE(bool(t));
    opts.inputShapes[name] = t->shape;
  }
  auto g = importOnnxFile(dir + "/model.onnx", opts);
  if (!g)
    FAIL(llvm::toString(g.takeError()));
  return std::move(*g);
}

llvm::Error compile(Graph &g, const CompileOptions &copts) {
  return runPipeline(g, copts);
}

bool isSemantic(OpKind k) { return opKindStage(k) == OpStage::Semantic; }

} // namespace

TEST_CASE("default pipeline lowers every fixture completely", "[passes]") {
  for (const std::string &dir : fixtureDirs()) {
    INFO("fixture " << dir);
    std::unique_ptr<Graph> g = importFixture(dir);
    llvm::Error e = compile(*g, CompileOptions{});
    if (e)
      FAIL(llvm::toString(std::move(e)));
    for (auto &op : g->ops()) {
      INFO("op " << op->name().str());
      CHECK_FALSE(isSemantic(op->kind()));
      CHECK(op->hasAttr("step"));
    }
    // Two encoder layers: Q, K and V of the first share one mask (one
    // private-weight op with three weights); the last layer's query reads
    // only the [CLS] row the pooler keeps (hoist-selections), so its K and
    // V share one and Q has its own.
    unsigned triples = 0, pairs = 0;
    for (auto &op : g->ops()) {
      if (op->kind() == OpKind::LinearPw && op->numResults() == 3)
        ++triples;
      if (op->kind() == OpKind::LinearPw && op->numResults() == 2)
        ++pairs;
    }
    CHECK(triples == 1);
    CHECK(pairs == 1);
    CHECK(countOps(*g, OpKind::Reveal) == 1);
    for (const Value *out : g->outputs())
      CHECK(out->type().isPrivateTo(1));
    // Steps never decrease along the op list.
    int64_t last = 0;
    for (auto &op : g->ops()) {
      CHECK(op->getInt("step") >= last);
      last = op->getInt("step");
    }
    // Lowered text round-trips.
    std::string text = printGraphToString(*g);
    auto reparsed = parseGraph(text);
    if (!reparsed)
      FAIL(llvm::toString(reparsed.takeError()));
    CHECK(printGraphToString(**reparsed) == text);

    // The plan loads in the runtime's reader, and holds no weight value.
    auto emitted = emitPlan(*g, CompileOptions{}, "fixture");
    if (!emitted)
      FAIL(llvm::toString(emitted.takeError()));
    CHECK(!emitted->weights.empty());
    auto loaded = rt::loadPlan(emitted->plan, "fixture");
    if (!loaded)
      FAIL(llvm::toString(loaded.takeError()));
  }
}

TEST_CASE("gelu and softmax follow the preset unless the model is distilled",
          "[passes]") {
  for (const std::string &dir : fixtureDirs()) {
    bool distilled = dir.find("mpcformer") != std::string::npos;
    std::unique_ptr<Graph> g = importFixture(dir);
    REQUIRE_FALSE(bool(compile(*g, CompileOptions{})));
    for (auto &op : g->ops()) {
      if (op->kind() == OpKind::GeluMpc)
        CHECK(op->getString("approx") == (distilled ? "quad" : "accurate"));
      if (op->kind() == OpKind::SoftmaxMpc)
        CHECK(op->getString("approx") == (distilled ? "2quad" : "exact"));
    }
  }
}

TEST_CASE("an op with no secure protocol is an error naming its node",
          "[passes]") {
  const char *text = R"(
func @main(%x: private1<1x4, f32>) opset=17 {
  const @w : private0<4x2, f32> = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>
  %0 = linear %x, @w : shared<1x2, f32> loc("/block/MatMul" MatMul)
  %1 = erf %0 : shared<1x2, f32> loc("/block/Erf" Erf)
  return %1 as "y"
}
)";
  auto g = parseGraph(text);
  if (!g)
    FAIL(llvm::toString(g.takeError()));
  llvm::Error e = compile(**g, CompileOptions{});
  REQUIRE(bool(e));
  std::string msg = llvm::toString(std::move(e));
  CHECK_THAT(msg, Catch::Contains("/block/Erf"));
  CHECK_THAT(msg, Catch::Contains("no secure protocol for 'erf'"));
}

TEST_CASE("unknown pass names are rejected with the registered list",
          "[passes]") {
  PassManager pm;
  llvm::Error e = pm.addPipeline("canonicalize,frobnicate");
  REQUIRE(bool(e));
  std::string msg = llvm::toString(std::move(e));
  CHECK_THAT(msg, Catch::Contains("unknown pass 'frobnicate'"));
  CHECK_THAT(msg, Catch::Contains("lower-to-protocols"));
}
