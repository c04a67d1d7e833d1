//===- passes/NarrowRings.cpp - Openings in the ring each value needs -----===//
//
// The runtime can open a truncation in a ring of L < 64 bits, and the
// products feeding it mod 2^L (runtime/protocols/Narrow.h): fewer bytes
// for the same values. This pass picks L:
//
//   trunc %z {bits}            ring_bits = rt::truncRingBits(rangeBits +
//     frac(%z), bits): %z is a product whose real value is an activation,
//     |v| < 2^rangeBits (the range --calibrate checks), so |%z| <
//     2^(rangeBits + frac) at its scale. A smaller ring_bits an earlier
//     pass set (fold-score-scale) is kept.
//   gelu.mpc {trunc_bits}      reads its input in rt::geluInputRingBits.
//   matmul.beaver, linear.pw   ring_bits = the widest ring any use of a
//     result needs, looking through adds, subtractions, negations, public
//     products and layout ops (all commute with reduction mod 2^L); a use
//     by anything else, or a graph output, needs all 64 bits.
//
// Attributes are only set below 64 bits, so a plan without them is the
// full-ring plan.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "runtime/protocols/Nonlinear.h"
#include "runtime/protocols/Trunc.h"

#include <algorithm>
#include <map>

using namespace mpc;

namespace {

constexpr int64_t kFullRing = rt::kFullRingBits;

/// Ops through which a use mod 2^L needs the operands only mod 2^L.
bool commutesWithReduction(OpKind k) {
  switch (k) {
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Neg:
  case OpKind::MulPublic:
  case OpKind::Reshape:
  case OpKind::Transpose:
    return true;
  default:
    return false;
  }
}

class NarrowRingsPass : public Pass {
public:
  llvm::StringRef name() const override { return "narrow-rings"; }
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    bool changed = false;
    int range = ctx.options.rangeBits;
    for (Op *t : g.opsOfKind(OpKind::Trunc)) {
      int bits = int(t->getInt("bits"));
      int64_t ring =
          rt::truncRingBits(range + t->operand(0)->type().fracBits, bits);
      // An earlier pass may know better (fold-score-scale: values 2^k
      // smaller at k more bits), within what the truncation needs.
      ring =
          std::max<int64_t>(std::min(ring, t->getInt("ring_bits", kFullRing)),
                            rt::truncRingBits(0, bits));
      changed |= setRing(t, ring);
    }
    // Users come after their producers: one backward sweep settles every
    // value's need.
    std::map<const Value *, int64_t> need;
    for (const Value *v : g.outputs())
      need[v] = kFullRing;
    for (auto it = g.ops().rbegin(); it != g.ops().rend(); ++it) {
      Op *op = it->get();
      int64_t widest = 0;
      for (Value *r : op->results())
        widest = std::max(widest, needOf(need, r));
      if (op->kind() == OpKind::MatMulBeaver || op->kind() == OpKind::LinearPw)
        changed |= setRing(op, widest);
      int64_t operandNeed = inputNeed(*op, widest);
      for (Value *operand : op->operands()) {
        int64_t &slot = need[operand];
        slot = std::max(slot, operandNeed);
      }
    }
    return changed;
  }

private:
  static int64_t needOf(const std::map<const Value *, int64_t> &need,
                        const Value *v) {
    auto it = need.find(v);
    return it == need.end() ? 0 : it->second;
  }

  /// The ring \p op needs its operands in, given its results' need.
  static int64_t inputNeed(const Op &op, int64_t resultNeed) {
    if (op.kind() == OpKind::Trunc)
      return op.getInt("ring_bits", kFullRing);
    if (op.kind() == OpKind::GeluMpc && op.hasAttr("trunc_bits"))
      return rt::geluInputRingBits(
          int(op.getInt("compare_bits", rt::kFullCompareBits)),
          int(op.getInt("trunc_bits")));
    if (commutesWithReduction(op.kind()))
      return resultNeed;
    return kFullRing;
  }

  static bool setRing(Op *op, int64_t ring) {
    if (ring >= kFullRing || ring <= 0) {
      bool had = op->hasAttr("ring_bits");
      op->removeAttr("ring_bits");
      return had;
    }
    if (op->getInt("ring_bits", kFullRing) == ring)
      return false;
    op->setAttr("ring_bits", Attr(ring));
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> mpc::createNarrowRingsPass() {
  return std::make_unique<NarrowRingsPass>();
}
