//===- tests/unit/passes/RangeCheckTest.cpp - --calibrate's range check ---===//
//
// checkRanges runs sample inputs through the float interpreter and reports
// the GeLU, tanh and softmax inputs and the truncated products against
// 2^rangeBits: the largest magnitude per kind, and every op that leaves its
// limit (softmax: entries at or below -5000 are the mask bias and leave
// room for it), and LayerNorm inputs against LayerNorm's fixed domain.
//
//===----------------------------------------------------------------------===//

#include "passes/RangeCheck.h"
#include "ir/IR.h"
#include "passes/ApproxChoice.h"
#include "runtime/protocols/Nonlinear.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using namespace mpc;

namespace {

const char *kGraph =
    R"(func @main(%x: private1<1x4, f32>, %s: private1<1x4, f32>) opset=17 {
  %0 = gelu %x {form = "erf"} : private1<1x4, f32> loc("/ffn/Gelu" Erf)
  %1 = softmax %s {axis = -1} : private1<1x4, f32> loc("/attn/Softmax" Softmax)
  %2 = tanh %0 : private1<1x4, f32> loc("/pool/Tanh" Tanh)
  return %1 as "p", %2 as "t"
})";

HostTensor row(std::vector<double> v) {
  int64_t n = int64_t(v.size());
  return HostTensor::floats({1, n}, std::move(v));
}

/// The report's worst observation of \p kind (which must be there).
const RangeObservation &worst(const RangeReport &r, const std::string &kind) {
  auto it =
      std::find_if(r.worstPerKind.begin(), r.worstPerKind.end(),
                   [&](const RangeObservation &o) { return o.kind == kind; });
  INFO("kind " << kind);
  REQUIRE(it != r.worstPerKind.end());
  return *it;
}

} // namespace

TEST_CASE("checkRanges reports the largest inputs and what leaves the range",
          "[passes][range]") {
  auto g = parseGraph(kGraph);
  REQUIRE(bool(g));
  std::map<std::string, HostTensor> in = {{"x", row({-3, 0.5, 20, 1})},
                                          {"s", row({2, -10000, -40, 1})}};

  auto r = checkRanges(**g, in, 15);
  REQUIRE(bool(r));
  CHECK(r->outside.empty());
  REQUIRE(r->worstPerKind.size() == 3);
  CHECK(worst(*r, "gelu").maxAbs == 20);
  CHECK(worst(*r, "gelu").node == "/ffn/Gelu");
  CHECK(worst(*r, "gelu").limit == 32768);
  // -10000 is the mask bias, not a score.
  CHECK(worst(*r, "softmax").maxAbs == 40);
  CHECK(worst(*r, "softmax").limit == 32768 - 10000);
  CHECK(worst(*r, "tanh").maxAbs == Approx(20).epsilon(1e-9)); // gelu(20)

  // 2^5 = 32 still holds GeLU's 20; softmax's limit is 32 - 16 = 16 < 40.
  auto narrow = checkRanges(**g, in, 5);
  REQUIRE(bool(narrow));
  REQUIRE(narrow->outside.size() == 1);
  CHECK(narrow->outside[0].kind == "softmax");
  CHECK(narrow->outside[0].limit == 16);

  // 2^4: GeLU and tanh (both at 20) leave it too.
  auto tiny = checkRanges(**g, in, 4);
  REQUIRE(bool(tiny));
  CHECK(tiny->outside.size() == 3);
}

TEST_CASE("checkRanges reports interpreter errors", "[passes][range]") {
  auto g = parseGraph(kGraph);
  REQUIRE(bool(g));
  auto r = checkRanges(**g, {{"x", row({1, 2, 3, 4})}}, 15);
  REQUIRE_FALSE(bool(r));
  CHECK_THAT(llvm::toString(r.takeError()),
             Catch::Contains("missing input 's'"));
}

TEST_CASE("checkRanges bounds every product lowering truncates",
          "[passes][range]") {
  // A linear layer, a matrix product, a scaling and a mean; the last
  // product is a graph output. Additions are not truncated: not checked.
  auto g = parseGraph(R"(func @main(%x: private1<1x2, f32>) opset=17 {
  const @w : private0<2x2, f32> = dense<[10.0, 0.0, 0.0, 1.0]>
  %0 = linear %x, @w : shared<1x2, f32> loc("/lin" MatMul)
  %1 = add %0, %0 : shared<1x2, f32> loc("/add" Add)
  %2 = reduce_mean %1 {axes = [-1], keepdims = 1} : shared<1x1, f32> loc("/mean" ReduceMean)
  %3 = mul %1, %1 : shared<1x2, f32> loc("/sq" Mul)
  return %2 as "m", %3 as "q"
})");
  REQUIRE(bool(g));
  // x = (3, 1): linear (30, 1), add (60, 2), mean 31, square (3600, 4).
  std::map<std::string, HostTensor> in = {{"x", row({3, 1})}};
  auto r = checkRanges(**g, in, 15);
  REQUIRE(bool(r));
  CHECK(r->outside.empty());
  REQUIRE(r->worstPerKind.size() == 1);
  CHECK(worst(*r, "product").node == "/sq");
  CHECK(worst(*r, "product").maxAbs == Approx(3600));

  // 2^10 = 1024: the square (an output) leaves it; 2^4 = 16: the linear
  // layer's 30 and the mean's 31 too.
  auto r10 = checkRanges(**g, in, 10);
  REQUIRE(bool(r10));
  REQUIRE(r10->outside.size() == 1);
  CHECK(r10->outside[0].node == "/sq");
  auto r4 = checkRanges(**g, in, 4);
  REQUIRE(bool(r4));
  CHECK(r4->outside.size() == 3);
}

TEST_CASE("checkRanges holds LayerNorm inputs to its fixed domain",
          "[passes][range]") {
  auto g = parseGraph(R"(func @main(%x: private1<2x4, f32>) opset=17 {
  const @g : private0<4, f32> = dense<[1.0, 1.0, 1.0, 1.0]>
  const @b : private0<4, f32> = dense<[0.0, 0.0, 0.0, 0.0]>
  %0 = layernorm %x, @g, @b {axis = -1, eps = 0.5} : private1<2x4, f32> loc("/ln" LayerNormalization)
  return %0 as "y"
})");
  REQUIRE(bool(g));
  // Rows (1, 3, 1, 3): variance 1; (0, 0, 0, 40): mean 10, variance 300.
  std::map<std::string, HostTensor> in = {
      {"x", HostTensor::floats({2, 4}, {1, 3, 1, 3, 0, 0, 0, 40})}};
  auto r = checkRanges(**g, in, 15);
  REQUIRE(bool(r));
  CHECK(r->outside.empty());
  REQUIRE(r->worstPerKind.size() == 3);
  for (const RangeObservation &o : r->worstPerKind)
    CHECK(o.node == "/ln");
  CHECK(worst(*r, "layernorm").maxAbs == 40);
  CHECK(worst(*r, "layernorm").limit == 16384);
  // (40 - 10) / sqrt(300.5)
  CHECK(worst(*r, "layernorm output").maxAbs == Approx(30 / std::sqrt(300.5)));
  CHECK(worst(*r, "layernorm output").limit == 16384);
  // variance + eps
  CHECK(worst(*r, "layernorm variance").maxAbs == Approx(300.5));
  CHECK(worst(*r, "layernorm variance").limit == 65536);
  // A row with variance past 2^16 leaves the domain, whatever the range.
  in["x"] = HostTensor::floats({2, 4}, {1, 3, 1, 3, 0, 0, 0, 1000});
  auto wide = checkRanges(**g, in, 30);
  REQUIRE(bool(wide));
  REQUIRE(wide->outside.size() == 1);
  CHECK(wide->outside[0].kind == "layernorm variance");
}

TEST_CASE("the LayerNorm domain --calibrate checks is the runtime's",
          "[passes][range]") {
  CHECK(rangeLimit("layernorm", 15) ==
        std::ldexp(1.0, rt::LayerNormParams().inputBits));
  CHECK(rangeLimit("layernorm variance", 15) ==
        std::ldexp(1.0, rt::RsqrtParams().maxBits));
}

TEST_CASE("checkRanges holds a chosen approximation to its domain",
          "[passes][range][approx]") {
  auto g = parseGraph(
      R"(func @main(%x: private1<2x4, f32>, %s: private1<1x4, f32>) opset=17 {
  const @g : private0<4, f32> = dense<[1.0, 1.0, 1.0, 1.0]>
  const @b : private0<4, f32> = dense<[0.0, 0.0, 0.0, 0.0]>
  %0 = layernorm %x, @g, @b {axis = -1, eps = 0.0} : private1<2x4, f32> loc("/enc/ln" LayerNormalization)
  %1 = softmax %s {axis = -1} : private1<1x4, f32> loc("/enc/attn/Softmax" Softmax)
  return %0 as "y", %1 as "p"
})");
  REQUIRE(bool(g));
  // Row variances 1 and 0.01 (rows (1,3,1,3) and (0,0.2,0,0.2)); scores
  // with one masked entry.
  std::map<std::string, HostTensor> in = {
      {"x", HostTensor::floats({2, 4}, {1, 3, 1, 3, 0, 0.2, 0, 0.2})},
      {"s", row({2, -10000, 3, 1})}};

  // The defaults: nothing to check against a chosen entry.
  CompileOptions opts;
  auto def = checkRanges(**g, in, opts);
  REQUIRE(bool(def));
  CHECK(def->outsideDomain.empty());

  // layernorm.crypten holds for variance + eps in [0.1, 100] (its rsqrt's).
  REQUIRE(!applyApproxSpec("layernorm=crypten", opts));
  ApproxDomain d = approxDomain(rt::Approximation::LayerNormCrypten);
  CHECK(d.what == "variance + eps");
  CHECK(d.lo == rt::approxInfo(rt::Approximation::RsqrtNewton).lo);
  CHECK(d.hi == rt::approxInfo(rt::Approximation::RsqrtNewton).hi);
  CHECK(hasNarrowerDomain(rt::Approximation::LayerNormCrypten));
  CHECK(!hasNarrowerDomain(rt::Approximation::LayerNormNormalized));
  auto newton = checkRanges(**g, in, opts);
  REQUIRE(bool(newton));
  REQUIRE(newton->outsideDomain.size() == 1);
  const DomainObservation &o = newton->outsideDomain[0];
  CHECK(o.node == "/enc/ln");
  CHECK(o.domain.entry->name == "layernorm.crypten");
  CHECK(o.seenLo == Approx(0.01));
  CHECK(o.seenHi == Approx(1.0));
  // Rows inside the domain pass.
  in["x"] = HostTensor::floats({2, 4}, {1, 3, 1, 3, 0, 2, 0, 2});
  auto inside = checkRanges(**g, in, opts);
  REQUIRE(bool(inside));
  CHECK(inside->outsideDomain.empty());

  // softmax.2quad does not handle the mask bias: the masked entry counts.
  // softmax.exact's domain reaches the bias, so it is skipped there.
  CompileOptions quad;
  REQUIRE(!applyApproxSpec("softmax=2quad", quad));
  auto q = checkRanges(**g, in, quad);
  REQUIRE(bool(q));
  REQUIRE(q->outsideDomain.size() == 1);
  CHECK(q->outsideDomain[0].node == "/enc/attn/Softmax");
  CHECK(q->outsideDomain[0].seenLo == -10000);
  CHECK(q->outsideDomain[0].seenHi == 3);
  // A rule for other nodes leaves this softmax at its default.
  CompileOptions other;
  REQUIRE(!applyApproxSpec("softmax=2quad@/dec/*", other));
  auto o2 = checkRanges(**g, in, other);
  REQUIRE(bool(o2));
  CHECK(o2->outsideDomain.empty());
}

TEST_CASE("checkRangesOnBatches judges the values of all batches together",
          "[passes][range][approx]") {
  auto g = parseGraph(
      R"(func @main(%x: private1<1x4, f32>) opset=17 {
  const @g : private0<4, f32> = dense<[1.0, 1.0, 1.0, 1.0]>
  const @b : private0<4, f32> = dense<[0.0, 0.0, 0.0, 0.0]>
  %0 = layernorm %x, @g, @b {axis = -1, eps = 0.0} : private1<1x4, f32> loc("/enc/ln" LayerNormalization)
  %1 = gelu %0 {form = "erf"} : private1<1x4, f32> loc("/ffn/Gelu" Erf)
  return %1 as "y"
})");
  REQUIRE(bool(g));
  CompileOptions opts;
  REQUIRE(!applyApproxSpec("layernorm=crypten", opts));
  // Row variances 1 (inside layernorm.crypten's [0.1, 100]), 0.01 and 400
  // (outside, on either side).
  std::vector<std::map<std::string, HostTensor>> batches = {
      {{"x", row({1, 3, 1, 3})}},
      {{"x", row({0, 0.2, 0, 0.2})}},
      {{"x", row({0, 40, 0, 40})}}};
  auto first =
      checkRangesOnBatches(**g, llvm::ArrayRef(batches).take_front(), opts);
  REQUIRE(bool(first));
  CHECK(first->outsideDomain.empty());
  auto all = checkRangesOnBatches(**g, batches, opts);
  REQUIRE(bool(all));
  // One observation for the op, spanning every batch's values.
  REQUIRE(all->outsideDomain.size() == 1);
  CHECK(all->outsideDomain[0].node == "/enc/ln");
  CHECK(all->outsideDomain[0].seenLo == Approx(0.01));
  CHECK(all->outsideDomain[0].seenHi == Approx(400));
  // The range observations are the largest over the batches, once per op.
  auto ln = std::count_if(
      all->worstPerKind.begin(), all->worstPerKind.end(),
      [](const RangeObservation &o) { return o.kind == "layernorm"; });
  CHECK(ln == 1);
  CHECK(worst(*all, "layernorm").maxAbs == 40);
  CHECK(worst(*all, layerNormRangeKind("variance")).maxAbs == Approx(400));
}

TEST_CASE("per-node approximation rules pick ops by ONNX node name; the "
          "last matching rule wins",
          "[passes][approx]") {
  using rt::Approximation;
  using rt::ApproxKind;
  CompileOptions o;
  REQUIRE(!applyApproxSpec("mpcformer,softmax=exact@/enc/layer.[0-1]/*,"
                           "softmax=puma@/enc/layer.1/*",
                           o));
  CHECK(o.approxFor(ApproxKind::Softmax) == Approximation::SoftmaxTwoQuad);
  CHECK(o.approxFor(ApproxKind::Softmax, "/enc/layer.0/attn/Softmax") ==
        Approximation::SoftmaxExact);
  CHECK(o.approxFor(ApproxKind::Softmax, "/enc/layer.1/attn/Softmax") ==
        Approximation::SoftmaxPuma);
  CHECK(o.approxFor(ApproxKind::Softmax, "/enc/layer.2/attn/Softmax") ==
        Approximation::SoftmaxTwoQuad);
  // Rules are per kind.
  CHECK(o.approxFor(ApproxKind::Gelu, "/enc/layer.0/ffn/Gelu") ==
        Approximation::GeluQuad);
  auto choices = o.approxChoices(ApproxKind::Softmax);
  CHECK(choices == std::vector<Approximation>{Approximation::SoftmaxTwoQuad,
                                              Approximation::SoftmaxExact,
                                              Approximation::SoftmaxPuma});
  // Head rules apply to their heads only, and over the node's rules.
  CompileOptions heads;
  REQUIRE(!applyApproxSpec("softmax=puma@/enc/layer.1/*,"
                           "softmax=scaling@/enc/layer.1/*#2-3,"
                           "softmax=crypten#5",
                           heads));
  const char *l1 = "/enc/layer.1/attn/Softmax";
  CHECK(heads.approxFor(ApproxKind::Softmax, l1) == Approximation::SoftmaxPuma);
  CHECK(heads.approxFor(ApproxKind::Softmax, l1, 1) ==
        Approximation::SoftmaxPuma);
  CHECK(heads.approxFor(ApproxKind::Softmax, l1, 2) ==
        Approximation::SoftmaxScaling);
  CHECK(heads.approxFor(ApproxKind::Softmax, l1, 3) ==
        Approximation::SoftmaxScaling);
  CHECK(heads.approxFor(ApproxKind::Softmax, l1, 5) ==
        Approximation::SoftmaxCrypten);
  CHECK(heads.approxFor(ApproxKind::Softmax, "/enc/layer.0/a/Softmax", 5) ==
        Approximation::SoftmaxCrypten);
  CHECK(heads.approxFor(ApproxKind::Softmax, "/enc/layer.0/a/Softmax", 4) ==
        Approximation::SoftmaxExact);
  CHECK(heads.nodeRules[1].scope() == "/enc/layer.1/*#2-3");
  CHECK(heads.nodeRules[2].scope() == "*#5");
  // A preset replaces every earlier choice, rules included.
  REQUIRE(!applyApproxSpec("softmax=puma@*,accurate", o));
  CHECK(o.nodeRules.empty());
  CHECK(o.approxFor(ApproxKind::Softmax, "/enc/layer.1/attn/Softmax") ==
        Approximation::SoftmaxExact);
  CompileOptions bad;
  auto err = [&](const char *spec) {
    llvm::Error e = applyApproxSpec(spec, bad);
    REQUIRE(bool(e));
    return llvm::toString(std::move(e));
  };
  CHECK_THAT(err("softmax=2quad@"), Catch::Contains("empty node pattern"));
  CHECK_THAT(err("softmax=2quad@[z-a]"), Catch::Contains("bad node pattern"));
  CHECK_THAT(err("softmax=quad@*"), Catch::Contains("not an approximation"));
  CHECK_THAT(err("exp=limit@*"), Catch::Contains("unknown op kind"));
  // Choosing twice for one kind, or one kind and pattern, is refused.
  CHECK_THAT(err("gelu=puma,gelu=quad"),
             Catch::Contains("'gelu=quad' chooses for every gelu op again, "
                             "after 'gelu=puma'"));
  CHECK_THAT(err("gelu=puma,gelu=puma"), Catch::Contains("again"));
  CHECK_THAT(
      err("softmax=puma@/a/*,gelu=puma,softmax=exact@/a/*"),
      Catch::Contains("'softmax=exact@/a/*' chooses for the softmax ops "
                      "matching '/a/*' again, after 'softmax=puma@/a/*'"));
  // Layers are not repeats: a rule over the kind-wide choice, a rule over
  // another pattern (overlapping or not), and a choice after a preset
  // that reset the earlier ones.
  CompileOptions layered;
  REQUIRE(!applyApproxSpec("gelu=quad,gelu=puma@/enc/layer.0/*,"
                           "gelu=accurate@/enc/layer.[0-1]/*",
                           layered));
  CHECK(layered.approxFor(ApproxKind::Gelu, "/enc/layer.0/ffn/Gelu") ==
        Approximation::GeluAccurate);
  CHECK(layered.approxFor(ApproxKind::Gelu, "/enc/layer.2/ffn/Gelu") ==
        Approximation::GeluQuad);
  REQUIRE(!applyApproxSpec("gelu=quad,puma,gelu=crypten", layered));
  CHECK(layered.approxFor(ApproxKind::Gelu) == Approximation::GeluCrypten);
}

TEST_CASE("a node rule that matches no op of its kind is an error naming "
          "the rule and the model's nodes of that kind",
          "[passes][approx]") {
  auto g = parseGraph(
      R"(func @main(%x: private1<1x4, f32>) opset=17 {
  %0 = softmax %x {axis = -1} : private1<1x4, f32> loc("/enc/layer.0/attn/Softmax" Softmax)
  %1 = softmax %0 {axis = -1} : private1<1x4, f32> loc("/enc/layer.1/attn/Softmax" Softmax)
  %2 = gelu %1 {form = "erf"} : private1<1x4, f32> loc("/enc/layer.1/ffn/Gelu" Erf)
  return %2 as "y"
})");
  REQUIRE(bool(g));
  auto check = [&](const char *spec) {
    CompileOptions o;
    REQUIRE(!applyApproxSpec(spec, o));
    return checkNodeRules(**g, o);
  };
  auto message = [&](const char *spec) {
    llvm::Error e = check(spec);
    REQUIRE(bool(e));
    return llvm::toString(std::move(e));
  };
  CHECK(!check("softmax=puma@/enc/layer.[0-1]/*,gelu=puma@*/ffn/*"));
  CHECK(!check("mpcformer"));
  // A mistyped layer path, and a pattern that matches a node of another
  // kind only.
  CHECK_THAT(message("softmax=puma@/enc/layr.0/*"),
             Catch::Contains("'softmax=puma@/enc/layr.0/*': the pattern "
                             "'/enc/layr.0/*' matches no softmax op of the "
                             "model, whose softmax ops are "
                             "'/enc/layer.0/attn/Softmax', "
                             "'/enc/layer.1/attn/Softmax'"));
  CHECK_THAT(message("softmax=exact@*/layer.0/*,gelu=puma@*/attn/*"),
             Catch::Contains("'gelu=puma@*/attn/*'"));
  // A kind the model lacks.
  CHECK_THAT(message("tanh=poly@*"),
             Catch::Contains("the model has no tanh op for the pattern '*'"));
}

TEST_CASE("a product's range leaves out mask fills only", "[passes][range]") {
  // A padding mask as PyTorch's TransformerEncoder exports it, a fill of
  // -inf (or -1e9, finfo.min) times a learned 1.0: lowering puts the mask
  // bias in the fill's place, so it is no activation. A real product of
  // -37938 is one, and leaves --range-bits 15.
  auto g = parseGraph(R"(func @main(%x: private1<1x4, f32>) opset=17 {
  const @one : private0<f32> = dense<[1.0]>
  const @w : private0<4x4, f32> = dense<[1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0]>
  %0 = mul %x, @one : private1<1x4, f32> loc("/mask/Mul" Mul)
  %1 = linear %x, @w : shared<1x4, f32> loc("/proj/MatMul" MatMul)
  return %0 as "m", %1 as "y"
})");
  REQUIRE(bool(g));
  double inf = std::numeric_limits<double>::infinity();
  auto fills = checkRanges(**g, {{"x", row({0, -inf, -1e9, -3.4e38})}}, 15);
  REQUIRE(bool(fills));
  CHECK(fills->outside.empty());
  CHECK(worst(*fills, "product").maxAbs == 0);

  auto large = checkRanges(**g, {{"x", row({1, -37938, 2, -5000})}}, 15);
  REQUIRE(bool(large));
  REQUIRE(large->outside.size() == 2);
  for (const RangeObservation &o : large->outside)
    CHECK(o.maxAbs == 37938);
}
