//===- tests/unit/plan/PlanReaderTests.cpp - Plan validation --------------===//
//
// The plan reader rejects, before any network I/O, every malformed plan the
// executor could otherwise trip over: other format versions, unknown
// kernels, truncated or corrupt bytes, bad value ids, broken schedules and
// ops whose kernel check fails. Also: plan costs come from the kernels'
// formulas, with ops of a step sharing rounds.
//
//===----------------------------------------------------------------------===//
#include "PlanTestUtil.h"

#include "runtime/protocols/Trunc.h"

#include "llvm/Support/FileSystem.h"

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Matchers::Contains;

namespace {

/// shared x [4] frac 32 (party 1's input) -> trunc 16 -> reveal to 1.
PlanBuilder truncPlan() {
  PlanBuilder b;
  int x = b.value("x", {4}, 32, plan::VIS_SHARED);
  int t = b.value("t", {4}, 16, plan::VIS_SHARED);
  int y = b.value("y", {4}, 16, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  setInt(b.op("trunc", {x}, {t}, 0), "bits", 16);
  setInt(b.op("reveal", {t}, {y}, 1), "to", 1);
  b.output("y", y);
  return b;
}

} // namespace

TEST_CASE("a valid plan loads with resolved values and steps", "[plan]") {
  LoadedPlan p = mustLoad(truncPlan());
  REQUIRE(p.ops.size() == 2);
  CHECK(p.steps.size() == 2);
  CHECK(p.values[0].source == ValueSource::Input);
  CHECK(p.values[1].source == ValueSource::Op);
  CHECK(p.ops[0].kernel == findKernel("trunc"));
  CHECK(p.ops[1].in[0] == &p.values[1]);
  CHECK(p.lastUse[1] == 1);
}

TEST_CASE("every Kernels.def entry has a kernel with that name", "[plan]") {
  const char *names[] = {
#define MPC_KERNEL(Class, Name) Name,
#include "runtime/plan/Kernels.def"
  };
  REQUIRE(allKernels().size() == std::size(names));
  for (const char *n : names) {
    const Kernel *k = findKernel(n);
    REQUIRE(k);
    CHECK(k->name() == n);
  }
  CHECK(findKernel("nope") == nullptr);
}

TEST_CASE("other format versions are rejected", "[plan]") {
  PlanBuilder b = truncPlan();
  b.p.set_format_version(7);
  CHECK_THAT(errorOf(b.load()),
             Contains("test.plan: plan format version 7 is not supported by "
                      "this mpc-run (expects " +
                      std::to_string(kPlanFormatVersion) + ")"));
  b.p.set_format_version(0);
  CHECK_THAT(errorOf(b.load()), Contains("not a valid mpcc plan"));
}

TEST_CASE("an unknown kernel is rejected when the plan is read", "[plan]") {
  PlanBuilder b = truncPlan();
  b.p.mutable_ops(0)->set_kernel("trunc_v2");
  std::string e = errorOf(b.load());
  CHECK_THAT(e, Contains("op 0 'trunc_v2'"));
  CHECK_THAT(e, Contains("unknown kernel 'trunc_v2'"));
  CHECK_THAT(e, Contains("pw_linear")); // lists what this runtime has

  // readPlan (the path mpc-run takes) fails the same way, from the file.
  llvm::SmallString<64> path;
  REQUIRE(!llvm::sys::fs::createTemporaryFile("bad", "plan", path));
  REQUIRE(!errorOf(writePlanFile(path, b.p)).size());
  CHECK_THAT(errorOf(readPlan(path)), Contains("unknown kernel 'trunc_v2'"));
  llvm::sys::fs::remove(path);
}

TEST_CASE("truncated and corrupt plan bytes are rejected", "[plan]") {
  std::string bytes = truncPlan().bytes();
  auto parse = [](llvm::StringRef s) {
    return parsePlan(llvm::ArrayRef<uint8_t>(
                         reinterpret_cast<const uint8_t *>(s.data()), s.size()),
                     "x.plan");
  };
  REQUIRE(!errorOf(parse(bytes)).size());
  // Every proper prefix is rejected (the end marker is the last field).
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string e = errorOf(parse(llvm::StringRef(bytes).take_front(n)));
    INFO("prefix of " << n << " bytes");
    REQUIRE_THAT(e, Contains("x.plan: not a valid mpcc plan") ||
                        Contains("x.plan: plan format version"));
  }
  CHECK_THAT(errorOf(parse("")), Contains("the file is empty"));
  std::string garbage(64, '\xff');
  CHECK_THAT(errorOf(parse(garbage)),
             Contains("x.plan: not a valid mpcc plan"));
  CHECK_THAT(errorOf(readPlan("/nonexistent/m.plan")),
             Contains("cannot read plan '/nonexistent/m.plan'"));
}

TEST_CASE("value ids, definitions and the schedule are checked", "[plan]") {
  SECTION("operand out of range") {
    PlanBuilder b = truncPlan();
    b.p.mutable_ops(0)->set_inputs(0, 99);
    CHECK_THAT(errorOf(b.load()), Contains("reads value 99, which is not in "
                                           "the plan"));
  }
  SECTION("repeated value id") {
    PlanBuilder b = truncPlan();
    b.p.mutable_values(2)->set_id(1);
    CHECK_THAT(errorOf(b.load()), Contains("out of range or repeated"));
  }
  SECTION("a value written twice") {
    PlanBuilder b = truncPlan();
    b.p.mutable_ops(1)->set_outputs(0, 1);
    CHECK_THAT(errorOf(b.load()), Contains("already written by op 0"));
  }
  SECTION("use before definition") {
    PlanBuilder b;
    int x = b.value("x", {4}, 32, plan::VIS_SHARED);
    int t = b.value("t", {4}, 16, plan::VIS_SHARED);
    int y = b.value("y", {4}, 16, plan::VIS_PRIVATE1);
    b.input("x", x, "float32");
    setInt(b.op("reveal", {t}, {y}, 0), "to", 1);
    setInt(b.op("trunc", {x}, {t}, 1), "bits", 16);
    b.output("y", y);
    CHECK_THAT(errorOf(b.load()), Contains("not in topological order"));
  }
  SECTION("decreasing steps") {
    PlanBuilder b = truncPlan();
    b.p.mutable_ops(0)->set_step(5);
    CHECK_THAT(errorOf(b.load()), Contains("steps must not decrease"));
  }
  SECTION("reading an interactive output of the same step") {
    PlanBuilder b = truncPlan();
    b.p.mutable_ops(1)->set_step(0);
    CHECK_THAT(errorOf(b.load()), Contains("same step 0"));
  }
  SECTION("a value nothing defines") {
    PlanBuilder b = truncPlan();
    b.p.clear_inputs();
    CHECK_THAT(errorOf(b.load()), Contains("used but never defined"));
  }
  SECTION("an output the client cannot see") {
    PlanBuilder b = truncPlan();
    b.p.mutable_outputs(0)->set_value(1); // the shared t
    CHECK_THAT(errorOf(b.load()), Contains("the plan must reveal it"));
  }
  SECTION("input declared with another shape") {
    PlanBuilder b = truncPlan();
    b.p.mutable_inputs(0)->set_shape(0, 5);
    CHECK_THAT(errorOf(b.load()), Contains("declares shape [5]"));
  }
}

TEST_CASE("kernel checks run at load time", "[plan]") {
  SECTION("missing attribute") {
    PlanBuilder b = truncPlan();
    b.p.mutable_ops(0)->mutable_attrs()->clear();
    CHECK_THAT(errorOf(b.load()),
               Contains("missing required attribute 'bits'"));
  }
  SECTION("unknown attribute") {
    PlanBuilder b = truncPlan();
    setInt(*b.p.mutable_ops(0), "bitz", 3);
    CHECK_THAT(errorOf(b.load()), Contains("unknown attribute 'bitz'"));
  }
  SECTION("attribute of the wrong kind") {
    PlanBuilder b = truncPlan();
    setStr(*b.p.mutable_ops(0), "bits", "16");
    CHECK_THAT(errorOf(b.load()), Contains("'bits' must be a int"));
  }
  SECTION("an int attribute is range-checked before a kernel reads it") {
    // A hostile plan's 2^32 + k must be refused, not read as int(k), which
    // each of these kernels would accept.
    constexpr int64_t kWrap = int64_t(1) << 32;
    struct Case {
      const char *kernel, *attr;
      int64_t valid;
    };
    for (Case c :
         {Case{"gelu", "compare_bits", 40}, Case{"relu", "bits", 40},
          Case{"exp", "iters", 8}, Case{"exp", "cubes", 0},
          Case{"tanh", "compare_bits", 40}, Case{"reciprocal", "max_bits", 16},
          Case{"softmax", "exp_iters", 8}, Case{"gelu", "trunc_bits", 0}}) {
      for (int64_t v : {c.valid, kWrap + c.valid, c.valid - kWrap}) {
        PlanBuilder b;
        int x = b.value("x", {3}, 16, plan::VIS_SHARED);
        int g = b.value("g", {3}, 16, plan::VIS_SHARED);
        int r = b.value("r", {3}, 16, plan::VIS_PRIVATE1);
        b.input("x", x, "float32");
        setInt(b.op(c.kernel, {x}, {g}, 0), c.attr, v);
        setInt(b.op("reveal", {g}, {r}, 1), "to", 1);
        b.output("r", r);
        INFO(c.kernel << " " << c.attr << " = " << v);
        if (v == c.valid) {
          CHECK(errorOf(b.load()) == "");
          continue;
        }
        std::string e = errorOf(b.load());
        CHECK_THAT(e, Contains(fmt::format("op 0 '{}'", c.kernel)));
        CHECK_THAT(e, Contains(fmt::format("attribute '{}' is {}; expected",
                                           c.attr, v)));
      }
    }
    // onehot's depth reads all 64 bits but must be positive.
    PlanBuilder b;
    int ids = b.value("ids", {2}, 0, plan::VIS_PRIVATE1, /*isInt=*/true);
    int y = b.value("y", {2, 4}, 16, plan::VIS_PRIVATE1);
    b.input("ids", ids, "int64");
    setInt(b.op("onehot", {ids}, {y}, 0), "depth", -kWrap + 4);
    b.output("y", y);
    CHECK_THAT(errorOf(b.load()),
               Contains("attribute 'depth' is -4294967292; expected 1.."));
  }
  SECTION("scale mismatch") {
    PlanBuilder b = truncPlan();
    setInt(*b.p.mutable_ops(0), "bits", 8);
    CHECK_THAT(errorOf(b.load()),
               Contains("has 16 fractional bits, expected 24"));
  }
  SECTION("truncation ring too narrow for its bits") {
    // The opening needs the truncated bits, a bias bit and the sign bit.
    PlanBuilder b = truncPlan();
    setInt(*b.p.mutable_ops(0), "ring_bits", 17);
    CHECK_THAT(errorOf(b.load()), Contains("ring_bits 17 must be in [18, 64]"));
    setInt(*b.p.mutable_ops(0), "ring_bits", 65);
    CHECK_THAT(errorOf(b.load()), Contains("ring_bits 65 must be in [18, 64]"));
    setInt(*b.p.mutable_ops(0), "ring_bits", 18);
    CHECK(bool(b.load()));
  }
  SECTION("shape mismatch") {
    PlanBuilder b = truncPlan();
    b.p.mutable_values(1)->set_shape(0, 3);
    CHECK_THAT(errorOf(b.load()), Contains("has shape [3], expected [4]"));
  }
  SECTION("pw_linear weight that is not a weight") {
    PlanBuilder b;
    int x = b.value("x", {2, 4}, 16, plan::VIS_SHARED);
    int w = b.value("w", {4, 3}, 16, plan::VIS_SHARED);
    int y = b.value("y", {2, 3}, 32, plan::VIS_SHARED);
    int r = b.value("r", {2, 3}, 32, plan::VIS_PRIVATE1);
    b.input("x", x, "float32");
    b.input("w", w, "float32");
    b.op("pw_linear", {x, w}, {y}, 0);
    setInt(b.op("reveal", {y}, {r}, 1), "to", 1);
    b.output("r", r);
    CHECK_THAT(errorOf(b.load()), Contains("must be a weight"));
  }
  SECTION("gelu form") {
    PlanBuilder b;
    int x = b.value("x", {3}, 16, plan::VIS_SHARED);
    int g = b.value("g", {3}, 16, plan::VIS_SHARED);
    int r = b.value("r", {3}, 16, plan::VIS_PRIVATE1);
    b.input("x", x, "float32");
    setStr(b.op("gelu", {x}, {g}, 0), "approx", "erf");
    setInt(b.op("reveal", {g}, {r}, 1), "to", 1);
    b.output("r", r);
    CHECK_THAT(errorOf(b.load()), Contains("op 0 'gelu' (onnx node '/gelu'): "
                                           "gelu: unknown form 'erf'"));
  }
}

namespace {

/// x (party 1) -> pw_linear W {ring_bits 49} -> add b -> reshape -> `tail`,
/// where `tail` is given the reshaped product (frac 32) and returns the
/// value to reveal to party 1.
PlanBuilder narrowPlan(const std::function<int(PlanBuilder &, int)> &tail) {
  PlanBuilder b;
  int x = b.value("x", {2, 4}, 16, plan::VIS_PRIVATE1);
  int w = b.value("w", {4, 3}, 16, plan::VIS_PRIVATE0);
  int bias = b.value("b", {3}, 32, plan::VIS_PRIVATE0);
  int y = b.value("y", {2, 3}, 32, plan::VIS_SHARED);
  int z = b.value("z", {2, 3}, 32, plan::VIS_SHARED);
  int s = b.value("s", {6}, 32, plan::VIS_SHARED);
  b.input("x", x, "float32");
  setInt(b.op("pw_linear", {x, w}, {y}, 0, "/dense/MatMul"), "ring_bits", 49);
  b.op("add", {y, bias}, {z}, 1);
  b.op("reshape", {z}, {s}, 1);
  int out = tail(b, s);
  int r = b.value("r", {6}, b.p.values(out).frac_bits(), plan::VIS_PRIVATE1);
  setInt(b.op("reveal", {out}, {r}, 3, "/leak"), "to", 1);
  b.output("r", r);
  return b;
}

/// trunc {bits 16, ring_bits \p ring} of \p in.
int truncOf(PlanBuilder &b, int in, int ring) {
  int t = b.value("t", {6}, 16, plan::VIS_SHARED);
  plan::PlanOp &op = b.op("trunc", {in}, {t}, 2, "/trunc");
  setInt(op, "bits", 16);
  setInt(op, "ring_bits", ring);
  return t;
}

} // namespace

TEST_CASE("a value computed mod 2^L reaches only readers mod 2^L", "[plan]") {
  // Through add and reshape to a truncation that reads 49 bits or fewer.
  for (int ring : {49, 40})
    mustLoad(
        narrowPlan([&](PlanBuilder &b, int s) { return truncOf(b, s, ring); }));
  // A reveal of the narrow product would open W-dependent high bits.
  std::string e =
      errorOf(narrowPlan([](PlanBuilder &, int s) { return s; }).load());
  CHECK_THAT(e, Contains("op 3 'reveal' (onnx node '/leak'): reads value 5 "
                         "('s')"));
  CHECK_THAT(e, Contains("op 0 'pw_linear' (onnx node '/dense/MatMul') "
                         "computes mod 2^49 only"));
  // A truncation that reads more bits than the product has.
  e = errorOf(narrowPlan([](PlanBuilder &b, int s) {
                return truncOf(b, s, 50);
              }).load());
  CHECK_THAT(e, Contains("op 3 'trunc' (onnx node '/trunc'): reads value 5"));
  CHECK_THAT(e, Contains("mod 2^50"));
  // A consumer that needs all 64 bits.
  e = errorOf(narrowPlan([](PlanBuilder &b, int s) {
                int q = b.value("q", {6}, 32, plan::VIS_SHARED);
                b.op("relu", {s}, {q}, 2, "/relu");
                return q;
              }).load());
  CHECK_THAT(e, Contains("op 3 'relu' (onnx node '/relu'): reads value 5"));
  CHECK_THAT(e, Contains("in all 64 bits"));
}

TEST_CASE("plan costs: kernel formulas, ops of a step share rounds", "[plan]") {
  PlanBuilder b;
  int x = b.value("x", {4}, 32, plan::VIS_SHARED);
  int t1 = b.value("t1", {4}, 16, plan::VIS_SHARED);
  int t2 = b.value("t2", {4}, 24, plan::VIS_SHARED);
  int y1 = b.value("y1", {4}, 16, plan::VIS_PRIVATE1);
  int y2 = b.value("y2", {4}, 24, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  setInt(b.op("trunc", {x}, {t1}, 0), "bits", 16);
  setInt(b.op("trunc", {x}, {t2}, 0), "bits", 8);
  setInt(b.op("reveal", {t1}, {y1}, 1), "to", 1);
  setInt(b.op("reveal", {t2}, {y2}, 1), "to", 1);
  b.output("y1", y1);
  b.output("y2", y2);
  LoadedPlan p = mustLoad(b);
  Cost c = planCost(p);
  CHECK(c.rounds == 2);
  CHECK(c.bytes01 == 2 * truncCost(4).bytes01 + 2 * revealCost(4, 1).bytes01);
  CHECK(c.bytes10 == 2 * truncCost(4).bytes10);
  CHECK(c.dealerBytes1 == 2 * truncCost(4).dealerBytes1);
  CHECK(opCost(p, 0).sameTraffic(truncCost(4)));
  CHECK(setupCost(p).setupBytes01 == 0);

  // The same ops, one step each: rounds add.
  for (int i = 0; i < 4; ++i)
    b.p.mutable_ops(i)->set_step(i);
  CHECK(planCost(mustLoad(b)).rounds == 4);
}
