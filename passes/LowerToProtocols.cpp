//===- passes/LowerToProtocols.cpp - Semantic ops to runtime protocols ----===//
//
// Chooses, for every semantic op, the protocol that computes it on the
// visibilities of its operands, and the approximation for nonlinear ops
// (from the preset in CompileOptions), and places fixed-point scales and
// truncations on the way:
//
//   linear(x, W, b)            -> trunc(linear.pw(x, W)) + b     (W private0)
//   matmul(x, y), both shared  -> trunc(matmul.beaver(x, y))
//   embedding(T, ids)          -> embed.lookup(ids, T)    (ids a client
//                                 input, where it moves fewer bytes)
//                                 linear.pw(onehot(ids), T) (otherwise)
//   x * c, x / c (c public)    -> trunc(mul.public(x, c)), or no trunc when c
//                                 is an integer
//   x * w, x / w (w a weight)  -> trunc(mul.pw(x, w)), trunc(mul.pw(x, 1/w))
//                                 (a learned scalar, a mask fill the
//                                 frontend did not recognise)
//   reduce_mean(x)             -> trunc(mul.public(reduce_sum(x), 1/n))
//   gelu / softmax / layernorm / tanh -> gelu.mpc / softmax.mpc / ... with
//                                 the approximation as an attribute
//   relu(x)                    -> relu.mpc(x), one comparison
//   every graph output         -> reveal (to the client, or both)
//   any op on the client's values and public constants alone (masks,
//   position ids: equal, cast, cumsum, where, ...)
//                              -> clear {fn}: party 1 computes it in the
//                                 clear, no communication
//   where(c, x, F), F <= -10000 (an attention-mask fill, either branch)
//                              -> x + bias, bias = where(c, 0, F') with F'
//                                 the runtime's mask bias (as mask_bias):
//                                 a constant when c is (public or party
//                                 0's), party 1's clear op when c is its own
//   where(c, a, b) otherwise   -> b + c * (a - b): mul.public (c public),
//                                 mul.pw (c party 0's), mul.beaver (c the
//                                 client's, as fixed point with 0 bits)
//
// Every real value becomes fixed point with CompileOptions::fracBits
// fractional bits; products carry twice that and are truncated once.
// An op with no secure lowering is an error naming its ONNX node.
//
//===----------------------------------------------------------------------===//

#include "ir/Builder.h"
#include "ir/OpSchema.h"
#include "ir/ShapeUtils.h"
#include "passes/ApproxChoice.h"
#include "passes/OpKernel.h"
#include "passes/Passes.h"
#include "runtime/protocols/ApproxCost.h"
#include "runtime/protocols/Embedding.h"
#include "runtime/protocols/Nonlinear.h"
#include "support/ModelForms.h"

#include "llvm/ADT/STLExtras.h"

#include <fmt/format.h>

#include <cmath>

using namespace mpc;

namespace {

class Lowerer {
public:
  Lowerer(Graph &g, PassContext &ctx)
      : g_(g), ctx_(ctx), b_(g), f_(ctx.options.fracBits),
        rangeBits_(ctx.options.rangeBits) {}

  llvm::Error run();

private:
  llvm::Error lowerOp(Op *op);
  llvm::Expected<Value *> create(OpKind kind, llvm::ArrayRef<Value *> operands,
                                 std::map<std::string, Attr> attrs = {});
  llvm::Expected<Value *> truncate(Value *v, int bits);
  /// x * c for a public constant c: no truncation when c is integral.
  llvm::Expected<Value *> mulByPublic(Value *x, Value *c);
  llvm::Expected<Value *> mulByScalar(Value *x, double c);
  /// x * w for a weight w (any shape broadcasting with x): mul.pw.
  llvm::Expected<Value *> mulByWeight(Value *x, Value *w);
  llvm::Expected<Value *> mulSecret(Value *a, Value *b);
  llvm::Expected<Value *> broadcastTo(Value *v, llvm::ArrayRef<int64_t> shape);
  llvm::Expected<Value *> lowerLinear(Op *op, Value *x, Value *w, Value *bias);
  llvm::Expected<Value *> lowerMatMul(Op *op);
  llvm::Expected<Value *> lowerEmbedding(Op *op);
  llvm::Expected<Value *> lowerNonlinear(Op *op);
  llvm::Expected<Value *> lowerClear(Op *op, llvm::ArrayRef<Value *> operands);
  llvm::Expected<Value *> lowerWhere(Op *op, llvm::ArrayRef<Value *> operands);
  llvm::Expected<Value *> lowerPow(Op *op, llvm::ArrayRef<Value *> operands);
  llvm::Expected<Value *> lowerReduceMax(Op *op, Value *x);
  llvm::Error unsupported(Op *op, llvm::StringRef why);
  /// The approximation of \p op (passes/ApproxChoice.h); notes a
  /// "needs training" entry replacing what the model computes.
  llvm::Expected<rt::Approximation> chooseApprox(Op *op);
  /// One warning per "needs training" entry chosen for ops the model
  /// computes otherwise.
  void warnUntrained();
  /// The name of the approximation chosen for \p kind (the plan's `approx`).
  std::string approxName(rt::Approximation a) const {
    return rt::approxInfo(a).shortName;
  }
  void convertLeafTypes();
  /// \p c itself, or, when \p c is a constant causal/padding mask added
  /// by \p add before softmax (entries 0 or an attention-mask fill such as
  /// finfo.min, which fixed point cannot encode), the same mask with each
  /// fill at maskBiasValue: the same probabilities after softmax.
  Value *clampMaskConstant(Op *add, Value *c);

  /// Per "needs training" entry: the ONNX nodes it replaces, and how many
  /// of them add an attention-mask bias to their input.
  struct UntrainedUse {
    std::vector<std::string> nodes;
    int masked = 0;
  };
  std::map<rt::Approximation, UntrainedUse> untrained_;

  Graph &g_;
  PassContext &ctx_;
  Builder b_;
  int f_;
  int rangeBits_;

  /// Bits of a piecewise op's comparisons for |x| < 2^rangeBits.
  int64_t compareBits() const {
    return rt::compareBitsForRange(f_, rangeBits_);
  }
  /// An attention-mask bias below softmax's (HF exports finfo(f32).min)
  /// is softmax's: the same probabilities (rt::softmaxMaskedValue).
  double maskBiasValue(double v) const {
    return rt::softmaxMaskedValue(v, rangeBits_);
  }
};

} // namespace

static bool isPublicConstant(const Value *v) {
  return v->isConstant() && v->type().vis == Vis::Public;
}

static bool isSecret(const Value *v) { return v->type().vis != Vis::Public; }

/// The party holding every non-public operand (0 or 1), -1 when all are
/// public, -2 when one is shared or two parties' values mix.
static int soleOwner(llvm::ArrayRef<Value *> operands) {
  int owner = -1;
  for (const Value *v : operands) {
    const TensorType &t = v->type();
    if (t.vis == Vis::Public)
      continue;
    if (t.vis == Vis::Shared || (owner >= 0 && owner != t.owner))
      return -2;
    owner = t.owner;
  }
  return owner;
}

/// Whether the runtime computes \p fn (an IR mnemonic) in the clear.
static bool isClearFunction(llvm::StringRef fn) {
#define MPC_CLEAR_FN(Name, Text, Min, Max)                                     \
  if (fn == Text)                                                              \
    return true;
#include "runtime/plan/ClearFns.def"
  return false;
}

/// Ops whose local kernel computes them on private values as on shares
/// (linear maps and data movement: no truncation, no clear evaluation):
/// Ops.def's ops valid at both stages, which run as their (local) kernel.
static bool hasLocalKernel(OpKind k) {
  return opKindStage(k) == OpStage::Any && opKernel(k) && !opIsInteractive(k);
}

/// A constant whose elements all equal one value at or below the
/// attention-mask fill (HF's -10000, finfo.min, -1e9, -inf): \p fill.
static bool isMaskFill(const Value *v, double &fill) {
  if (!v->isConstant() || v->constData().elided || v->constData().f.empty())
    return false;
  const std::vector<double> &f = v->constData().f;
  fill = f[0];
  return fill <= -rt::kSoftmaxMaskBias &&
         llvm::all_of(f, [&](double x) { return x == fill; });
}

static std::string visName(const Value *v) {
  return visStr(v->type().vis, v->type().owner);
}

void Lowerer::convertLeafTypes() {
  // Real inputs and constants become fixed point; integers stay integers.
  auto toFixed = [&](Value *v) {
    if (v->type().elem == ElemType::F32)
      v->setType(v->type().withElem(ElemType::Fixed, f_));
  };
  for (Value *v : g_.inputs())
    toFixed(v);
  for (Value *v : g_.constants())
    toFixed(v);
}

llvm::Expected<Value *> Lowerer::create(OpKind kind,
                                        llvm::ArrayRef<Value *> operands,
                                        std::map<std::string, Attr> attrs) {
  llvm::Expected<Op *> op = b_.create(kind, operands, std::move(attrs));
  if (!op)
    return op.takeError();
  return (*op)->result(0);
}

llvm::Expected<Value *> Lowerer::truncate(Value *v, int bits) {
  if (bits == 0)
    return v;
  return create(OpKind::Trunc, {v}, {{"bits", int64_t(bits)}});
}

llvm::Expected<Value *> Lowerer::mulByPublic(Value *x, Value *c) {
  const ConstData &data = c->constData();
  bool integral = !data.elided && llvm::all_of(data.f, [](double d) {
    return std::nearbyint(d) == d && std::fabs(d) < (1 << 20);
  });
  int cf = integral ? 0 : f_;
  Value *cst = g_.addConstant(g_.uniqueName(c->name()),
                              c->type().withElem(ElemType::Fixed, cf), data);
  llvm::Expected<Value *> prod = create(OpKind::MulPublic, {x, cst});
  if (!prod)
    return prod.takeError();
  return truncate(*prod, cf);
}

/// The numpy broadcast of \p a's and \p b's shapes.
static llvm::Expected<llvm::SmallVector<int64_t, 4>>
broadcastShape(const Value *a, const Value *b) {
  llvm::SmallVector<int64_t, 4> shape;
  if (!broadcastShapes(a->type().shape, b->type().shape, shape))
    return error("shapes do not broadcast: {} vs {}", a->type().str(),
                 b->type().str());
  return shape;
}

llvm::Expected<Value *> Lowerer::mulByWeight(Value *x, Value *w) {
  // The private-weight product takes a weight that broadcasts to x.
  auto shape = broadcastShape(x, w);
  if (!shape)
    return shape.takeError();
  llvm::Expected<Value *> xb = broadcastTo(x, *shape);
  if (!xb)
    return xb.takeError();
  llvm::Expected<Value *> y = create(OpKind::MulPw, {*xb, w});
  if (!y)
    return y.takeError();
  return truncate(*y, w->type().fracBits);
}

llvm::Expected<Value *> Lowerer::mulByScalar(Value *x, double c) {
  Value *cst =
      g_.addConstant(g_.uniqueName("scale"), TensorType({}, ElemType::F32),
                     ConstData{{c}, {}, false});
  return mulByPublic(x, cst);
}

llvm::Expected<Value *> Lowerer::broadcastTo(Value *v,
                                             llvm::ArrayRef<int64_t> shape) {
  if (llvm::ArrayRef<int64_t>(v->type().shape) == shape)
    return v;
  // Adding public zeros of the target shape broadcasts locally.
  TensorType zt(shape, ElemType::Fixed, Vis::Public, -1, v->type().fracBits);
  Value *zeros = g_.addConstant(
      g_.uniqueName("zeros"), zt,
      ConstData{std::vector<double>(zt.numElements(), 0.0), {}, false});
  return create(OpKind::Add, {v, zeros});
}

llvm::Expected<Value *> Lowerer::mulSecret(Value *a, Value *b) {
  // Beaver multiplication takes equal shapes; a private operand enters in
  // share form (its owner holds it, the other party zero).
  auto shape = broadcastShape(a, b);
  if (!shape)
    return shape.takeError();
  llvm::Expected<Value *> x = broadcastTo(a, *shape);
  if (!x)
    return x.takeError();
  llvm::Expected<Value *> y = broadcastTo(b, *shape);
  if (!y)
    return y.takeError();
  llvm::Expected<Value *> z = create(OpKind::MulBeaver, {*x, *y});
  if (!z)
    return z.takeError();
  return truncate(*z, std::min((*x)->type().fracBits, (*y)->type().fracBits));
}

llvm::Error Lowerer::unsupported(Op *op, llvm::StringRef why) {
  std::string vis;
  for (Value *v : op->operands())
    vis += (vis.empty() ? "" : ", ") + visName(v);
  return diag(op->loc(), "no secure protocol for '{}' on ({}) operands: {}",
              op->name().str(), vis, why.str());
}

llvm::Expected<Value *> Lowerer::lowerLinear(Op *op, Value *x, Value *w,
                                             Value *bias) {
  if (!w->isWeight() || w->type().rank() != 2)
    return unsupported(op, "the weight must be a 2-D tensor private to "
                           "party 0 (a model weight)");
  if (x->type().vis == Vis::Public || x->type().isPrivateTo(0))
    return unsupported(op, "the input must be shared or the client's");
  llvm::Expected<Op *> pw = b_.create(OpKind::LinearPw, {x, w});
  if (!pw)
    return pw.takeError();
  llvm::Expected<Value *> y = truncate((*pw)->result(0), w->type().fracBits);
  if (!y || !bias)
    return y;
  return create(OpKind::Add, {*y, bias});
}

llvm::Expected<Value *> Lowerer::lowerMatMul(Op *op) {
  Value *x = op->operand(0), *y = op->operand(1);
  if (y->isWeight())
    return lowerLinear(op, x, y, nullptr);
  if (x->type().vis == Vis::Shared && y->type().vis == Vis::Shared) {
    llvm::Expected<Value *> z = create(OpKind::MatMulBeaver, {x, y});
    if (!z)
      return z.takeError();
    return truncate(*z, y->type().fracBits);
  }
  return unsupported(op, "expected shared x shared, or an input times a "
                         "model weight");
}

/// Whether the DPF lookup of ids [..] into a table [V, d] moves fewer
/// online bytes over all links than the one-hot private-weight product,
/// by the runtime's cost formulas.
static bool lookupIsCheaper(llvm::ArrayRef<int64_t> ids,
                            llvm::ArrayRef<int64_t> table) {
  rt::Cost dpf = rt::embedLookupCost(ids, table[0], table[1]);
  rt::Shape oneHotShape(ids.begin(), ids.end());
  oneHotShape.push_back(table[0]);
  rt::Shape tableShape(table.begin(), table.end());
  rt::Cost oneHot =
      rt::pwLinearCost(oneHotShape, {tableShape}, rt::kFullRingBits);
  auto online = [](const rt::Cost &c) {
    return c.bytes01 + c.bytes10 + c.bytes1D + c.bytesD0;
  };
  return online(dpf) < online(oneHot);
}

llvm::Expected<Value *> Lowerer::lowerEmbedding(Op *op) {
  Value *table = op->operand(0), *ids = op->operand(1);
  if (!table->isWeight())
    return unsupported(op, "the table must be a model weight");
  if (ids->type().vis == Vis::Public)
    return create(OpKind::Gather, {table, ids}, {{"axis", int64_t(0)}});
  if (!ids->type().isPrivateTo(1))
    return unsupported(op, "token ids must be the client's input or public");
  // Ids given as they are: the DPF lookup, whose traffic grows with log V,
  // not V (it runs before the online phase, so it needs the ids then),
  // where it moves fewer online bytes in all than the one-hot product: its
  // keys and the dealer's d-word answer per token against V words per
  // token (a vocabulary of 2 token types is cheaper one-hot).
  if (ids->isInput() && lookupIsCheaper(ids->type().shape, table->type().shape))
    return create(OpKind::EmbedLookup, {ids, table});
  // Ids the client computes first: it expands them to one-hot rows
  // (integers, no fractional bits), so the private-weight product needs no
  // truncation.
  llvm::Expected<Value *> oneHot =
      create(OpKind::OneHot, {ids}, {{"depth", table->type().shape[0]}});
  if (!oneHot)
    return oneHot.takeError();
  llvm::Expected<Op *> pw = b_.create(OpKind::LinearPw, {*oneHot, table});
  if (!pw)
    return pw.takeError();
  return (*pw)->result(0);
}

llvm::Expected<Value *> Lowerer::lowerNonlinear(Op *op) {
  Value *x = op->operand(0);
  switch (op->kind()) {
  case OpKind::Gelu: {
    // A distilled model's Quad GeLU is what the model computes: keep it.
    auto approx = chooseApprox(op);
    if (!approx)
      return approx.takeError();
    std::map<std::string, Attr> attrs = {{"approx", approxName(*approx)}};
    if (rt::geluCompares(*approx))
      attrs["compare_bits"] = compareBits();
    return create(OpKind::GeluMpc, {x}, std::move(attrs));
  }
  case OpKind::Softmax: {
    int64_t axis = op->getInt("axis", -1);
    if (axis != -1 && axis != x->type().rank() - 1)
      return unsupported(op, "softmax is implemented over the last axis; "
                             "transpose the reduced axis last first");
    // A distilled model's 2Quad softmax is what the model computes: keep it.
    auto approx = chooseApprox(op);
    if (!approx)
      return approx.takeError();
    std::map<std::string, Attr> attrs = {{"approx", approxName(*approx)}};
    if (modelForm(*op))
      attrs["c"] = op->getFloat("c", kTwoQuadC);
    if (rt::softmaxUsesExp(*approx))
      attrs["input_bits"] = int64_t(rt::softmaxInputBits(f_, rangeBits_));
    return create(OpKind::SoftmaxMpc, {x}, std::move(attrs));
  }
  case OpKind::LayerNorm: {
    int64_t axis = op->getInt("axis", -1);
    if (axis != -1 && axis != x->type().rank() - 1)
      return unsupported(op, "layernorm is implemented over the last axis; "
                             "transpose the normalised axis last first");
    auto approx = chooseApprox(op);
    if (!approx)
      return approx.takeError();
    return create(OpKind::LayerNormMpc, {x, op->operand(1), op->operand(2)},
                  {{"eps", op->getFloat("eps", kLayerNormDefaultEps)},
                   {"approx", approxName(*approx)}});
  }
  case OpKind::Relu:
    return create(OpKind::ReluMpc, {x}, {{"bits", compareBits()}});
  case OpKind::Tanh: {
    auto approx = chooseApprox(op);
    if (!approx)
      return approx.takeError();
    return create(
        OpKind::TanhMpc, {x},
        {{"approx", approxName(*approx)}, {"compare_bits", compareBits()}});
  }
  default:
    llvm_unreachable("not a nonlinear op");
  }
}

llvm::Expected<Value *> Lowerer::lowerClear(Op *op,
                                            llvm::ArrayRef<Value *> operands) {
  if (!isClearFunction(op->name()))
    return unsupported(
        op, fmt::format("every operand is the client's or public, so party 1 "
                        "would compute it in the clear, but the runtime has "
                        "no clear '{}' (runtime/plan/ClearFns.def)",
                        op->name().str()));
  std::map<std::string, Attr> attrs(op->attrs());
  attrs["fn"] = op->name().str();
  attrs["frac"] = int64_t(f_);
  return create(OpKind::Clear, operands, std::move(attrs));
}

llvm::Expected<Value *> Lowerer::lowerWhere(Op *op,
                                            llvm::ArrayRef<Value *> operands) {
  Value *c = operands[0], *a = operands[1], *b = operands[2];
  if (c->type().vis == Vis::Shared)
    return unsupported(op, "the condition is shared (computed from both "
                           "parties' values); a condition from constants or "
                           "from the client's input alone is supported, or "
                           "write the mask as an additive bias");
  double fa = 0, fb = 0;
  bool maskA = isMaskFill(a, fa), maskB = isMaskFill(b, fb);
  const TensorType &ct = c->type();
  if (maskA != maskB) {
    // An attention-mask fill: the same probabilities after softmax as
    // adding the runtime's mask bias (mask_bias's rule).
    Value *x = maskA ? b : a;
    double fill = maskBiasValue(maskA ? fa : fb);
    // bias = fill where the fill is selected, else 0.
    auto biasAt = [&](bool cond) { return cond == maskA ? fill : 0.0; };
    Value *bias;
    if (c->isConstant()) {
      ConstData d;
      for (int64_t v : c->constData().i)
        d.f.push_back(biasAt(v != 0));
      bias = g_.addConstant(
          g_.uniqueName(op->result()->name() + ".bias"),
          TensorType(ct.shape, ElemType::Fixed, ct.vis, ct.owner, f_), d);
    } else {
      auto scalar = [&](double v) {
        return g_.addConstant(
            g_.uniqueName("fill"),
            TensorType({}, ElemType::Fixed, Vis::Public, -1, f_),
            ConstData{{v}, {}, false});
      };
      llvm::Expected<Value *> cb = create(
          OpKind::Clear, {c, scalar(biasAt(true)), scalar(biasAt(false))},
          {{"fn", std::string("where")}, {"frac", int64_t(f_)}});
      if (!cb)
        return cb.takeError();
      bias = *cb;
    }
    return create(OpKind::Add, {x, bias});
  }
  // b + c * (a - b), the condition as 0/1 with no fractional bits.
  auto clamp = [&](Value *v, bool mask, double fill) -> Value * {
    if (!mask)
      return v;
    return g_.addConstant(g_.uniqueName("fill"),
                          TensorType({}, ElemType::Fixed, Vis::Public, -1, f_),
                          ConstData{{maskBiasValue(fill)}, {}, false});
  };
  a = clamp(a, maskA, fa);
  b = clamp(b, maskB, fb);
  llvm::Expected<Value *> diff = create(OpKind::Sub, {a, b});
  if (!diff)
    return diff.takeError();
  llvm::Expected<Value *> prod = [&]() -> llvm::Expected<Value *> {
    if (c->isConstant()) {
      ConstData d;
      for (int64_t v : c->constData().i)
        d.f.push_back(v != 0);
      Value *cf = g_.addConstant(
          g_.uniqueName(c->name() + ".f"),
          TensorType(ct.shape, ElemType::Fixed, ct.vis, ct.owner, 0), d);
      if (cf->isWeight())
        return mulByWeight(*diff, cf);
      return create(OpKind::MulPublic, {*diff, cf});
    }
    llvm::Expected<Value *> cf = create(OpKind::Clear, {c},
                                        {{"fn", std::string("cast")},
                                         {"to", std::string("f32")},
                                         {"frac", int64_t(0)}});
    if (!cf)
      return cf.takeError();
    return mulSecret(*cf, *diff);
  }();
  if (!prod)
    return prod.takeError();
  return create(OpKind::Add, {b, *prod});
}

llvm::Expected<Value *> Lowerer::lowerPow(Op *op,
                                          llvm::ArrayRef<Value *> operands) {
  Value *x = operands[0], *e = operands[1];
  // x is secret; the importer makes the exponent a public constant, whose
  // one value for all elements says which products compute the power.
  const std::vector<double> &ev = e->constData().f;
  double n = ev.empty() ? 0.0 : ev[0];
  bool uniform = isPublicConstant(e) && !e->constData().elided && !ev.empty() &&
                 llvm::all_of(ev, [&](double d) { return d == n; });
  if (!uniform || (n != 1 && n != 2 && n != 3))
    return unsupported(
        op, uniform ? fmt::format("the exponent {} of a secret base has no "
                                  "protocol: only 1, 2 and 3 do (a Beaver "
                                  "square, then a product); write a higher "
                                  "power as a product of these, and x^0.5 "
                                  "or x^-1 inside LayerNormalization, "
                                  "RMSNorm or softmax",
                                  n)
                    : std::string("the exponent must be one constant for "
                                  "every element"));
  if (n == 1)
    return x;
  llvm::Expected<Value *> sq = create(OpKind::Square, {x});
  if (!sq)
    return sq.takeError();
  llvm::Expected<Value *> x2 = truncate(*sq, x->type().fracBits);
  if (!x2 || n == 2)
    return x2;
  return mulSecret(*x2, x);
}

llvm::Expected<Value *> Lowerer::lowerReduceMax(Op *op, Value *x) {
  const TensorType &t = x->type();
  auto axes = resolveReduceAxes(t.rank(), op->getInts("axes"));
  if (!axes)
    return axes.takeError();
  if (t.rank() == 0 || axes->size() != 1 || axes->front() != t.rank() - 1)
    return unsupported(op, "the maximum of secret values is computed over "
                           "the last axis only; transpose the reduced axis "
                           "last first, or reduce one axis at a time");
  llvm::Expected<Value *> m =
      create(OpKind::MaxMpc, {x}, {{"bits", compareBits()}});
  if (!m || op->getInt("keepdims", 1) != 0)
    return m;
  return create(
      OpKind::Reshape, {*m},
      {{"shape", std::vector<int64_t>(t.shape.begin(), t.shape.end() - 1)}});
}

llvm::Error Lowerer::lowerOp(Op *op) {
  Location loc = op->loc();
  loc.derivedBy = "lower-to-protocols";
  b_.setInsertionPointBefore(op);
  b_.setLoc(loc);
  llvm::SmallVector<Value *, 4> operands(op->operands().begin(),
                                         op->operands().end());
  bool anySecret = llvm::any_of(operands, isSecret);

  int owner = soleOwner(operands);
  llvm::Expected<Value *> result = [&]() -> llvm::Expected<Value *> {
    if (op->kind() == OpKind::Cast &&
        operands[0]->type().elem == op->result()->type().elem)
      return operands[0];
    // The client's own values: party 1 computes in the clear.
    if (owner == 1 && !hasLocalKernel(op->kind()))
      return lowerClear(op, operands);
    switch (op->kind()) {
    case OpKind::Add:
      for (Value *&v : operands)
        v = clampMaskConstant(op, v);
      return create(op->kind(), operands,
                    std::map<std::string, Attr>(op->attrs()));
    case OpKind::Gather:
      if (isSecret(operands[1]))
        return unsupported(op, "gather indices must be public (constants); "
                               "a lookup by the client's token ids is an "
                               "embedding: a Gather from a weight table");
      return create(op->kind(), operands,
                    std::map<std::string, Attr>(op->attrs()));
    case OpKind::Mul:
      if (isPublicConstant(operands[1]))
        return mulByPublic(operands[0], operands[1]);
      if (isPublicConstant(operands[0]))
        return mulByPublic(operands[1], operands[0]);
      if (operands[1]->isWeight())
        return mulByWeight(operands[0], operands[1]);
      if (operands[0]->isWeight())
        return mulByWeight(operands[1], operands[0]);
      if (isSecret(operands[0]) && isSecret(operands[1]))
        return mulSecret(operands[0], operands[1]);
      return unsupported(op, "expected a public, weight or secret factor");
    case OpKind::Div: {
      if (!operands[1]->isConstant())
        return unsupported(op, "division by a secret value is only "
                               "supported inside softmax and layernorm; "
                               "divide by a constant or a model weight, or "
                               "write the normalisation as Softmax or "
                               "LayerNormalization");
      // x / c = x * (1/c); 1/c of a weight is computed here, at compile
      // time, and is a weight too (it goes to the weights file).
      ConstData inv = operands[1]->constData();
      for (double &d : inv.f)
        d = 1.0 / d;
      Value *c = g_.addConstant(g_.uniqueName(operands[1]->name() + ".inv"),
                                operands[1]->type(), inv);
      if (c->isWeight())
        return mulByWeight(operands[0], c);
      return mulByPublic(operands[0], c);
    }
    case OpKind::ReduceMean: {
      llvm::Expected<Value *> sum =
          create(OpKind::ReduceSum, operands,
                 std::map<std::string, Attr>(op->attrs()));
      if (!sum)
        return sum.takeError();
      int64_t n = operands[0]->type().numElements() /
                  std::max<int64_t>(1, (*sum)->type().numElements());
      return mulByScalar(*sum, 1.0 / double(n));
    }
    case OpKind::Linear:
      return lowerLinear(op, operands[0], operands[1],
                         operands.size() > 2 ? operands[2] : nullptr);
    case OpKind::MatMul:
      return lowerMatMul(op);
    case OpKind::Embedding:
      return lowerEmbedding(op);
    case OpKind::MaskBias:
      return create(OpKind::MaskBias, operands,
                    {{"value", maskBiasValue(op->getFloat("value"))},
                     {"frac", int64_t(f_)}});
    case OpKind::Gelu:
    case OpKind::Softmax:
    case OpKind::LayerNorm:
    case OpKind::Tanh:
    case OpKind::Relu:
      return lowerNonlinear(op);
    case OpKind::Where:
      return lowerWhere(op, operands);
    case OpKind::ReduceMax:
      if (anySecret)
        return lowerReduceMax(op, operands[0]);
      [[fallthrough]];
    case OpKind::Pow:
      if (anySecret)
        return lowerPow(op, operands);
      [[fallthrough]];
    default:
      // Local everywhere: rebuilt so result types pick up fixed point.
      if (hasLocalKernel(op->kind()))
        return create(op->kind(), operands,
                      std::map<std::string, Attr>(op->attrs()));
      if (!anySecret)
        return unsupported(op, "a public op should have been folded");
      return unsupported(op, "on secret values the frontend recognises this "
                             "op only inside a pattern (GeLU, softmax, "
                             "layernorm); compute it from the client's input "
                             "or constants alone (then the client computes "
                             "it in the clear), or use an activation mpcc "
                             "supports ('mpcc ops' lists them)");
    }
  }();
  if (!result)
    return result.takeError();
  g_.replaceAllUsesWith(op->result(), *result);
  g_.eraseOp(op);
  return llvm::Error::success();
}

Value *Lowerer::clampMaskConstant(Op *add, Value *c) {
  if (!c->isConstant() || c->constData().f.empty() ||
      add->result()->users().empty() ||
      !llvm::all_of(add->result()->users(),
                    [](const Op *u) { return u->kind() == OpKind::Softmax; }))
    return c;
  const std::vector<double> &f = c->constData().f;
  auto isFill = [](double v) { return v <= -rt::kSoftmaxMaskBias; };
  if (!llvm::any_of(f, isFill) ||
      !llvm::all_of(f, [&](double v) { return v == 0 || isFill(v); }))
    return c;
  ConstData clamped = c->constData();
  for (double &v : clamped.f)
    v = maskBiasValue(v);
  return g_.addConstant(g_.uniqueName(c->name() + ".mask"), c->type(),
                        std::move(clamped));
}

/// Whether \p x is a sum with an attention-mask bias among its terms (a
/// mask_bias op, or a public constant at or below half the mask bias),
/// looking through \p depth nested additions.
static bool addsMaskBias(const Value *x, int depth = 3) {
  const Op *def = x->definingOp();
  if (!def || def->kind() != OpKind::Add || depth == 0)
    return false;
  for (const Value *term : def->operands()) {
    const Op *t = term->definingOp();
    if (t && t->kind() == OpKind::MaskBias)
      return true;
    if (isPublicConstant(term) &&
        llvm::any_of(term->constData().f,
                     [](double v) { return v <= -rt::kSoftmaxMaskBias / 2; }))
      return true;
    if (addsMaskBias(term, depth - 1))
      return true;
  }
  return false;
}

llvm::Expected<rt::Approximation> Lowerer::chooseApprox(Op *op) {
  rt::Approximation a = approxOf(*op, ctx_.options);
  // The runtime says whether the entry runs on this op's rows: the plan it
  // would otherwise refuse is never written.
  const TensorType &in = op->operand(0)->type();
  if (llvm::Error e = rt::validateApprox(a, f_, rangeBits_, in.shape,
                                         ctx_.options.exactTruncation)) {
    const rt::ApproxInfo &info = rt::approxInfo(a);
    std::string kind = rt::approxKindName(info.kind).str();
    return unsupported(
        op,
        fmt::format("{} does not run on its input {} ({}); choose another "
                    "--approx {}=NAME for it (`mpcc compile --approx "
                    "list`)",
                    info.name, in.str(), llvm::toString(std::move(e)), kind));
  }
  if (modelForm(*op) || !rt::approxInfo(a).needsTraining)
    return a;
  UntrainedUse &use = untrained_[a];
  use.nodes.push_back(op->sourceNode());
  if (op->kind() == OpKind::Softmax && addsMaskBias(op->operand(0)))
    ++use.masked;
  return a;
}

void Lowerer::warnUntrained() {
  for (const auto &[a, use] : untrained_) {
    const rt::ApproxInfo &info = rt::approxInfo(a);
    std::string kind = rt::approxKindName(info.kind).str();
    std::string msg = fmt::format(
        "{} ({}) replaces {} {} op(s) the model computes exactly (first "
        "'{}'): it is a different function, right only for a model trained "
        "(distilled) with it, so the outputs will not match this model's; "
        "use --approx {}={} or a distilled model",
        info.name, info.source, use.nodes.size(), kind, use.nodes.front(), kind,
        rt::approxInfo(rt::defaultApprox(info.kind)).shortName);
    if (use.masked)
      msg += fmt::format(
          ". {} of them add an attention-mask bias ({:g}) to their input, "
          "which {} does not cancel: masked positions get the largest "
          "weights",
          use.masked, -rt::kSoftmaxMaskBias, info.name);
    ctx_.warn({}, msg);
  }
}

llvm::Error Lowerer::run() {
  // Lowering replaces the values behind outputs; keep their (ONNX) names.
  std::vector<std::string> outputNames;
  for (unsigned i = 0; i < g_.outputs().size(); ++i)
    outputNames.push_back(g_.outputName(i).str());
  convertLeafTypes();
  std::vector<Op *> work;
  for (auto &op : g_.ops())
    work.push_back(op.get());
  for (Op *op : work)
    if (llvm::Error e = lowerOp(op))
      return e;
  // Outputs are revealed to the client (or to both parties) unless they
  // see them already (a public value, the client's own): a shared value,
  // or one of party 0's (computed from model values alone).
  b_.setInsertionPointToEnd();
  int to = ctx_.options.revealTo;
  for (unsigned i = 0; i < g_.outputs().size(); ++i) {
    Value *out = g_.outputs()[i];
    const TensorType &t = out->type();
    if (t.vis == Vis::Public || (to >= 0 && t.isPrivateTo(to)))
      continue;
    Location loc;
    loc.onnxNode = out->name();
    loc.derivedBy = "lower-to-protocols";
    b_.setLoc(loc);
    llvm::Expected<Value *> r =
        create(OpKind::Reveal, {out}, {{"to", int64_t(to)}});
    if (!r)
      return r.takeError();
    (*r)->setName(outputNames[i]);
    g_.setOutput(i, *r);
  }
  // A value lowering replaced (a slice the client computes) has no name.
  g_.setOutputs(std::vector<Value *>(g_.outputs()), outputNames);
  g_.removeDeadConstants();
  warnUntrained();
  return llvm::Error::success();
}

namespace {
class LowerToProtocolsPass : public Pass {
public:
  bool lowers() const override { return true; }
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    if (llvm::Error e = Lowerer(g, ctx).run())
      return e;
    return true;
  }
};
} // namespace

std::unique_ptr<Pass> mpc::createLowerToProtocolsPass() {
  return std::make_unique<LowerToProtocolsPass>();
}
