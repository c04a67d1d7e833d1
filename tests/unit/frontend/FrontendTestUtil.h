//===- tests/unit/frontend/FrontendTestUtil.h - Frontend test helpers -*- C++
//-*-//
//
// Helpers shared by the frontend tests: importing ONNX text with a readable
// failure, random host inputs for a graph, running the interpreter, and
// comparing host tensors.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/OnnxImporter.h"
#include "ir/IR.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

namespace mpc::test {

/// Imports \p text; fails the test with the error message if that fails.
inline std::unique_ptr<Graph> importOk(llvm::StringRef text,
                                       ImportOptions opts = {}) {
  auto g = importOnnxText(text, opts, "test.onnxtext");
  if (!g)
    FAIL("import failed: " << llvm::toString(g.takeError()));
  return std::move(*g);
}

/// The message of the error \p text fails to import with ("" on success).
inline std::string importError(llvm::StringRef text, ImportOptions opts = {}) {
  auto g = importOnnxText(text, opts, "test.onnxtext");
  if (g)
    return "";
  return llvm::toString(g.takeError());
}

/// Random inputs for every graph input: floats in [-3, 3], integers in
/// [0, intMax), booleans.
inline std::map<std::string, HostTensor>
randomInputs(const Graph &g, unsigned seed, int64_t intMax = 2) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uf(-3, 3);
  std::map<std::string, HostTensor> in;
  for (const Value *v : g.inputs()) {
    const TensorType &t = v->type();
    std::vector<int64_t> shape(t.shape.begin(), t.shape.end());
    int64_t n = t.numElements();
    if (t.elem == ElemType::F32) {
      std::vector<double> f(n);
      for (double &x : f)
        x = static_cast<float>(uf(rng));
      in[v->name()] = HostTensor::floats(shape, f);
    } else {
      std::vector<int64_t> i(n);
      for (int64_t &x : i)
        x = static_cast<int64_t>(rng() %
                                 (t.elem == ElemType::Bool ? 2 : intMax));
      in[v->name()] = HostTensor::ints(
          shape, i, t.elem == ElemType::Bool ? HostType::Bool : HostType::I64);
    }
  }
  return in;
}

/// Runs \p g; fails the test on error.
inline std::vector<HostTensor>
runOk(const Graph &g, const std::map<std::string, HostTensor> &in) {
  auto out = interpretGraph(g, in);
  if (!out)
    FAIL("interpretation failed: " << llvm::toString(out.takeError()));
  return std::move(*out);
}

/// Largest |a - b| (infinity when the shapes differ).
inline double maxAbsDiff(const HostTensor &a, const HostTensor &b) {
  if (a.shape != b.shape)
    return INFINITY;
  double m = 0;
  if (a.isFloat() && b.isFloat()) {
    for (size_t k = 0; k < a.f.size(); ++k)
      m = std::max(m, std::fabs(a.f[k] - b.f[k]));
  } else {
    for (size_t k = 0; k < a.i.size() && k < b.i.size(); ++k)
      m = std::max(m, std::fabs(double(a.i[k] - b.i[k])));
  }
  return m;
}

/// print(parse(print(g))) == print(g), and the graph verifies.
inline void checkRoundTrip(const Graph &g) {
  if (llvm::Error e = verifyGraph(g))
    FAIL("verify failed: " << llvm::toString(std::move(e)));
  std::string text = printGraphToString(g);
  auto parsed = parseGraph(text, "printed");
  if (!parsed)
    FAIL("re-parse failed: " << llvm::toString(parsed.takeError()) << "\n"
                             << text);
  CHECK(printGraphToString(**parsed) == text);
}

} // namespace mpc::test
