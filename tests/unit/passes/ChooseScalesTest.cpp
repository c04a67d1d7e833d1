//===- tests/unit/passes/ChooseScalesTest.cpp - --frac-bits auto ----------===//
//
// choose-scales on an attention block, with a calibrated softmax input of
// at most 2 (8x headroom: 16): the softmax's range narrows to 2^7 (the
// smallest whose mask bias, 64, stays 28 below any score within the
// headroom), its additive mask is re-clamped to -64, and its probabilities
// take more fractional bits, the truncations around it absorbing them.
// Where the mask is added before a scaling, (scores + mask) * c, the mask
// is not on the softmax's input path and the global format stays (a
// narrowed range used to leave the mask, still at -10000 c, outside it).
//
//===----------------------------------------------------------------------===//

#include "driver/Compile.h"
#include "ir/IR.h"
#include "runtime/protocols/Nonlinear.h"

#include <catch2/catch.hpp>

using namespace mpc;

namespace {

/// Attention over two tokens with an additive mask and an output
/// projection; \p maskFirst adds the mask before the scaling, by a learned
/// 1/sqrt(d) as an export may hold it (a private-weight product of its
/// own, which fold-score-scale leaves).
std::string attention(bool maskFirst) {
  std::string scores = maskFirst ? R"(
  %4 = add %3, %mask : shared<1x2x2, f32> loc("/attn/Add" Add)
  %5 = mul %4, @scale : shared<1x2x2, f32> loc("/attn/Mul" Mul))"
                                 : R"(
  %4 = div %3, %sqrtd : shared<1x2x2, f32> loc("/attn/Div" Div)
  %5 = add %4, %mask : shared<1x2x2, f32> loc("/attn/Add" Add))";
  return R"(func @main(%x: private1<1x2x4, f32>) opset=17 {
  const @wq : private0<4x4, f32> = dense<[0.8, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]>
  const @wk : private0<4x4, f32> = dense<[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]>
  const @bq : private0<4, f32> = dense<[0.8, 0.4, 0.2, 0.1]>
  const @wo : private0<4x4, f32> = dense<[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]>
  const @wv : private0<4x4, f32> = dense<[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]>
  const %sqrtd : public<f32> = dense<[8.0]>
  const @scale : private0<f32> = dense<[0.125]>
  const %mask : public<1x2x2, f32> = dense<[0.0, -10000.0, 0.0, -10000.0]>
  %0 = linear %x, @wq, @bq : shared<1x2x4, f32> loc("/attn/q" MatMul)
  %1 = linear %x, @wk : shared<1x2x4, f32> loc("/attn/k" MatMul)
  %2 = transpose %1 {perm = [0, 2, 1]} : shared<1x4x2, f32>
  %3 = matmul %0, %2 : shared<1x2x2, f32> loc("/attn/scores" MatMul))" +
         scores + R"(
  %6 = softmax %5 {axis = -1} : shared<1x2x2, f32> loc("/attn/Softmax" Softmax)
  %7 = linear %x, @wv : shared<1x2x4, f32> loc("/attn/v" MatMul)
  %8 = matmul %6, %7 : shared<1x2x4, f32> loc("/attn/context" MatMul)
  %9 = linear %8, @wo : shared<1x2x4, f32> loc("/attn/out" MatMul)
  return %9 as "y"
})";
}

/// The lowered graph of attention(maskFirst) with auto scales.
std::unique_ptr<Graph> lowerWithAutoScales(bool maskFirst) {
  auto g = parseGraph(attention(maskFirst), "attention");
  if (!g)
    FAIL(llvm::toString(g.takeError()));
  CompileOptions opts;
  opts.autoScales = true;
  opts.calibratedInputMax[{"softmax", "/attn/Softmax"}] = 2.0;
  if (llvm::Error e = runPipeline(**g, opts))
    FAIL(llvm::toString(std::move(e)));
  return std::move(*g);
}

Op *onlyOp(const Graph &g, OpKind k) {
  std::vector<Op *> ops = g.opsOfKind(k);
  REQUIRE(ops.size() == 1);
  return ops[0];
}

} // namespace

TEST_CASE("choose-scales narrows a softmax whose mask is on its input path",
          "[passes][scales]") {
  std::unique_ptr<Graph> g = lowerWithAutoScales(/*maskFirst=*/false);
  Op *softmax = onlyOp(*g, OpKind::SoftmaxMpc);
  int f = softmax->operand(0)->type().fracBits;
  CHECK(f > 16);
  CHECK(softmax->getInt("input_bits") == rt::softmaxInputBits(f, 7));
  // The mask the softmax reads: -10000 re-clamped to the range's bias.
  Op *add = softmax->operand(0)->definingOp();
  REQUIRE(add->kind() == OpKind::Add);
  Value *mask = add->operand(1);
  REQUIRE(mask->isConstant());
  CHECK(mask->type().fracBits == f);
  CHECK(mask->constData().f == std::vector<double>{0, -rt::softmaxMaskBias(7),
                                                   0, -rt::softmaxMaskBias(7)});
  // The probabilities times the values: truncated by the extra bits too,
  // so the context keeps 16.
  REQUIRE(softmax->result()->users().size() == 1);
  Op *context = softmax->result()->users()[0];
  REQUIRE(context->kind() == OpKind::MatMulBeaver);
  Op *trunc = context->result()->users()[0];
  REQUIRE(trunc->kind() == OpKind::Trunc);
  CHECK(trunc->getInt("bits") == f);
  CHECK(trunc->result()->type().fracBits == 16);
}

TEST_CASE("choose-scales keeps the global format where the mask comes before "
          "a scaling",
          "[passes][scales]") {
  std::unique_ptr<Graph> g = lowerWithAutoScales(/*maskFirst=*/true);
  Op *softmax = onlyOp(*g, OpKind::SoftmaxMpc);
  CompileOptions defaults;
  CHECK(softmax->operand(0)->type().fracBits == defaults.fracBits);
  CHECK(softmax->getInt("input_bits") ==
        rt::softmaxInputBits(defaults.fracBits, defaults.rangeBits));
}
