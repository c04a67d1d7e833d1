//===- passes/HoistSelections.cpp - Compute only the rows outputs read ----===//
//
// A classifier reads one token of its encoder's last layer: BERT's pooler
// and a ViT's head take hidden[:, 0] (a Gather of index 0 on the sequence
// axis). Everything row-wise before that selection is computed for all
// 128 tokens and then thrown away: the last layer's query projection,
// scores, softmax, attention output, LayerNorms and feed-forward network
// (its GeLU). Under MPC that is most of a layer's bytes and rounds' work.
// This pass moves the selection above the ops that feed it, one op at a
// time, while the op computes each selected row from the same rows of its
// operands:
//
//   %h = layernorm %x, @g, @b             %s = slice %x {axes=[1], starts=[0],
//   %c = gather %h, 0 {axis = 1}    ->                   ends=[1]}
//                                         %h = layernorm %s, @g, @b
//                                         %c = reshape %h {shape=[B, D]}
//
// A selection (a Slice on one axis with a positive step, or a Gather of one
// constant index, which becomes such a Slice and a Reshape) moves above
// its operand's producer when every use of that value is the same
// selection (else the value is still needed whole, and the producer
// stays), the value is not a graph output, and the producer is
//   - element-wise (operands broadcast: an operand's axis of size 1, or one
//     it does not have, is not sliced),
//   - linear / matmul on a row or batch axis (the other operand whole), or
//     on the output-column axis (the weight's columns; constants only),
//   - layernorm / softmax on an axis they do not normalise over,
//   - transpose (the permuted axis), reshape (when the axis is kept whole,
//     with the same elements before and after it), concat on another axis,
//     or a slice of other axes (of higher axes only, when it is a
//     selection itself).
// Selections of constants are folded into new constants (a weight stays a
// weight). Attention's keys and values stay whole: they are the selected
// query's reads. The result is the same function, value for value (the
// float interpreter agrees exactly); only fewer elements are computed.
// It runs first, on semantic ops, so everything after it (split-heads,
// lowering, mask sharing) sees the smaller ops.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "ir/Builder.h"
#include "ir/IR.h"
#include "ir/ShapeUtils.h"

#include "llvm/ADT/STLExtras.h"

#include <fmt/format.h>

#include <numeric>
#include <optional>

using namespace mpc;

namespace {

/// Elements start, start + step, ... (count of them) of one axis; every
/// other axis whole.
struct Selection {
  int64_t axis = 0, start = 0, step = 1, count = 0;
  bool operator==(const Selection &o) const {
    return axis == o.axis && start == o.start && step == o.step &&
           count == o.count;
  }
};

/// What slice op \p slice takes of each axis of its operand (none when
/// its attributes do not resolve: the verifier reports those).
std::optional<llvm::SmallVector<SliceAxis, 4>> sliceAxesOf(const Op &slice) {
  auto axes = resolveSlice(slice.operand(0)->type().shape,
                           slice.getInts("starts"), slice.getInts("ends"),
                           slice.getInts("axes"), slice.getInts("steps"));
  if (!axes) {
    llvm::consumeError(axes.takeError());
    return std::nullopt;
  }
  return std::move(*axes);
}

/// Whether \p s keeps all \p size elements of its axis, in order.
bool isWhole(const SliceAxis &s, int64_t size) {
  return s.start == 0 && s.step == 1 && s.count == size;
}

/// \p slice's selection when it selects on exactly one axis, forwards.
std::optional<Selection> selectionOf(const Op &slice) {
  if (slice.kind() != OpKind::Slice)
    return std::nullopt;
  auto axes = sliceAxesOf(slice);
  if (!axes)
    return std::nullopt;
  std::optional<Selection> sel;
  for (int64_t a = 0; a < int64_t(axes->size()); ++a) {
    const SliceAxis &s = (*axes)[a];
    if (isWhole(s, slice.operand(0)->type().shape[a]))
      continue;
    if (sel || s.step < 1 || s.count < 1)
      return std::nullopt;
    sel = Selection{a, s.start, s.step, s.count};
  }
  return sel;
}

std::map<std::string, Attr> sliceAttrs(const Selection &s) {
  return {{"axes", std::vector<int64_t>{s.axis}},
          {"starts", std::vector<int64_t>{s.start}},
          {"ends", std::vector<int64_t>{s.start + (s.count - 1) * s.step + 1}},
          {"steps", std::vector<int64_t>{s.step}}};
}

/// How the selection moves above one producer: the axis each operand is
/// selected on (none: used whole) and the producer's new attributes.
struct Hoist {
  std::vector<std::optional<int64_t>> operandAxis;
  std::map<std::string, Attr> attrs;
};

int64_t rankOf(const Value *v) { return v->type().rank(); }

/// The operand axis numpy broadcasting aligns with result axis \p axis of a
/// rank-\p resultRank result, when the operand has it and it is not 1.
std::optional<int64_t> broadcastAxis(const Value *operand, int64_t axis,
                                     int64_t resultRank) {
  int64_t a = axis - (resultRank - rankOf(operand));
  if (a < 0 || operand->type().shape[a] == 1)
    return std::nullopt;
  return a;
}

/// Where the result's elements of \p axis come from in a Reshape from
/// \p in to \p out: the input axis of the same size with as many elements
/// before it, when there is one.
std::optional<int64_t> keptAxis(llvm::ArrayRef<int64_t> in,
                                llvm::ArrayRef<int64_t> out, int64_t axis) {
  auto product = [](llvm::ArrayRef<int64_t> s) {
    return std::accumulate(s.begin(), s.end(), int64_t(1),
                           std::multiplies<int64_t>());
  };
  int64_t before = product(out.take_front(axis));
  for (int64_t k = 0; k < int64_t(in.size()); ++k)
    if (in[k] == out[axis] && product(in.take_front(k)) == before)
      return k;
  return std::nullopt;
}

/// How \p sel on \p def's result moves above \p def, if it can.
std::optional<Hoist> planHoist(const Op &def, const Selection &sel) {
  const int64_t a = sel.axis;
  const int64_t r = rankOf(def.result());
  Hoist h;
  h.attrs = def.attrs();
  h.operandAxis.assign(def.numOperands(), std::nullopt);
  auto normalized = [&](llvm::StringRef attr) -> std::optional<int64_t> {
    auto n = normalizeAxis(def.getInt(attr, -1), r);
    if (!n) {
      llvm::consumeError(n.takeError());
      return std::nullopt;
    }
    return *n;
  };
  if (isElementwise(def.kind())) {
    for (unsigned i = 0; i < def.numOperands(); ++i)
      h.operandAxis[i] = broadcastAxis(def.operand(i), a, r);
    return h;
  }
  switch (def.kind()) {
  case OpKind::Linear:
    if (a < r - 1) {
      h.operandAxis[0] = a;
      return h;
    }
    // The output columns: the weight's and bias's, when they are constants.
    for (unsigned i = 1; i < def.numOperands(); ++i) {
      if (!def.operand(i)->isConstant())
        return std::nullopt;
      h.operandAxis[i] = rankOf(def.operand(i)) - 1;
    }
    return h;
  case OpKind::MatMul: {
    const Value *x = def.operand(0), *y = def.operand(1);
    if (rankOf(x) < 2 || rankOf(y) < 2)
      return std::nullopt;
    if (a == r - 2)
      h.operandAxis[0] = rankOf(x) - 2;
    else if (a == r - 1)
      h.operandAxis[1] = rankOf(y) - 1;
    else
      for (unsigned i = 0; i < 2; ++i)
        h.operandAxis[i] = broadcastAxis(def.operand(i), a, r);
    return h;
  }
  case OpKind::LayerNorm: {
    auto from = normalized("axis");
    if (!from || a >= *from)
      return std::nullopt;
    h.operandAxis[0] = a;
    return h;
  }
  case OpKind::Softmax: {
    auto over = normalized("axis");
    if (!over || a == *over || def.hasAttr("heads"))
      return std::nullopt;
    h.operandAxis[0] = a;
    return h;
  }
  case OpKind::Transpose: {
    std::vector<int64_t> perm = def.getInts("perm");
    if (a >= int64_t(perm.size()))
      return std::nullopt;
    h.operandAxis[0] = perm[a];
    return h;
  }
  case OpKind::Reshape: {
    llvm::ArrayRef<int64_t> out = def.result()->type().shape;
    auto k = keptAxis(def.operand(0)->type().shape, out, a);
    if (!k)
      return std::nullopt;
    h.operandAxis[0] = *k;
    std::vector<int64_t> shape(out.begin(), out.end());
    shape[a] = sel.count;
    h.attrs["shape"] = shape;
    return h;
  }
  case OpKind::Concat: {
    auto along = normalized("axis");
    if (!along || a == *along)
      return std::nullopt;
    for (unsigned i = 0; i < def.numOperands(); ++i)
      h.operandAxis[i] = a;
    return h;
  }
  case OpKind::Slice: {
    // A slice of other axes; \p a must be whole in it. Two selections
    // trade places once, the lower axis first, so that they do not
    // trade back.
    if (auto other = selectionOf(def); other && other->axis < a)
      return std::nullopt;
    auto axes = sliceAxesOf(def);
    if (!axes || !isWhole((*axes)[a], def.operand(0)->type().shape[a]))
      return std::nullopt;
    h.operandAxis[0] = a;
    return h;
  }
  default:
    return std::nullopt;
  }
}

class HoistSelectionsPass : public Pass {
public:
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    bool changed = false;
    for (Op *op : g.opsOfKind(OpKind::Gather)) {
      llvm::Expected<bool> made = gatherToSlice(g, op);
      if (!made)
        return made.takeError();
      changed |= *made;
    }
    // Each hoist erases ops: look again from the start after every one.
    for (bool again = true; again;) {
      again = false;
      for (Op *slice : g.opsOfKind(OpKind::Slice)) {
        llvm::Expected<bool> moved = hoist(g, slice);
        if (!moved)
          return moved.takeError();
        if (*moved) {
          changed = again = true;
          break;
        }
      }
    }
    if (changed)
      g.removeDeadConstants(); // constants replaced by their selections
    return changed;
  }

private:
  static bool isOutput(const Graph &g, const Value *v) {
    return llvm::is_contained(g.outputs(), v);
  }

  /// The one selection every use of \p v is, if so.
  static std::optional<Selection> soleSelection(const Graph &g,
                                                const Value *v) {
    if (v->users().empty() || isOutput(g, v))
      return std::nullopt;
    std::optional<Selection> sel;
    for (const Op *user : v->users()) {
      std::optional<Selection> s = selectionOf(*user);
      if (!s || (sel && !(*s == *sel)))
        return std::nullopt;
      sel = s;
    }
    return sel;
  }

  /// How \p s moves above \p v's producer, when it has somewhere to go.
  static std::optional<Hoist> hoistAbove(const Graph &g, const Value *v,
                                         const Selection &s) {
    const Op *def = v->definingOp();
    if (!def || def->numResults() != 1 || isOutput(g, v))
      return std::nullopt;
    return planHoist(*def, s);
  }

  /// A gather of one constant index whose data can be selected earlier:
  /// a slice of that index and a reshape that drops the axis.
  llvm::Expected<bool> gatherToSlice(Graph &g, Op *gather) {
    Value *data = gather->operand(0), *index = gather->operand(1);
    if (!index->isConstant() || index->constData().elided ||
        index->type().rank() != 0 || index->constData().i.size() != 1 ||
        data->users().size() != 1)
      return false;
    auto axis = normalizeAxis(gather->getInt("axis", 0), rankOf(data));
    if (!axis) {
      llvm::consumeError(axis.takeError());
      return false;
    }
    int64_t size = data->type().shape[*axis];
    int64_t i = index->constData().i[0];
    if (i < 0)
      i += size;
    if (i < 0 || i >= size)
      return false; // the interpreter and lowering report it
    Selection sel{*axis, i, 1, 1};
    if (!hoistAbove(g, data, sel))
      return false;
    Builder b(g);
    b.setInsertionPointBefore(gather);
    Location loc = gather->loc();
    loc.derivedBy = "hoist-selections";
    b.setLoc(loc);
    auto slice = b.create(OpKind::Slice, {data}, sliceAttrs(sel));
    if (!slice)
      return slice.takeError();
    llvm::ArrayRef<int64_t> shape = gather->result()->type().shape;
    auto reshaped =
        b.create(OpKind::Reshape, {(*slice)->result()},
                 {{"shape", std::vector<int64_t>(shape.begin(), shape.end())}});
    if (!reshaped)
      return reshaped.takeError();
    g.replaceAllUsesWith(gather->result(), (*reshaped)->result());
    g.eraseOp(gather);
    return true;
  }

  /// Whether \p a comes before \p b in \p g's op list.
  static bool precedes(Graph &g, const Op *a, const Op *b) {
    for (const auto &op : g.ops()) {
      if (op.get() == b)
        return false;
      if (op.get() == a)
        return true;
    }
    return false;
  }

  /// \p v with \p sel applied on \p axis: a new constant for a constant,
  /// else the same slice of \p v before \p before when there is one (a
  /// value reached along two paths: BERT's last layer input, for the query
  /// and the residual), else a new slice right after \p v's definition
  /// (so that the other path finds it).
  static llvm::Expected<Value *> select(Graph &g, Value *v, Selection sel,
                                        int64_t axis, Op *before,
                                        const Location &loc) {
    sel.axis = axis;
    for (Op *user : v->users())
      if (std::optional<Selection> s = selectionOf(*user);
          s && *s == sel && precedes(g, user, before))
        return user->result();
    if (!v->isConstant() || v->constData().elided) {
      Builder b(g);
      if (Op *def = v->definingOp())
        b.setInsertionPointAfter(def);
      else
        b.setInsertionPoint(g.begin());
      b.setLoc(loc);
      auto slice = b.create(OpKind::Slice, {v}, sliceAttrs(sel));
      if (!slice)
        return slice.takeError();
      return (*slice)->result();
    }
    TensorType t = v->type();
    llvm::SmallVector<int64_t, 4> strides = stridesOf(t.shape);
    int64_t base = sel.start * strides[axis];
    strides[axis] *= sel.step;
    t.shape[axis] = sel.count;
    std::vector<int64_t> at = stridedOffsets(t.shape, strides, base);
    const ConstData &from = v->constData();
    ConstData data;
    for (int64_t k : at) {
      if (!from.f.empty())
        data.f.push_back(from.f[k]);
      if (!from.i.empty())
        data.i.push_back(from.i[k]);
    }
    std::string name =
        g.uniqueName(fmt::format("{}.{}_{}", v->name(), sel.start,
                                 sel.start + (sel.count - 1) * sel.step + 1));
    return g.addConstant(name, t, std::move(data));
  }

  /// Moves \p slice above its operand's producer, if it can.
  llvm::Expected<bool> hoist(Graph &g, Op *slice) {
    Value *v = slice->operand(0);
    std::optional<Selection> sel = soleSelection(g, v);
    if (!sel)
      return false;
    std::optional<Hoist> h = hoistAbove(g, v, *sel);
    if (!h)
      return false;
    Op *def = v->definingOp();
    Location loc = slice->loc();
    loc.derivedBy = "hoist-selections";
    std::vector<Value *> operands;
    for (unsigned i = 0; i < def->numOperands(); ++i) {
      Value *o = def->operand(i);
      if (h->operandAxis[i]) {
        auto s = select(g, o, *sel, *h->operandAxis[i], def, loc);
        if (!s)
          return s.takeError();
        o = *s;
      }
      operands.push_back(o);
    }
    Builder b(g);
    b.setInsertionPointBefore(def);
    b.setLoc(def->loc());
    auto moved = b.create(def->kind(), operands, h->attrs);
    if (!moved)
      return moved.takeError();
    // Every use of v is this selection: each now reads the smaller op.
    std::vector<Op *> users(v->users().begin(), v->users().end());
    for (Op *user : users) {
      g.replaceAllUsesWith(user->result(), (*moved)->result());
      g.eraseOp(user);
    }
    g.eraseOp(def);
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> mpc::createHoistSelectionsPass() {
  return std::make_unique<HoistSelectionsPass>();
}
