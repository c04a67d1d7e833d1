//===- tests/unit/e2e/ApproxCostTest.cpp - The menu's prices --------------===//
//
// `mpcc compile --approx list` prices each entry with rt::approxRowCost: the
// entry's protocol on a row of kApproxCostRow at the compiler's frac and
// range bits. This checks that price against what the compiler actually
// emits for a one-op model choosing that entry, so the menu cannot drift
// from the lowering's parameters (comparison widths, softmax input bits).
//
//===----------------------------------------------------------------------===//

#include "runtime/protocols/ApproxCost.h"
#include "driver/Compile.h"
#include "frontend/OnnxImporter.h"
#include "passes/ApproxChoice.h"
#include "runtime/plan/PlanReader.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <optional>

using namespace mpc;

namespace {

/// A model whose one op of \p kind reads a shared row of \p n: the
/// client's x plus a party-0 bias (a sum of the two owners' values is
/// shared, with no truncation that a kernel could fuse).
std::string oneOpModel(rt::ApproxKind kind, int64_t n = rt::kApproxCostRow,
                       bool afterProduct = false) {
  std::string row, ones;
  for (int64_t i = 0; i < n; ++i) {
    row += fmt::format("{}{:.3f}", i ? ", " : "", 0.01 * double(i % 7));
    ones += fmt::format("{}{:.3f}", i ? ", " : "", 1.0 + 0.01 * double(i % 5));
  }
  std::string body;
  switch (kind) {
  case rt::ApproxKind::Gelu:
    // The erf form PyTorch exports (opset 20's Gelu op is newer than the
    // ONNX library here).
    body = R"(r = Constant <value = float {1.4142135}> ()
  s = Div(h, r)
  e = Erf(s)
  one = Constant <value = float {1.0}> ()
  o = Add(e, one)
  m = Mul(h, o)
  half = Constant <value = float {0.5}> ()
  y = Mul(m, half))";
    break;
  case rt::ApproxKind::Tanh:
    body = "y = Tanh(h)";
    break;
  case rt::ApproxKind::Softmax:
    body = "y = Softmax <axis = -1> (h)";
    break;
  case rt::ApproxKind::LayerNorm:
    body = "y = LayerNormalization <axis = -1, epsilon = 0.00001> (h, g, b)";
    break;
  default:
    return "";
  }
  return fmt::format(R"(<ir_version: 8, opset_import: ["" : 17]>
g (float[1, {0}] x) => (float[1, {0}] y)
<float[{0}] b = {{{1}}}, float[{0}] g = {{{2}}}>
{{
  h = {4}
  {3}
}}
)",
                     n, row, ones, body,
                     afterProduct ? "Mul(x, g)" : "Add(x, b)");
}

/// \p text compiled with --approx \p spec (into \p opts) and loaded as
/// mpc-run would; the test fails on any error.
std::optional<rt::LoadedPlan> compileWith(const std::string &text,
                                          const std::string &spec,
                                          CompileOptions &opts) {
  auto g = importOnnxText(text, {}, "case.onnxtext");
  if (!g)
    FAIL(llvm::toString(g.takeError()));
  if (llvm::Error e = applyApproxSpec(spec, opts))
    FAIL(llvm::toString(std::move(e)));
  auto emitted = compileGraph(**g, opts, "case");
  if (!emitted)
    FAIL(llvm::toString(emitted.takeError()));
  auto plan = rt::loadPlan(emitted->plan, "case");
  if (!plan)
    FAIL(llvm::toString(plan.takeError()));
  return std::move(*plan);
}

} // namespace

TEST_CASE("the menu prices each entry as the compiler lowers it",
          "[e2e][approx]") {
  for (rt::ApproxKind kind : rt::perOpApproxKinds()) {
    std::string text = oneOpModel(kind);
    REQUIRE(!text.empty());
    for (const rt::ApproxInfo *a : rt::approxesOf(kind)) {
      INFO(a->name);
      CompileOptions opts;
      std::optional<rt::LoadedPlan> plan = compileWith(
          text,
          fmt::format("{}={}", rt::approxKindName(kind).str(), a->shortName),
          opts);
      int found = 0;
      for (const rt::OpDesc &op : plan->ops) {
        if (op.kernelName() != rt::approxKindName(kind))
          continue;
        ++found;
        rt::Cost want = rt::approxRowCost(a->id, opts.fracBits, opts.rangeBits);
        rt::Cost got = op.kernel->cost(op);
        INFO(fmt::format("plan: {} rounds, {}+{} B online, {}+{} B dealer; "
                         "menu: {} rounds, {}+{}, {}+{}",
                         got.rounds, got.bytes01, got.bytes10, got.dealerBytes0,
                         got.dealerBytes1, want.rounds, want.bytes01,
                         want.bytes10, want.dealerBytes0, want.dealerBytes1));
        CHECK(got.sameTraffic(want));
      }
      CHECK(found == 1);
    }
  }
}

TEST_CASE("a GeLU after a product is priced as the plan runs it",
          "[e2e][approx]") {
  // x * g (a party-0 weight) is truncated by the lowering; an entry that
  // compares takes that truncation into its first round, the others pay
  // it separately: rt::geluAfterProductCost, what --approx auto prices.
  for (const rt::ApproxInfo *a : rt::approxesOf(rt::ApproxKind::Gelu)) {
    INFO(a->name);
    CompileOptions opts;
    std::optional<rt::LoadedPlan> plan =
        compileWith(oneOpModel(rt::ApproxKind::Gelu, rt::kApproxCostRow, true),
                    "gelu=" + a->shortName, opts);
    rt::Cost got;
    int gelus = 0;
    for (const rt::OpDesc &op : plan->ops) {
      if (op.kernelName() == "gelu")
        ++gelus;
      if (op.kernelName() == "gelu" || op.kernelName() == "trunc")
        got = got.then(op.kernel->cost(op));
    }
    CHECK(gelus == 1);
    const int64_t shape[] = {1, rt::kApproxCostRow};
    rt::Cost want =
        rt::geluAfterProductCost(a->id, opts.fracBits, opts.rangeBits, shape);
    INFO(fmt::format("plan: {} rounds, {}+{} B online, {}+{} B dealer; "
                     "priced: {} rounds, {}+{}, {}+{}",
                     got.rounds, got.bytes01, got.bytes10, got.dealerBytes0,
                     got.dealerBytes1, want.rounds, want.bytes01, want.bytes10,
                     want.dealerBytes0, want.dealerBytes1));
    CHECK(got.sameTraffic(want));
  }
}

TEST_CASE("an entry that cannot take an op's rows is refused, naming the op",
          "[e2e][approx]") {
  // softmax.crypten's Newton reciprocal takes row sums up to 200.
  auto g = importOnnxText(oneOpModel(rt::ApproxKind::Softmax, 256), {},
                          "case.onnxtext");
  if (!g)
    FAIL(llvm::toString(g.takeError()));
  CompileOptions opts;
  if (llvm::Error e = applyApproxSpec("softmax=crypten", opts))
    FAIL(llvm::toString(std::move(e)));
  auto emitted = compileGraph(**g, opts, "case");
  REQUIRE(!emitted);
  std::string msg = llvm::toString(emitted.takeError());
  CHECK_THAT(msg, Catch::Contains("onnx node 'y'") &&
                      Catch::Contains("softmax.crypten does not run on its "
                                      "input shared<1x256") &&
                      Catch::Contains("--approx softmax=NAME"));
  CHECK_THAT(msg, !Catch::Contains("internal error"));
}
