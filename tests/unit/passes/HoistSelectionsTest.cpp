//===- tests/unit/passes/HoistSelectionsTest.cpp - Same function, fewer rows
//===//
//
// hoist-selections on every committed fixture (real PyTorch exports): the
// float interpreter gives the same outputs before and after the pass, on
// the fixture's recorded inputs; where a model reads one token of its last
// layer ([CLS] pooling: the BERT fixtures, ViT, DistilBERT, RoBERTa) the
// pass computes fewer softmax, LayerNorm and GeLU elements, and in BERT's
// last layer the softmax has one query row.
//
//===----------------------------------------------------------------------===//

#include "frontend/OnnxImporter.h"
#include "ir/IR.h"
#include "passes/Pass.h"

#include "support/Tensor.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

using namespace mpc;
namespace fs = std::filesystem;

namespace {

/// Every fixture folder with a model.
std::vector<fs::path> fixtureDirs() {
  std::vector<fs::path> dirs;
  for (fs::path root :
       {fs::path(MPCC_FIXTURES_DIR), fs::path(MPCC_FIXTURES_DIR) / "exports"})
    for (auto &e : fs::directory_iterator(root))
      if (fs::exists(e.path() / "model.onnx"))
        dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

/// The names of a fixture's recorded outputs (meta.json's graph.outputs).
std::set<std::string> outputNames(const fs::path &dir) {
  auto buf = llvm::MemoryBuffer::getFile((dir / "meta.json").string());
  REQUIRE(bool(buf));
  auto meta = llvm::json::parse((*buf)->getBuffer());
  if (!meta)
    FAIL(llvm::toString(meta.takeError()));
  std::set<std::string> names;
  const llvm::json::Object *graph = meta->getAsObject()->getObject("graph");
  REQUIRE(graph);
  for (const llvm::json::Value &o : *graph->getArray("outputs"))
    names.insert(o.getAsObject()->getString("name")->str());
  return names;
}

/// A fixture's first input set: NAME.npy for every input (every .npy file
/// but the recorded outputs').
std::map<std::string, HostTensor> fixtureInputs(const fs::path &dir) {
  std::set<std::string> outputs = outputNames(dir);
  std::map<std::string, HostTensor> in;
  for (auto &e : fs::directory_iterator(dir)) {
    std::string file = e.path().filename().string();
    std::string stem = file.substr(0, file.find('.'));
    if (file != stem + ".npy" || outputs.count(stem))
      continue;
    auto t = readNpy(e.path().string());
    REQUIRE(bool(t));
    in[stem] = std::move(*t);
  }
  return in;
}

/// Elements the nonlinear ops compute: what the pass is for.
int64_t nonlinearElements(const Graph &g) {
  int64_t n = 0;
  for (const auto &op : g.ops())
    if (op->kind() == OpKind::Softmax || op->kind() == OpKind::LayerNorm ||
        op->kind() == OpKind::Gelu)
      n += op->result()->type().numElements();
  return n;
}

} // namespace

TEST_CASE("hoist-selections keeps every fixture's function and computes "
          "fewer rows where the output reads one token",
          "[passes]") {
  int reduced = 0;
  for (const fs::path &dir : fixtureDirs()) {
    std::string name = dir.filename().string();
    INFO("fixture " << name);
    auto inputs = fixtureInputs(dir);
    ImportOptions io;
    for (auto &[n, t] : inputs)
      io.inputShapes[n] = t.shape;
    auto g = importOnnxFile((dir / "model.onnx").string(), io);
    if (!g)
      FAIL(llvm::toString(g.takeError()));
    auto before = interpretGraph(**g, inputs);
    if (!before)
      FAIL(llvm::toString(before.takeError()));
    int64_t elementsBefore = nonlinearElements(**g);

    PassContext ctx;
    auto pass = createPass("hoist-selections");
    REQUIRE(pass);
    auto changed = pass->run(**g, ctx);
    if (!changed)
      FAIL(llvm::toString(changed.takeError()));
    if (llvm::Error e = verifyGraph(**g))
      FAIL(llvm::toString(std::move(e)));
    auto after = interpretGraph(**g, inputs);
    if (!after)
      FAIL(llvm::toString(after.takeError()));

    REQUIRE(after->size() == before->size());
    for (size_t o = 0; o < after->size(); ++o) {
      const HostTensor &x = (*before)[o], &y = (*after)[o];
      REQUIRE(x.shape == y.shape);
      double scale = 0, diff = 0;
      for (size_t i = 0; i < x.f.size(); ++i) {
        scale = std::max(scale, std::abs(x.f[i]));
        diff = std::max(diff, std::abs(x.f[i] - y.f[i]));
      }
      CHECK(diff <= 1e-12 * std::max(1.0, scale));
      CHECK(x.i == y.i);
    }
    int64_t elementsAfter = nonlinearElements(**g);
    CHECK(elementsAfter <= elementsBefore);
    if (*changed) {
      CHECK(elementsAfter < elementsBefore);
      ++reduced;
    }
    // BERT's pooler reads token 0: the last layer's softmax has one row
    // per head, [batch, heads, 1, seq].
    if (name.rfind("bert_", 0) == 0) {
      CHECK(*changed);
      const Op *last = nullptr;
      for (const auto &op : (*g)->ops())
        if (op->kind() == OpKind::Softmax)
          last = op.get();
      REQUIRE(last);
      llvm::ArrayRef<int64_t> s = last->result()->type().shape;
      REQUIRE(s.size() == 4);
      CHECK(s[2] == 1);
    }
  }
  // Every fixture that classifies from one token: the 8 BERTs, DistilBERT,
  // RoBERTa, the nn.TransformerEncoder classifiers and the ViTs (2, 2, 3
  // and 3); GPT-2, Llama and the Vaswani encoder output every position.
  CHECK(reduced >= 18);
}
