//===- runtime/plan/ArithKernels.cpp - Opening, products, truncation ------===//
//
// The interactive arithmetic kernels: reveal, Beaver products (element-wise,
// square, shared x shared matmul), the private-weight products of DESIGN.md
// §5 (pw_linear, pw_mul; their weights are set up once per session as
// W - B), the embedding lookup and dealer-assisted truncation. Each wraps
// the protocol of runtime/protocols/Arith.h, Embedding.h or Trunc.h and
// states that protocol's cost (the lookup's protocol runs before the
// offline phase: its op hands the result on). Non-shared operands enter in
// share form.
//
//===----------------------------------------------------------------------===//
#include "runtime/Dpf.h"
#include "runtime/plan/KernelUtil.h"
#include "runtime/protocols/Embedding.h"
#include "runtime/protocols/Trunc.h"

using namespace mpc;
using namespace mpc::rt;

namespace {

/// Checks one input, one output of the same shape, a secret operand and
/// an output that is shared.
llvm::Error checkSecretUnary(const OpDesc &op, llvm::ArrayRef<AttrSpec> attrs) {
  if (llvm::Error e = checkArity(op, 1, 1))
    return e;
  if (llvm::Error e = checkAttrs(op, attrs))
    return e;
  if (llvm::Error e = checkSecret(op, *op.in[0], inName(0)))
    return e;
  if (llvm::Error e = checkVis(op, *op.out[0], {Vis::Shared}, outName(0)))
    return e;
  return checkShape(op, *op.out[0], op.in[0]->shape, outName(0));
}

constexpr AttrSpec kRingBitsAttr{"ring_bits", AttrKind::Int, false};

/// The optional "ring_bits" of a product or truncation (Narrow.h): its
/// openings are mod 2^ring_bits; at least \p least bits.
llvm::Error checkRingBits(const OpDesc &op, int64_t least) {
  int64_t ring = op.attrInt("ring_bits", kFullRingBits);
  if (ring < least || ring > kFullRingBits)
    return opError(op, "ring_bits {} must be in [{}, {}]", ring, least,
                   kFullRingBits);
  return llvm::Error::success();
}

int ringBitsOf(const OpDesc &op) {
  return int(op.attrInt("ring_bits", kFullRingBits));
}

std::vector<RingTensor> one(RingTensor t) {
  std::vector<RingTensor> v;
  v.push_back(std::move(t));
  return v;
}

class RevealKernel final : public Kernel {
public:
  /// In a narrow ring it opens the low ring_bits bits only (Narrow.h).
  OperandRing operandRing(RingAttrFn attr) const override {
    int ring = int(attr("ring_bits", kFullRingBits));
    if (ring >= kFullRingBits)
      return {};
    return {OperandRing::Reads, ring};
  }
  llvm::Error check(const OpDesc &op) const override {
    if (llvm::Error e = checkArity(op, 1, 1))
      return e;
    if (llvm::Error e = checkAttrs(op, {{"to", AttrKind::Int, true},
                                        kRingBitsAttr,
                                        {"trunc_bits", AttrKind::Int}}))
      return e;
    int64_t to = op.attrInt("to");
    if (to != 0 && to != 1 && to != kToBoth)
      return opError(op, "'to' is {}; expected 0, 1 or -1 (both)", to);
    if (llvm::Error e = checkSecret(op, *op.in[0], inName(0)))
      return e;
    Vis want = to == 0 ? Vis::Private0 : to == 1 ? Vis::Private1 : Vis::Public;
    if (llvm::Error e = checkVis(op, *op.out[0], {want}, outName(0)))
      return e;
    if (llvm::Error e = checkShape(op, *op.out[0], op.in[0]->shape, outName(0)))
      return e;
    int64_t bits = op.attrInt("trunc_bits", 0);
    if (bits < 0 || bits > op.in[0]->frac)
      return opError(op, "trunc_bits {} must be in [0, {}] (the input's frac)",
                     bits, op.in[0]->frac);
    // The sign bit above the truncated bits.
    if (llvm::Error e = checkRingBits(op, std::max<int64_t>(2, bits + 1)))
      return e;
    return checkFrac(op, *op.out[0], op.in[0]->frac - int(bits), outName(0));
  }
  Cost cost(const OpDesc &op) const override {
    return revealCost(op.in[0]->numElements(), int(op.attrInt("to")),
                      ringBitsOf(op));
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    RingTensor y = co_await reveal(p, shareForm(*op.in[0], *in[0], p.id()),
                                   int(op.attrInt("to")), ringBitsOf(op),
                                   int(op.attrInt("trunc_bits", 0)));
    co_return one(std::move(y));
  }
};

class MulKernel final : public Kernel {
public:
  llvm::Error check(const OpDesc &op) const override {
    if (llvm::Error e = checkArity(op, 2, 1))
      return e;
    if (llvm::Error e = checkAttrs(op, {}))
      return e;
    for (int i = 0; i < 2; ++i)
      if (llvm::Error e = checkSecret(op, *op.in[i], inName(i)))
        return e;
    if (llvm::Error e = checkShape(op, *op.in[1], op.in[0]->shape, inName(1)))
      return e;
    if (llvm::Error e = checkVis(op, *op.out[0], {Vis::Shared}, outName(0)))
      return e;
    if (llvm::Error e = checkShape(op, *op.out[0], op.in[0]->shape, outName(0)))
      return e;
    return checkFrac(op, *op.out[0], op.in[0]->frac + op.in[1]->frac,
                     outName(0));
  }
  Cost cost(const OpDesc &op) const override {
    return mulCost(op.in[0]->numElements());
  }
  std::any deal(Corr &c, const OpDesc &op, Session &s) const override {
    return dealMul(c, op.in[0]->shape);
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    RingTensor y = co_await mul(p, shareForm(*op.in[0], *in[0], p.id()),
                                shareForm(*op.in[1], *in[1], p.id()),
                                std::any_cast<const MulTriple &>(m));
    co_return one(std::move(y));
  }
};

class SquareKernel final : public Kernel {
public:
  llvm::Error check(const OpDesc &op) const override {
    if (llvm::Error e = checkSecretUnary(op, {}))
      return e;
    return checkFrac(op, *op.out[0], 2 * op.in[0]->frac, outName(0));
  }
  Cost cost(const OpDesc &op) const override {
    return squareCost(op.in[0]->numElements());
  }
  std::any deal(Corr &c, const OpDesc &op, Session &s) const override {
    return dealSquare(c, op.in[0]->shape);
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    RingTensor y = co_await square(p, shareForm(*op.in[0], *in[0], p.id()),
                                   std::any_cast<const SquarePair &>(m));
    co_return one(std::move(y));
  }
};

class MatMulKernel final : public Kernel {
public:
  /// A narrow product: right mod 2^ring_bits only (Narrow.h).
  bool narrowsResults() const override { return true; }
  llvm::Error check(const OpDesc &op) const override {
    if (llvm::Error e = checkArity(op, 2, 1))
      return e;
    if (llvm::Error e = checkAttrs(op, {kRingBitsAttr}))
      return e;
    if (llvm::Error e = checkRingBits(op, 1))
      return e;
    const ValueDesc &x = *op.in[0], &y = *op.in[1], &z = *op.out[0];
    for (int i = 0; i < 2; ++i)
      if (llvm::Error e = checkSecret(op, *op.in[i], inName(i)))
        return e;
    size_t r = x.shape.size();
    if (r < 2 || y.shape.size() != r ||
        llvm::ArrayRef<int64_t>(x.shape).drop_back(2) !=
            llvm::ArrayRef<int64_t>(y.shape).drop_back(2) ||
        x.shape[r - 1] != y.shape[r - 2])
      return opError(op,
                     "cannot multiply {} by {}: expected [..., m, k] and "
                     "[..., k, n] with equal batch dimensions",
                     shapeString(x.shape), shapeString(y.shape));
    Shape out = x.shape;
    out.back() = y.shape.back();
    if (llvm::Error e = checkVis(op, z, {Vis::Shared}, outName(0)))
      return e;
    if (llvm::Error e = checkShape(op, z, out, outName(0)))
      return e;
    return checkFrac(op, z, x.frac + y.frac, outName(0));
  }
  Cost cost(const OpDesc &op) const override {
    return matmulSharedCost(op.in[0]->shape, op.in[1]->shape, ringBitsOf(op));
  }
  std::any deal(Corr &c, const OpDesc &op, Session &s) const override {
    return dealMatMul(c, op.in[0]->shape, op.in[1]->shape);
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    RingTensor y = co_await matmulShared(
        p, shareForm(*op.in[0], *in[0], p.id()),
        shareForm(*op.in[1], *in[1], p.id()),
        std::any_cast<const MatTriple &>(m), ringBitsOf(op));
    co_return one(std::move(y));
  }
};

class PwLinearKernel final : public Kernel {
public:
  /// A narrow product: right mod 2^ring_bits only (Narrow.h).
  bool narrowsResults() const override { return true; }
  llvm::Error check(const OpDesc &op) const override {
    if (op.in.size() < 2 || op.out.size() != op.in.size() - 1)
      return opError(op,
                     "takes an input and n >= 1 weights with one output per "
                     "weight; the plan gives {} inputs and {} outputs",
                     op.in.size(), op.out.size());
    if (llvm::Error e = checkAttrs(op, {kRingBitsAttr}))
      return e;
    if (llvm::Error e = checkRingBits(op, 1))
      return e;
    const ValueDesc &x = *op.in[0];
    if (llvm::Error e = checkSecret(op, x, inName(0)))
      return e;
    if (x.shape.size() < 2)
      return opError(op, "{} has shape {}: expected rank >= 2 [..., m, k]",
                     inName(0), shapeString(x.shape));
    for (size_t j = 1; j < op.in.size(); ++j) {
      const ValueDesc &w = *op.in[j], &y = *op.out[j - 1];
      if (llvm::Error e = checkWeight(op, w, inName(j)))
        return e;
      if (w.shape.size() != 2 || w.shape[0] != x.shape.back())
        return opError(op, "weight {} has shape {}: expected [{}, n]",
                       inName(j), shapeString(w.shape), x.shape.back());
      Shape out = x.shape;
      out.back() = w.shape[1];
      if (llvm::Error e = checkVis(op, y, {Vis::Shared}, outName(j - 1)))
        return e;
      if (llvm::Error e = checkShape(op, y, out, outName(j - 1)))
        return e;
      if (llvm::Error e = checkFrac(op, y, x.frac + w.frac, outName(j - 1)))
        return e;
    }
    return llvm::Error::success();
  }
  static std::vector<Shape> weightShapes(const OpDesc &op) {
    std::vector<Shape> s;
    for (size_t j = 1; j < op.in.size(); ++j)
      s.push_back(op.in[j]->shape);
    return s;
  }
  Cost cost(const OpDesc &op) const override {
    return pwLinearCost(op.in[0]->shape, weightShapes(op), ringBitsOf(op));
  }
  std::vector<const ValueDesc *> setupWeights(const OpDesc &op) const override {
    return {op.in.begin() + 1, op.in.end()};
  }
  std::any deal(Corr &c, const OpDesc &op, Session &s) const override {
    std::vector<int64_t> ids;
    for (size_t j = 1; j < op.in.size(); ++j)
      ids.push_back(op.in[j]->id);
    return dealPwLinear(c, s.masks, op.in[0]->shape, ids, weightShapes(op));
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    return pwLinear(p, shareForm(*op.in[0], *in[0], p.id()), in.drop_front(),
                    std::any_cast<const PwLinearMat &>(m), ringBitsOf(op));
  }
};

class EmbedLookupKernel final : public Kernel {
public:
  llvm::Error check(const OpDesc &op) const override {
    if (llvm::Error e = checkArity(op, 2, 1))
      return e;
    if (llvm::Error e = checkAttrs(op, {}))
      return e;
    const ValueDesc &ids = *op.in[0], &t = *op.in[1], &y = *op.out[0];
    if (!ids.isInt || ids.vis != Vis::Private1 ||
        ids.source != ValueSource::Input)
      return opError(op,
                     "{} ({}) must be integer ids that are a plan input "
                     "of party 1 (the lookups run before the online "
                     "phase)",
                     inName(0), ids.describe());
    if (llvm::Error e = checkWeight(op, t, inName(1)))
      return e;
    if (t.shape.size() != 2 || t.shape[0] < 1 ||
        uint64_t(t.shape[0]) > kDpfMaxDomain)
      return opError(op,
                     "table {} has shape {}: expected [V, d] with 1 <= V "
                     "<= 2^40",
                     inName(1), shapeString(t.shape));
    Shape out = ids.shape;
    out.push_back(t.shape[1]);
    if (llvm::Error e = checkVis(op, y, {Vis::Shared}, outName(0)))
      return e;
    if (llvm::Error e = checkShape(op, y, out, outName(0)))
      return e;
    return checkFrac(op, y, t.frac, outName(0));
  }
  Cost cost(const OpDesc &op) const override {
    const Shape &t = op.in[1]->shape;
    return embedLookupCost(op.in[0]->shape, t[0], t[1]);
  }
  std::vector<const ValueDesc *> setupWeights(const OpDesc &op) const override {
    return {op.in[1]};
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    return handOn(op.index, s);
  }

private:
  static Proto<OpOutputs> handOn(int index, Session &s) {
    auto it = s.lookups.find(index);
    assert(it != s.lookups.end() && "the lookups ran before the online phase");
    OpOutputs out;
    out.push_back(std::move(it->second));
    s.lookups.erase(it);
    co_return out;
  }
};

class PwMulKernel final : public Kernel {
public:
  llvm::Error check(const OpDesc &op) const override {
    if (llvm::Error e = checkArity(op, 2, 1))
      return e;
    if (llvm::Error e = checkAttrs(op, {}))
      return e;
    const ValueDesc &x = *op.in[0], &w = *op.in[1], &y = *op.out[0];
    if (llvm::Error e = checkSecret(op, x, inName(0)))
      return e;
    if (llvm::Error e = checkWeight(op, w, inName(1)))
      return e;
    if (!broadcastsTo(w.shape, x.shape))
      return opError(op, "weight shape {} does not broadcast to {}",
                     shapeString(w.shape), shapeString(x.shape));
    if (llvm::Error e = checkVis(op, y, {Vis::Shared}, outName(0)))
      return e;
    if (llvm::Error e = checkShape(op, y, x.shape, outName(0)))
      return e;
    return checkFrac(op, y, x.frac + w.frac, outName(0));
  }
  Cost cost(const OpDesc &op) const override {
    return pwMulCost(op.in[0]->shape, op.in[1]->shape);
  }
  std::vector<const ValueDesc *> setupWeights(const OpDesc &op) const override {
    return {op.in[1]};
  }
  std::any deal(Corr &c, const OpDesc &op, Session &s) const override {
    return dealPwMul(c, s.masks, op.in[0]->shape, op.in[1]->id,
                     op.in[1]->shape);
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    RingTensor y = co_await pwMul(p, shareForm(*op.in[0], *in[0], p.id()),
                                  p.id() == 0 ? in[1] : nullptr,
                                  std::any_cast<const PwMulMat &>(m));
    co_return one(std::move(y));
  }
};

class TruncKernel final : public Kernel {
public:
  bool truncates() const override { return true; }
  /// Reads its input mod 2^ring_bits (Narrow.h).
  OperandRing operandRing(RingAttrFn attr) const override {
    return {OperandRing::Reads, int(attr("ring_bits", kFullRingBits))};
  }
  llvm::Error check(const OpDesc &op) const override {
    if (llvm::Error e = checkSecretUnary(
            op,
            {{"bits", AttrKind::Int, true}, kRingBitsAttr, kExactTruncAttr}))
      return e;
    int64_t bits = op.attrInt("bits");
    if (bits < 0 || bits > op.in[0]->frac)
      return opError(op, "bits {} must be in [0, {}] (the input's frac)", bits,
                     op.in[0]->frac);
    // The opening needs the bias bit and the sign bit above the bits.
    if (llvm::Error e = checkRingBits(op, std::max<int64_t>(3, bits + 2)))
      return e;
    return checkFrac(op, *op.out[0], op.in[0]->frac - int(bits), outName(0));
  }
  Cost cost(const OpDesc &op) const override {
    if (exactTrunc(op))
      return truncExactCost(op.in[0]->numElements(), int(op.attrInt("bits")),
                            ringBitsOf(op));
    return truncCost(op.in[0]->numElements(), ringBitsOf(op));
  }
  std::any deal(Corr &c, const OpDesc &op, Session &s) const override {
    int bits = int(op.attrInt("bits"));
    if (exactTrunc(op))
      return dealTruncExact(c, op.in[0]->shape, bits, ringBitsOf(op));
    return dealTrunc(c, op.in[0]->shape, bits, ringBitsOf(op));
  }
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in, std::any &m,
                       Session &s) const override {
    RingTensor x = shareForm(*op.in[0], *in[0], p.id());
    int bits = int(op.attrInt("bits"));
    RingTensor y;
    // (if/else: GCC 12 miscompiles co_await inside a conditional operator.)
    if (exactTrunc(op))
      y = co_await truncateExact(p, std::move(x), bits,
                                 std::any_cast<const ExactTruncMat &>(m),
                                 ringBitsOf(op));
    else
      y = co_await truncate(p, std::move(x), bits,
                            std::any_cast<const TruncPair &>(m),
                            ringBitsOf(op));
    co_return one(std::move(y));
  }
};

} // namespace

#define MPC_ARITH_KERNEL(Id, Name) MPC_DEFINE_KERNEL(Id, Name)
#include "runtime/plan/Kernels.def"
