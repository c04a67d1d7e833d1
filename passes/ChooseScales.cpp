//===- passes/ChooseScales.cpp - Per-op fixed-point formats (--frac-bits auto)
//
// With one global format every nonlinear op reads its input as |x| <
// 2^rangeBits at `f` fractional bits: its comparisons work on rangeBits + f
// (+1) bits whatever its values are. --frac-bits auto gives each GeLU, tanh,
// ReLU and softmax the format its calibrated input needs instead
// (CompileOptions::calibratedInputMax; ReLU gets only the range):
//
//   r = the fewest range bits that hold 8x the largest |input| the
//       calibration samples reached (softmax: and the attention-mask bias
//       below them, rt::softmaxMaskBias(r), far enough below that a masked
//       score stays under exp's clip after the max subtraction);
//   f' = the most fractional bits, at least f, with r + f' <= rangeBits + f
//       (the ring the global format gives the op) that the op's
//       approximation takes (rt::validateApprox) at no more rounds, online
//       bytes or dealer material than in the global format
//       (rt::approxCost).
//
// So an op whose values are small computes at more fractional bits where
// they are free, and compares in a narrower ring (fewer online bytes)
// where they are not. The new scale is free where the op sits
// between two truncations, as in every Transformer layer:
//
//   %t = trunc %p {bits = b}             -> bits = b - d       (d = f' - f)
//   %h = add %t, @bias / mask            -> @bias, the mask at f' (copies)
//   %y = gelu.mpc %h                     -> reads and writes f'
//   %z = linear.pw %y', @w               (through reshape / transpose)
//   %u = trunc %z {bits = c}             -> bits = c + d: %u keeps its scale
//
// where every value on the path has that one use. Elsewhere the op keeps f
// and only its range narrows (a softmax only where its masks are on such a
// path: they are re-clamped to the narrower range's bias). Runs after
// fold-score-scale (the score truncation is the one before softmax) and
// before fuse-gelu-input (GeLU then truncates its input by b - d).
//
//===----------------------------------------------------------------------===//

#include "passes/ApproxChoice.h"
#include "passes/Passes.h"
#include "runtime/protocols/ApproxCost.h"
#include "runtime/protocols/Nonlinear.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cmath>

using namespace mpc;

namespace {

/// Headroom over the largest calibrated |input|: deployment inputs may go
/// further than the samples (mpcc compile --calibrate warns within 4x of a
/// limit; this keeps twice that).
constexpr double kHeadroom = 8;
/// The narrowest range an op is given.
constexpr int kMinRangeBits = 3;

bool hasOneUse(const Value *v) { return v->users().size() == 1; }

bool isLayout(OpKind k) {
  return k == OpKind::Reshape || k == OpKind::Transpose;
}

bool isProduct(OpKind k) {
  return k == OpKind::LinearPw || k == OpKind::MatMulBeaver ||
         k == OpKind::MulBeaver || k == OpKind::MulPw;
}

/// The semantic op kind whose calibrated input a lowered op reads.
std::optional<OpKind> semanticKind(OpKind k) {
  switch (k) {
  case OpKind::GeluMpc:
    return OpKind::Gelu;
  case OpKind::SoftmaxMpc:
    return OpKind::Softmax;
  case OpKind::TanhMpc:
    return OpKind::Tanh;
  case OpKind::ReluMpc:
    return OpKind::Relu;
  default:
    return std::nullopt;
  }
}

/// What rescaling a nonlinear op's input and output touches.
struct Region {
  Op *inTrunc = nullptr;         ///< Makes the op's input (bits - d).
  std::vector<Value *> inValues; ///< From inTrunc's result to the input.
  std::vector<std::pair<Op *, unsigned>> terms; ///< add operands: bias, mask.
  std::vector<Value *> outValues; ///< The op's result and layout after it.
  std::vector<Value *> products;  ///< Products of those (frac + d).
  std::vector<Op *> outTruncs;    ///< Their truncations (bits + d).
};

/// A term an add on the input path brings in: a constant, or the client's
/// mask_bias; each is copied at the new scale.
bool isTerm(const Value *v) {
  if (v->type().elem != ElemType::Fixed)
    return false;
  if (v->isConstant())
    return !v->constData().elided;
  const Op *def = v->definingOp();
  return def && def->kind() == OpKind::MaskBias;
}

/// The input path of \p op: trunc -> (add term | reshape | transpose)* ->
/// op, each value used once; false where the input comes otherwise.
bool findInputPath(Op *op, Region &r) {
  Value *v = op->operand(0);
  while (true) {
    Op *def = v->definingOp();
    if (!def || !hasOneUse(v))
      return false;
    r.inValues.push_back(v);
    if (def->kind() == OpKind::Trunc) {
      r.inTrunc = def;
      return true;
    }
    if (isLayout(def->kind())) {
      v = def->operand(0);
      continue;
    }
    if (def->kind() != OpKind::Add)
      return false;
    unsigned path = isTerm(def->operand(1)) ? 0 : 1;
    if (!isTerm(def->operand(1 - path)) || def->operand(0) == def->operand(1))
      return false;
    r.terms.push_back({def, 1 - path});
    v = def->operand(path);
  }
}

/// The output path of \p op: its result through reshape / transpose into
/// products, each product used once, by a truncation.
bool findOutputPath(const Graph &g, Op *op, Region &r) {
  std::vector<Value *> work = {op->result()};
  while (!work.empty()) {
    Value *v = work.back();
    work.pop_back();
    if (llvm::is_contained(g.outputs(), v) || !v->hasUses())
      return false;
    r.outValues.push_back(v);
    for (Op *user : v->users()) {
      if (isLayout(user->kind())) {
        work.push_back(user->result());
        continue;
      }
      // A product of two paths' values (attention's probabilities times
      // values) is fine; of this path's value twice (both factors, or
      // through two reshapes) would take the new scale twice.
      if (!isProduct(user->kind()) || user->numResults() != 1 ||
          user->operand(0) == user->operand(1) ||
          llvm::is_contained(r.products, user->result()))
        return false;
      Value *p = user->result();
      if (!hasOneUse(p) || p->users()[0]->kind() != OpKind::Trunc)
        return false;
      r.products.push_back(p);
      r.outTruncs.push_back(p->users()[0]);
    }
  }
  return true;
}

class ChooseScalesPass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    const CompileOptions &o = ctx.options;
    if (!o.autoScales)
      return false;
    bool changed = false;
    std::vector<Op *> ops;
    for (auto &op : g.ops())
      if (semanticKind(op->kind()))
        ops.push_back(op.get());
    for (Op *op : ops)
      changed |= choose(g, *op, o);
    return changed;
  }

private:
  static std::optional<double> calibratedMax(const Op &op,
                                             const CompileOptions &o) {
    auto it = o.calibratedInputMax.find(
        {opKindName(*semanticKind(op.kind())).str(), op.sourceNode()});
    if (it == o.calibratedInputMax.end())
      return std::nullopt;
    return it->second;
  }

  /// The fewest range bits holding kHeadroom x \p maxAbs for \p op.
  static int rangeFor(const Op &op, double maxAbs, int rangeBits) {
    bool softmax = op.kind() == OpKind::SoftmaxMpc;
    double held = maxAbs * kHeadroom;
    for (int r = kMinRangeBits; r < rangeBits; ++r) {
      double limit = std::ldexp(1.0, r);
      if (softmax) {
        // A masked score (score + bias) must still fall below exp's clip
        // after the max subtraction, twice over, for scores up to `held`:
        // bias - 2 held >= -2 clip (the global range's 10000 always does).
        double bias = rt::softmaxMaskBias(r);
        double clip = op.getFloat("clip", rt::SoftmaxParams{}.clipBelow);
        if (bias - 2 * held < -2 * clip)
          continue;
        limit -= bias;
      }
      if (held < limit)
        return r;
    }
    return rangeBits;
  }

  /// Whether \p op computes at \p frac fractional bits for |x| < 2^range.
  static bool takes(const Op &op, int frac, int range, bool exact) {
    if (range > rt::maxRangeBits(frac))
      return false;
    if (op.kind() == OpKind::ReluMpc)
      return true;
    if (op.hasAttr("trunc_bits") &&
        !rt::geluCanTruncateInput(int(op.getInt("trunc_bits")),
                                  rt::compareBitsForRange(frac, range)))
      return false;
    std::optional<rt::Approximation> a = approximationOf(op);
    if (!a)
      return false;
    llvm::Error e =
        rt::validateApprox(*a, frac, range, op.operand(0)->type().shape, exact);
    bool ok = !e;
    llvm::consumeError(std::move(e));
    return ok;
  }

  /// Whether \p op at (\p frac, \p range) takes no more rounds, online
  /// bytes or dealer material than in the global format (\p f,
  /// \p globalRange): finer powers may need another truncation level
  /// (tanh's x^9 at frac 20) or wider rings.
  static bool noCostlier(const Op &op, int frac, int range, int f,
                         int globalRange, bool exact) {
    std::optional<rt::Approximation> a = approximationOf(op);
    if (!a)
      return true;
    llvm::ArrayRef<int64_t> shape = op.operand(0)->type().shape;
    rt::Cost now = rt::approxCost(*a, frac, range, shape, exact);
    rt::Cost was = rt::approxCost(*a, f, globalRange, shape, exact);
    return now.rounds <= was.rounds &&
           now.bytes01 + now.bytes10 <= was.bytes01 + was.bytes10 &&
           now.dealerBytes0 + now.dealerBytes1 <=
               was.dealerBytes0 + was.dealerBytes1;
  }

  /// The approximation kind of lowered \p op (none for ReLU).
  static std::optional<rt::ApproxKind> loweredApproxKind(const Op &op) {
    return approxKindOf(*semanticKind(op.kind()));
  }

  /// The approximation lowered \p op computes (none for ReLU).
  static std::optional<rt::Approximation> approximationOf(const Op &op) {
    std::optional<rt::ApproxKind> kind = loweredApproxKind(op);
    if (!kind)
      return std::nullopt;
    return rt::findApprox(*kind, op.getString("approx"));
  }

  static bool choose(Graph &g, Op &op, const CompileOptions &o) {
    std::optional<double> seen = calibratedMax(op, o);
    if (!seen)
      return false;
    int f = op.operand(0)->type().fracBits, range = o.rangeBits;
    bool softmax = op.kind() == OpKind::SoftmaxMpc;
    Region region;
    bool inPath = findInputPath(&op, region);
    bool path = inPath && findOutputPath(g, &op, region);
    int r = rangeFor(op, *seen, range);
    // A softmax's masks sit at the whole range's bias; they are re-clamped
    // to a narrower range's on its input path only, so that path must
    // start at the truncation of a matrix product (attention's scores): no
    // mask added before it, as in (scores + mask) * scale.
    if (softmax && !(inPath && truncatesMatrixProduct(*region.inTrunc)))
      r = range;
    // ReLU computes no approximation that finer bits would help: it only
    // compares in a narrower ring.
    int best = f;
    if (path && loweredApproxKind(op))
      for (int f2 = std::min(kMaxFracBits, f + range - r); f2 > f; --f2)
        if (int(region.inTrunc->getInt("bits")) >= f2 - f &&
            takes(op, f2, r, o.exactTruncation) &&
            noCostlier(op, f2, r, f, range, o.exactTruncation) &&
            geluStillFuses(op, *region.inTrunc, f2 - f, f2, r)) {
          best = f2;
          break;
        }
    if ((r == range && best == f) || !takes(op, best, r, o.exactTruncation))
      return false;
    if (inPath && (best != f || softmax))
      retypeInput(g, region, best - f,
                  softmax ? std::optional(r) : std::nullopt);
    if (best != f)
      retypeOutput(region, best - f);
    setRangeAttrs(op, best, r);
    return true;
  }

  /// Whether \p trunc truncates a matrix product of activations (or of
  /// an activation and a weight matrix): no mask bias inside, unlike an
  /// elementwise product of masked scores with a scale.
  static bool truncatesMatrixProduct(const Op &trunc) {
    const Op *def = trunc.operand(0)->definingOp();
    return def && (def->kind() == OpKind::MatMulBeaver ||
                   def->kind() == OpKind::LinearPw);
  }

  /// Whether fuse-gelu-input can still fold the input truncation in.
  static bool geluStillFuses(const Op &op, const Op &trunc, int d, int frac,
                             int range) {
    if (op.kind() != OpKind::GeluMpc || !op.hasAttr("compare_bits"))
      return true;
    int bits = int(trunc.getInt("bits"));
    if (!rt::geluCanTruncateInput(bits, int(op.getInt("compare_bits"))))
      return true;
    return rt::geluCanTruncateInput(bits - d,
                                    rt::compareBitsForRange(frac, range));
  }

  static void setRangeAttrs(Op &op, int frac, int range) {
    switch (op.kind()) {
    case OpKind::GeluMpc:
    case OpKind::TanhMpc:
      if (op.hasAttr("compare_bits"))
        op.setAttr("compare_bits",
                   Attr(int64_t(rt::compareBitsForRange(frac, range))));
      break;
    case OpKind::ReluMpc:
      op.setAttr("bits", Attr(int64_t(rt::compareBitsForRange(frac, range))));
      break;
    case OpKind::SoftmaxMpc:
      if (op.hasAttr("input_bits"))
        op.setAttr("input_bits",
                   Attr(int64_t(rt::softmaxInputBits(frac, range))));
      break;
    default:
      break;
    }
  }

  /// Term \p v at \p frac, changed in place where \p v has this one use,
  /// else a copy; for a softmax at range \p maskRange, mask entries at its
  /// bias (rt::softmaxMaskedValue).
  static Value *termAt(Graph &g, Value *v, Op &add, int frac,
                       std::optional<int> maskRange) {
    auto clamp = [&](double x) {
      return maskRange ? rt::softmaxMaskedValue(x, *maskRange) : x;
    };
    TensorType t = v->type();
    t.fracBits = frac;
    if (v->isConstant()) {
      ConstData data = v->constData();
      for (double &x : data.f)
        x = clamp(x);
      if (!hasOneUse(v))
        return g.addConstant(g.uniqueName(v->name()), t, std::move(data));
      v->mutableConstData() = std::move(data);
      v->setType(t);
      return v;
    }
    Op *def = v->definingOp();
    Op *mask = def;
    if (!hasOneUse(v)) {
      mask = g.createOp(
          g.iteratorOf(&add), def->kind(),
          std::vector<Value *>(def->operands().begin(), def->operands().end()),
          {t}, def->loc());
      for (const auto &[name, a] : def->attrs())
        mask->setAttr(name, a);
      mask->result()->setName(g.uniqueName(v->name()));
    }
    mask->result()->setType(t);
    mask->setAttr("frac", Attr(int64_t(frac)));
    mask->setAttr("value", Attr(clamp(def->getFloat("value"))));
    return mask->result();
  }

  /// The input path at \p d more fractional bits: the truncation takes d
  /// fewer, the terms come at the new scale (softmax: masks at
  /// \p maskRange's bias).
  static void retypeInput(Graph &g, Region &r, int d,
                          std::optional<int> maskRange) {
    Op *t = r.inTrunc;
    t->setAttr("bits", Attr(t->getInt("bits") - d));
    for (Value *v : r.inValues)
      v->mutableType().fracBits += d;
    for (auto [add, i] : r.terms)
      add->setOperand(i, termAt(g, add->operand(i), *add,
                                add->result()->type().fracBits, maskRange));
  }

  /// The output path at \p d more fractional bits, down to the
  /// truncations after its products, which take d more.
  static void retypeOutput(Region &r, int d) {
    for (Value *v : r.outValues)
      v->mutableType().fracBits += d;
    for (Value *p : r.products)
      p->mutableType().fracBits += d;
    for (Op *u : r.outTruncs)
      u->setAttr("bits", Attr(u->getInt("bits") + d));
  }
};

} // namespace

std::unique_ptr<Pass> mpc::createChooseScalesPass() {
  return std::make_unique<ChooseScalesPass>();
}
