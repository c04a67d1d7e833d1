//===- tests/unit/session/ClientCheckTests.cpp - Party 1 reviews the plan -===//
//
// checkPlanForClient on hand-built plans: the honest plan passes and says
// what party 0 learns; a reveal to party 0 of anything computed from the
// client's input is refused with the op, the value and the input named,
// unless it is a declared output and party 1 passes --reveal-to-both; a
// reveal to party 0 of what it computed alone is no disclosure.
//
//===----------------------------------------------------------------------===//
#include "../plan/PlanTestUtil.h"

#include "runtime/session/ClientCheck.h"

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Matchers::Contains;

namespace {

/// x [2,3] (party 1) -> pw_linear W [3,2] -> trunc -> reveal `to`.
struct Tiny {
  PlanBuilder b;
  int x, w, y, t, out;
  explicit Tiny(int to = 1) {
    x = b.value("x", {2, 3}, 12, plan::VIS_PRIVATE1);
    w = b.value("W", {3, 2}, 12, plan::VIS_PRIVATE0);
    y = b.value("y", {2, 2}, 24, plan::VIS_SHARED);
    t = b.value("t", {2, 2}, 12, plan::VIS_SHARED);
    plan::Visibility vis = to == 1   ? plan::VIS_PRIVATE1
                           : to == 0 ? plan::VIS_PRIVATE0
                                     : plan::VIS_PUBLIC;
    out = b.value("out", {2, 2}, 12, vis);
    b.input("x", x, "float32");
    b.op("pw_linear", {x, w}, {y}, 0, "/fc/MatMul");
    setInt(b.op("trunc", {y}, {t}, 1, "/fc/MatMul"), "bits", 12);
    setInt(b.op("reveal", {t}, {out}, 2, "/out"), "to", to);
    b.output("logits", out, to);
  }
};

std::string check(const PlanBuilder &b, bool revealToBoth) {
  LoadedPlan plan = mustLoad(b);
  auto r = checkPlanForClient(plan, revealToBoth);
  return r ? *r : "error: " + llvm::toString(r.takeError());
}

} // namespace

TEST_CASE("an honest plan passes and says what party 0 learns",
          "[session][client-check]") {
  Tiny t;
  CHECK(check(t.b, false) == "party 0 learns: nothing but the plan's shapes");
  CHECK(check(t.b, true) == "party 0 learns: output 'logits' [2,2]");
}

TEST_CASE("a reveal of the client's input to party 0 is refused",
          "[session][client-check]") {
  // The model owner adds one op: reveal x to party 0.
  Tiny t;
  int leak = t.b.value("leak", {2, 3}, 12, plan::VIS_PRIVATE0);
  setInt(t.b.op("reveal", {t.x}, {leak}, 3, "/leak"), "to", 0);
  for (bool both : {false, true}) {
    std::string msg = check(t.b, both);
    CHECK_THAT(msg, Contains("error: the plan reveals to party 0 a value "
                             "computed from party 1's input 'x'"));
    CHECK_THAT(msg, Contains("op 3 'reveal' (onnx node '/leak')"));
    CHECK_THAT(msg, Contains("'leak'"));
    CHECK_THAT(msg, Contains("not an output of the model"));
  }
  // Declaring it an output does not help without --reveal-to-both.
  t.b.output("ids", leak, 0);
  CHECK_THAT(check(t.b, false), Contains("the model output 'ids': party 1 "
                                         "refuses this plan unless it passes "
                                         "--reveal-to-both"));
  CHECK(check(t.b, true) ==
        "party 0 learns: output 'logits' [2,2], output 'ids' [2,3]");
}

TEST_CASE("derived values and reveals to both count too",
          "[session][client-check]") {
  // The output itself revealed to both (or to party 0) in the plan.
  for (int to : {0, -1}) {
    Tiny t(to);
    CHECK_THAT(check(t.b, false), Contains("op 2 'reveal' (onnx node "
                                           "'/out')"));
    CHECK_THAT(check(t.b, false), Contains("computed from party 1's input "
                                           "'x'"));
    CHECK(check(t.b, true) == "party 0 learns: output 'logits' [2,2]");
  }
  // A value two ops away from the input, revealed to both.
  Tiny t;
  int pub = t.b.value("pub", {2, 2}, 12, plan::VIS_PUBLIC);
  setInt(t.b.op("reveal", {t.t}, {pub}, 3, "/mid"), "to", -1);
  CHECK_THAT(check(t.b, true), Contains("op 3 'reveal' (onnx node '/mid') "
                                        "makes value"));
}

TEST_CASE("revealing to party 0 what it computed alone is no disclosure",
          "[session][client-check]") {
  Tiny t;
  int w2 = t.b.value("W2", {3, 2}, 12, plan::VIS_PRIVATE0);
  int s = t.b.value("s", {3, 2}, 12, plan::VIS_SHARED);
  int back = t.b.value("back", {3, 2}, 12, plan::VIS_PRIVATE0);
  t.b.op("add", {t.w, w2}, {s}, 3, "/wsum");
  setInt(t.b.op("reveal", {s}, {back}, 4, "/wback"), "to", 0);
  CHECK(check(t.b, false) == "party 0 learns: nothing but the plan's shapes");
}

TEST_CASE("the client's computation in the clear is no disclosure, its "
          "reveal is",
          "[session][client-check]") {
  // Party 1 computes a padding mask from its ids in the clear ('clear', as
  // lower-to-protocols emits it, with the public pad id the compiler
  // published): accepted. Revealing that mask to party 0 is refused.
  Tiny t;
  int ids = t.b.value("ids", {2, 3}, 0, plan::VIS_PRIVATE1, /*isInt=*/true);
  t.b.input("ids", ids, "int64");
  int pad = t.b.constant("pad", {}, 0, {1}, /*isInt=*/true);
  int mask = t.b.value("mask", {2, 3}, 0, plan::VIS_PRIVATE1, true);
  setStr(t.b.op("clear", {ids, pad}, {mask}, 2, "/Equal"), "fn", "equal");
  CHECK(check(t.b, false) == "party 0 learns: nothing but the plan's shapes");
  int leak = t.b.value("leak", {2, 3}, 0, plan::VIS_PRIVATE0, true);
  setInt(t.b.op("reveal", {mask}, {leak}, 3, "/leak"), "to", 0);
  std::string msg = check(t.b, false);
  CHECK_THAT(msg, Contains("computed from party 1's input 'ids'"));
  CHECK_THAT(msg, Contains("op 4 'reveal' (onnx node '/leak')"));
}
