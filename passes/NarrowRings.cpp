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
//   matmul.beaver, linear.pw   ring_bits = the widest ring any use of a
//     result needs, by the runtime's rule (Kernel::operandRing, Narrow.h):
//     through adds, subtractions, negations, public products and layout
//     ops (they commute with reduction mod 2^L) to truncations and to GeLU's
//     own input truncation; a use by anything else, or a graph output,
//     needs all 64 bits. The plan reader re-checks the same rule.
//
// Attributes are only set below 64 bits, so a plan without them is the
// full-ring plan.
//
//===----------------------------------------------------------------------===//

#include "passes/OpKernel.h"
#include "passes/Passes.h"
#include "runtime/protocols/Narrow.h"
#include "runtime/protocols/Trunc.h"

#include <algorithm>
#include <map>

using namespace mpc;

namespace {

constexpr int64_t kFullRing = rt::kFullRingBits;

class NarrowRingsPass : public Pass {
public:
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
      if (const rt::Kernel *k = opKernelOrNull(op->kind());
          k && k->narrowsResults())
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
    const rt::Kernel *k = opKernelOrNull(op.kind());
    if (!k)
      return kFullRing;
    rt::OperandRing r = k->operandRing([&](llvm::StringRef name, int64_t def) {
      return op.getInt(name, def);
    });
    switch (r.kind) {
    case rt::OperandRing::Commutes:
      return resultNeed;
    case rt::OperandRing::Reads:
      return r.bits;
    case rt::OperandRing::Full:
      break;
    }
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
