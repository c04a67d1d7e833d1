//===- passes/SplitHeads.cpp - Approximations per attention head ----------===//
//
// MPCViT's heterogeneous attention: some heads of a layer keep an accurate
// softmax, others run a cheap one (ReLU or scaling attention). A softmax
// over the last axis of [batch, heads, queries, keys] computes each head's
// rows on their own, so its heads can run different approximations:
//
//   %p = softmax %s                       (heads 0-11; the rule
//                                          softmax=scaling@NODE#0-5)
//     ->
//   %a = slice %s {axes = [1], starts = [0], ends = [6]}
//   %pa = softmax %a {heads = [0, 5]}     (softmax.scaling)
//   %b = slice %s {axes = [1], starts = [6], ends = [12]}
//   %pb = softmax %b {heads = [6, 11]}    (the node's other choice)
//   %p' = concat %pa, %pb {axis = 1}
//
// one softmax per run of consecutive heads that share a choice
// (headApproxes); slices and the concatenation are local on shares. A
// softmax whose heads all share one choice keeps its shape and only gets
// `heads` = [0, H-1], so that approxOf reads the head rules for it too. It
// runs before infer-visibility (the new ops get their visibility there)
// and lower-to-protocols (which reads `heads` through approxOf).
//
//===----------------------------------------------------------------------===//

#include "passes/ApproxChoice.h"
#include "passes/Passes.h"

#include "ir/Builder.h"
#include "ir/IR.h"

using namespace mpc;

namespace {

class SplitHeadsPass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    bool changed = false;
    for (Op *op : g.opsOfKind(OpKind::Softmax)) {
      if (op->hasAttr("heads"))
        continue;
      std::vector<rt::Approximation> perHead = headApproxes(*op, ctx.options);
      if (perHead.empty())
        continue;
      auto heads = int64_t(perHead.size());
      // Runs [first, last] of heads with one choice.
      std::vector<std::pair<int64_t, int64_t>> runs;
      for (int64_t h = 0; h < heads; ++h)
        if (h == 0 || perHead[h] != perHead[h - 1])
          runs.push_back({h, h});
        else
          runs.back().second = h;
      changed = true;
      if (runs.size() == 1) {
        op->setAttr("heads", std::vector<int64_t>{0, heads - 1});
        continue;
      }
      Builder b(g);
      b.setInsertionPointBefore(op);
      b.setLoc(op->loc());
      std::vector<Value *> parts;
      for (auto [first, last] : runs) {
        llvm::Expected<Op *> slice =
            b.create(OpKind::Slice, {op->operand(0)},
                     {{"starts", std::vector<int64_t>{first}},
                      {"ends", std::vector<int64_t>{last + 1}},
                      {"axes", std::vector<int64_t>{1}},
                      {"steps", std::vector<int64_t>{1}}});
        if (!slice)
          return slice.takeError();
        std::map<std::string, Attr> attrs = op->attrs();
        attrs["heads"] = std::vector<int64_t>{first, last};
        llvm::Expected<Op *> part =
            b.create(OpKind::Softmax, {(*slice)->result(0)}, attrs);
        if (!part)
          return part.takeError();
        parts.push_back((*part)->result(0));
      }
      llvm::Expected<Op *> joined =
          b.create(OpKind::Concat, parts, {{"axis", int64_t(1)}});
      if (!joined)
        return joined.takeError();
      g.replaceAllUsesWith(op->result(0), (*joined)->result(0));
      g.eraseOp(op);
    }
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> mpc::createSplitHeadsPass() {
  return std::make_unique<SplitHeadsPass>();
}
