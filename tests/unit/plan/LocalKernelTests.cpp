//===- tests/unit/plan/LocalKernelTests.cpp - Local kernels, all visibilities //
//
// Runs each local kernel of a hand-built plan for both parties the way the
// executor does, with every party holding what it may see (public: the
// value; private(p): the value on p, nothing on the other; shared: random
// additive shares), and checks who ends up holding what: a public result
// on both, a private(p) result only on p, a shared result as shares that
// add up to the expected value.
//
//===----------------------------------------------------------------------===//
#include "PlanTestUtil.h"

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Matchers::Contains;

namespace {

/// Runs op \p i for \p party with the values it holds.
OpOutputs runOp(const LoadedPlan &plan, size_t i, int party,
                const std::map<int, RingTensor> &held) {
  static const RingTensor empty;
  const OpDesc &op = plan.ops[i];
  std::vector<const RingTensor *> in;
  for (const ValueDesc *v : op.in)
    in.push_back(held.count(v->id) ? &held.at(v->id) : &empty);
  Prg prg(Seed{});
  ExchangeSlot slot;
  Party p(party, &prg, &slot);
  std::any mat;
  Session s;
  Proto<OpOutputs> proto = op.kernel->run(p, op, in, mat, s);
  proto.handle().resume();
  REQUIRE(proto.done());
  return proto.take();
}

/// What each party holds of a clear value of visibility \p vis.
void hold(std::map<int, RingTensor> held[2], const LoadedPlan &plan, int id,
          const RingTensor &clear) {
  const ValueDesc &v = plan.value(id);
  switch (v.vis) {
  case Vis::Public:
    held[0][id] = held[1][id] = clear;
    break;
  case Vis::Private0:
    held[0][id] = clear;
    break;
  case Vis::Private1:
    held[1][id] = clear;
    break;
  case Vis::Shared: {
    Prg prg(randomSeed());
    RingTensor r = prg.tensor(clear.shape());
    held[0][id] = sub(clear, r);
    held[1][id] = r;
    break;
  }
  }
}

/// Runs op \p i for both parties, checks what each holds of output \p o
/// against the rule for its visibility and returns the clear value.
std::vector<u64> result(const LoadedPlan &plan, size_t i,
                        std::map<int, RingTensor> held[2], size_t o = 0) {
  OpOutputs r0 = runOp(plan, i, 0, held[0]);
  OpOutputs r1 = runOp(plan, i, 1, held[1]);
  const ValueDesc &v = *plan.ops[i].out[o];
  INFO(plan.ops[i].describe() << " -> " << v.describe());
  REQUIRE(r0.size() == plan.ops[i].out.size());
  REQUIRE(r1.size() == plan.ops[i].out.size());
  switch (v.vis) {
  case Vis::Public:
    CHECK(r0[o].vec() == r1[o].vec());
    CHECK(llvm::ArrayRef<int64_t>(r0[o].shape()) ==
          llvm::ArrayRef<int64_t>(v.shape));
    return r0[o].vec();
  case Vis::Private0:
    CHECK(r1[o].empty());
    return r0[o].vec();
  case Vis::Private1:
    CHECK(r0[o].empty());
    return r1[o].vec();
  case Vis::Shared:
    REQUIRE(r0[o].shape() == r1[o].shape());
    return add(r0[o], r1[o]).vec();
  }
  return {};
}

std::vector<u64> words(std::vector<int64_t> xs) {
  return {xs.begin(), xs.end()};
}

} // namespace

TEST_CASE("local kernels follow the visibility rule", "[plan][local]") {
  PlanBuilder b;
  auto P = plan::VIS_PUBLIC, V0 = plan::VIS_PRIVATE0, V1 = plan::VIS_PRIVATE1,
       S = plan::VIS_SHARED;
  int c = b.constant("c", {2, 3}, 0, words({1, 2, 3, 4, 5, 6}));
  int w = b.value("w", {2, 3}, 0, V0); // a weight
  int x = b.value("x", {2, 3}, 0, V1);
  int s = b.value("s", {2, 3}, 0, S);
  int bias = b.constant("bias", {3}, 0, words({100, 200, 300}));
  b.input("x", x, "float32");
  b.input("s", s, "float32");
  struct Case {
    const char *kernel;
    std::vector<int> in;
    std::vector<int64_t> shape;
    plan::Visibility vis;
  };
  std::vector<Case> cases = {
      {"add", {x, c}, {2, 3}, V1},   {"add", {w, c}, {2, 3}, V0},
      {"add", {c, c}, {2, 3}, P},    {"add", {s, c}, {2, 3}, S},
      {"add", {w, x}, {2, 3}, S},    {"sub", {s, x}, {2, 3}, S},
      {"neg", {w}, {2, 3}, V0},      {"mul_public", {s, c}, {2, 3}, S},
      {"add", {s, bias}, {2, 3}, S}, {"mul_public", {x, bias}, {2, 3}, V1},
      {"neg", {s}, {2, 3}, S},       {"add", {c, c}, {2, 3}, S},
  };
  std::vector<int> outs;
  for (size_t i = 0; i < cases.size(); ++i) {
    int o = b.value("o" + std::to_string(i), cases[i].shape, 0, cases[i].vis);
    b.op(cases[i].kernel, cases[i].in, {o}, 0);
    outs.push_back(o);
  }
  b.output("o0", outs[0]);
  LoadedPlan plan = mustLoad(b);

  std::vector<int64_t> cv = {1, 2, 3, 4, 5, 6}, wv = {10, 20, 30, 40, 50, 60},
                       xv = {-1, -2, -3, -4, -5, -6},
                       sv = {7, 8, 9, 10, 11, 12};
  std::map<int, RingTensor> held[2];
  hold(held, plan, c, RingTensor({2, 3}, words(cv)));
  hold(held, plan, w, RingTensor({2, 3}, words(wv)));
  hold(held, plan, x, RingTensor({2, 3}, words(xv)));
  hold(held, plan, s, RingTensor({2, 3}, words(sv)));
  hold(held, plan, bias, RingTensor({3}, words({100, 200, 300})));

  auto each = [](std::vector<int64_t> a, auto f) {
    std::vector<u64> r;
    for (size_t i = 0; i < a.size(); ++i)
      r.push_back(u64(f(i)));
    return r;
  };
  std::vector<std::vector<u64>> want = {
      each(cv, [&](size_t i) { return xv[i] + cv[i]; }),
      each(cv, [&](size_t i) { return wv[i] + cv[i]; }),
      each(cv, [&](size_t i) { return 2 * cv[i]; }),
      each(cv, [&](size_t i) { return sv[i] + cv[i]; }),
      each(cv, [&](size_t i) { return wv[i] + xv[i]; }),
      each(cv, [&](size_t i) { return sv[i] - xv[i]; }),
      each(cv, [&](size_t i) { return -wv[i]; }),
      each(cv, [&](size_t i) { return sv[i] * cv[i]; }),
      each(cv, [&](size_t i) { return sv[i] + 100 * int64_t(i % 3 + 1); }),
      each(cv, [&](size_t i) { return xv[i] * 100 * int64_t(i % 3 + 1); }),
      each(cv, [&](size_t i) { return -sv[i]; }),
      each(cv, [&](size_t i) { return 2 * cv[i]; }),
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    CHECK(result(plan, i, held) == want[i]);
  }
}

TEST_CASE("local data movement on shares", "[plan][local]") {
  PlanBuilder b;
  auto S = plan::VIS_SHARED, V1 = plan::VIS_PRIVATE1;
  int s = b.value("s", {2, 3}, 0, S); // [[0,1,2],[3,4,5]]
  int x = b.value("x", {2, 3}, 0, V1);
  b.input("s", s, "float32");
  b.input("x", x, "float32");
  int reshape = b.value("reshape", {3, 2}, 0, S);
  b.op("reshape", {s}, {reshape}, 0);
  int tr = b.value("transpose", {3, 2}, 0, S);
  setInts(b.op("transpose", {s}, {tr}, 0), "perm", {1, 0});
  int sl = b.value("slice", {2, 1}, 0, S);
  {
    plan::PlanOp &op = b.op("slice", {s}, {sl}, 0);
    setInts(op, "starts", {0, 1});
    setInts(op, "ends", {2, 3});
    setInts(op, "axes", {0, 1});
    setInts(op, "steps", {1, 2});
  }
  int cat = b.value("concat", {2, 6}, 0, S);
  setInt(b.op("concat", {s, x}, {cat}, 0), "axis", 1);
  int ga = b.value("gather", {2, 2}, 0, S);
  {
    plan::PlanOp &op = b.op("gather", {s}, {ga}, 0);
    setInt(op, "axis", 1);
    setInts(op, "indices", {2, 0});
    setInts(op, "indices_shape", {2});
  }
  int rs = b.value("reduce_sum", {2}, 0, S);
  {
    plan::PlanOp &op = b.op("reduce_sum", {s}, {rs}, 0);
    setInts(op, "axes", {1});
    setInt(op, "keepdims", 0);
  }
  b.output("x", x);
  LoadedPlan plan = mustLoad(b);
  std::map<int, RingTensor> held[2];
  hold(held, plan, s, RingTensor({2, 3}, words({0, 1, 2, 3, 4, 5})));
  hold(held, plan, x, RingTensor({2, 3}, words({6, 7, 8, 9, 10, 11})));
  CHECK(result(plan, 0, held) == words({0, 1, 2, 3, 4, 5}));
  CHECK(result(plan, 1, held) == words({0, 3, 1, 4, 2, 5}));
  CHECK(result(plan, 2, held) == words({1, 4}));
  CHECK(result(plan, 3, held) == words({0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11}));
  CHECK(result(plan, 4, held) == words({2, 0, 5, 3}));
  CHECK(result(plan, 5, held) == words({3, 12}));
}

TEST_CASE("client-side encodings: onehot and mask_bias", "[plan][local]") {
  PlanBuilder b;
  auto V1 = plan::VIS_PRIVATE1;
  int ids = b.value("ids", {3}, 0, V1, /*isInt=*/true);
  int mask = b.value("mask", {3}, 0, V1, true);
  b.input("ids", ids, "int64");
  b.input("mask", mask, "int64");
  int oh = b.value("onehot", {3, 4}, 8, V1);
  setInt(b.op("onehot", {ids}, {oh}, 0), "depth", 4);
  int mb = b.value("bias", {3}, 8, V1);
  setFloat(b.op("mask_bias", {mask}, {mb}, 0), "value", -100.0);
  b.output("onehot", oh);
  LoadedPlan plan = mustLoad(b);
  std::map<int, RingTensor> held[2];
  hold(held, plan, ids, RingTensor({3}, words({2, 0, 3})));
  hold(held, plan, mask, RingTensor({3}, words({1, 0, 1})));
  u64 one = 256;
  CHECK(result(plan, 0, held) ==
        std::vector<u64>{0, 0, one, 0, one, 0, 0, 0, 0, 0, 0, one});
  CHECK(result(plan, 1, held) == std::vector<u64>{0, encodeFixed(-100, 8), 0});
}

TEST_CASE("local kernels reject visibilities they cannot honour",
          "[plan][local]") {
  PlanBuilder b;
  int w = b.value("w", {2}, 0, plan::VIS_PRIVATE0);
  int x = b.value("x", {2}, 0, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  int o = b.value("o", {2}, 0, plan::VIS_PRIVATE0);
  b.op("add", {w, x}, {o}, 0);
  b.output("x", x);
  CHECK_THAT(errorOf(b.load()), Contains("is not visible to who computes it"));

  b.p.mutable_values(o)->set_vis(plan::VIS_PUBLIC);
  CHECK_THAT(errorOf(b.load()), Contains("is not visible"));

  // mul_public needs a public constant operand.
  b.p.mutable_values(o)->set_vis(plan::VIS_SHARED);
  b.p.mutable_ops(0)->set_kernel("mul_public");
  CHECK_THAT(errorOf(b.load()), Contains("input 1"));
  CHECK_THAT(errorOf(b.load()), Contains("must be public"));
}

TEST_CASE("clear: the client's masks and positions, in the clear",
          "[plan][local]") {
  // RoBERTa's position ids and a padding mask's bias: equal, not (== 0),
  // cast, cumsum, mul and where on the client's ids, then softmax and a
  // mean of its float input, computed by party 1 alone.
  PlanBuilder b;
  auto V1 = plan::VIS_PRIVATE1;
  int ids = b.value("ids", {2, 4}, 0, V1, /*isInt=*/true);
  b.input("ids", ids, "int64");
  int x = b.value("x", {2, 4}, 8, V1);
  b.input("x", x, "float32");
  int pad = b.constant("pad", {}, 0, words({1}), /*isInt=*/true);
  int no = b.constant("no", {}, 0, words({0}), true);
  u64 f = encodeFixed(-100, 8);
  int fill = b.constant("fill", {}, 8, {f});
  int zero = b.constant("zero", {}, 8, {0});
  auto clear = [&](const char *fn, std::vector<int> in,
                   int out) -> plan::PlanOp & {
    plan::PlanOp &op = b.op("clear", in, {out}, 0);
    setStr(op, "fn", fn);
    return op;
  };
  auto ints = [&](const char *name) {
    return b.value(name, {2, 4}, 0, V1, true);
  };
  int isPad = ints("is_pad"), ne = ints("ne"), keep = ints("keep"),
      cum = ints("cum"), pos = ints("pos");
  int bias = b.value("bias", {2, 4}, 8, V1);
  int sm = b.value("sm", {2, 4}, 8, V1);
  int mean = b.value("mean", {2, 1}, 8, V1);
  clear("equal", {ids, pad}, isPad);
  clear("equal", {isPad, no}, ne);
  setStr(clear("cast", {ne}, keep), "to", "i64");
  setInt(clear("cumsum", {keep}, cum), "axis", 1);
  clear("mul", {cum, keep}, pos);
  clear("where", {isPad, fill, zero}, bias);
  setInt(clear("softmax", {x}, sm), "axis", -1);
  setInts(clear("reduce_mean", {x}, mean), "axes", {1});
  b.output("pos", pos);
  LoadedPlan plan = mustLoad(b);

  std::map<int, RingTensor> held[2];
  // Right padding (pad = 1).
  hold(held, plan, ids, RingTensor({2, 4}, words({5, 7, 1, 1, 9, 3, 4, 1})));
  hold(held, plan, pad, RingTensor({}, words({1})));
  hold(held, plan, no, RingTensor({}, words({0})));
  hold(held, plan, fill, RingTensor({}, {f}));
  hold(held, plan, zero, RingTensor({}, {0}));
  hold(held, plan, x, encodeTensor({1, 2, 3, 4, -1, 0, 1, 0.5}, {2, 4}, 8));
  auto run = [&](size_t i) {
    std::vector<u64> r = result(plan, i, held);
    held[1][plan.ops[i].out[0]->id] = RingTensor(plan.ops[i].out[0]->shape, r);
    return r;
  };
  CHECK(run(0) == words({0, 0, 1, 1, 0, 0, 0, 1}));
  CHECK(run(1) == words({1, 1, 0, 0, 1, 1, 1, 0}));
  CHECK(run(2) == words({1, 1, 0, 0, 1, 1, 1, 0}));
  CHECK(run(3) == words({1, 2, 2, 2, 1, 2, 3, 3}));
  CHECK(run(4) == words({1, 2, 0, 0, 1, 2, 3, 0}));
  CHECK(run(5) == std::vector<u64>{0, 0, f, f, 0, 0, 0, f});
  std::vector<u64> s = run(6);
  double z = std::exp(1) + std::exp(2) + std::exp(3) + std::exp(4);
  CHECK(std::abs(decodeFixed(s[3], 8) - std::exp(4) / z) <= 1.0 / 256);
  CHECK(run(7) == std::vector<u64>{encodeFixed(2.5, 8), encodeFixed(0.125, 8)});
}

TEST_CASE("clear never computes a shared value", "[plan][local]") {
  PlanBuilder b;
  int x = b.value("x", {2}, 0, plan::VIS_PRIVATE1, true);
  b.input("x", x, "int64");
  int o = b.value("o", {2}, 0, plan::VIS_SHARED, true);
  setStr(b.op("clear", {x, x}, {o}, 0), "fn", "equal");
  b.output("x", x);
  CHECK_THAT(errorOf(b.load()), Contains("cannot be shared"));
  b.p.mutable_values(o)->set_vis(plan::VIS_PRIVATE0);
  CHECK_THAT(errorOf(b.load()), Contains("is not visible"));
  b.p.mutable_values(o)->set_vis(plan::VIS_PRIVATE1);
  CHECK(bool(b.load()));
  (*b.p.mutable_ops(0)->mutable_attrs())["fn"].set_s("matmul");
  CHECK_THAT(errorOf(b.load()), Contains("unknown function 'matmul'"));
}
