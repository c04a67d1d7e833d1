//===- ir/Verifier.cpp - Checking a graph, reporting every violation ------===//
//
// Walks the graph once and collects every problem (Glow's `isValid &=`
// style) instead of stopping at the first: operand counts and attributes
// against OpSchema, result types against inferResultTypes, the stage each
// op kind is valid at, definition before use (topological order), use lists
// that match the operand slots, and outputs that are defined. Messages name
// the op as the printer does ("%3 = gelu: ...") and carry its location.
//
//===----------------------------------------------------------------------===//

#include "ir/IR.h"

#include "ir/Builder.h"
#include "ir/OpSchema.h"
#include "ir/ValueNames.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

using namespace mpc;

namespace {
class Verifier {
public:
  Verifier(const Graph &g, OpStage stage) : g_(g), stage_(stage), names_(g) {}
  llvm::Error run();

private:
  void report(const Location &loc, std::string msg) {
    err_ = llvm::joinErrors(std::move(err_),
                            llvm::make_error<DiagError>(loc, std::move(msg)));
  }
  void reportOp(const Op &op, const std::string &msg) {
    report(op.loc(), names_.opRef(op) + ": " + msg);
  }
  void checkOp(const Op &op);
  void checkUseLists();

  const Graph &g_;
  OpStage stage_;
  ValueNames names_;
  llvm::Error err_ = llvm::Error::success();
  /// Values defined so far (inputs, constants, results of earlier ops).
  llvm::DenseSet<const Value *> defined_;
  llvm::DenseSet<const Op *> ops_;
  /// Operand slots that read each value, counted over all ops.
  llvm::DenseMap<const Value *, unsigned> slots_;
};
} // namespace

static const char *stageName(OpStage s) {
  switch (s) {
  case OpStage::Semantic:
    return "semantic";
  case OpStage::Lowered:
    return "lowered";
  case OpStage::Any:
    return "any";
  }
  return "?";
}

void Verifier::checkOp(const Op &op) {
  OpStage opStage = opKindStage(op.kind());
  if (opStage != OpStage::Any && stage_ != OpStage::Any && opStage != stage_)
    reportOp(op, fmt::format("a {} op is not allowed in a {} graph",
                             stageName(opStage), stageName(stage_)));

  bool operandsOk = true;
  for (unsigned k = 0; k < op.numOperands(); ++k) {
    const Value *v = op.operand(k);
    if (!v) {
      reportOp(op, fmt::format("operand {} is null", k));
      operandsOk = false;
      continue;
    }
    ++slots_[v];
    if (!defined_.count(v)) {
      reportOp(op, fmt::format("operand {} ({}) is used before it is "
                               "defined or is not in the graph",
                               k, names_(v)));
      operandsOk = false;
    }
  }
  for (unsigned k = 0; k < op.numResults(); ++k) {
    if (op.result(k)->definingOp() != &op)
      reportOp(op, fmt::format("result {} does not point back to its op", k));
    defined_.insert(op.result(k));
  }

  // Operand count and attributes: every problem, not just the first.
  const OpSchema &schema = opSchema(op.kind());
  bool shapeOk = true;
  if (op.numOperands() < schema.minOperands ||
      op.numOperands() > schema.maxOperands) {
    reportOp(op, fmt::format("has {} operands, expects {}{}", op.numOperands(),
                             schema.minOperands,
                             schema.maxOperands == schema.minOperands ? ""
                             : schema.maxOperands == UINT_MAX
                                 ? " or more"
                                 : fmt::format(" to {}", schema.maxOperands)));
    shapeOk = false;
  }
  for (const std::string &p : checkAttrs(op.kind(), op.attrs())) {
    reportOp(op, p);
    shapeOk = false;
  }
  if (!shapeOk || !operandsOk)
    return;

  llvm::SmallVector<const Value *, 4> operands(op.operands().begin(),
                                               op.operands().end());
  auto types = inferResultTypes(op.kind(), operands, op.attrs());
  if (!types) {
    std::string msg = llvm::toString(types.takeError());
    // Drop the mnemonic inferResultTypes puts first; opRef has it.
    llvm::StringRef m(msg);
    m.consume_front((op.name() + ": ").str());
    reportOp(op, m.str());
    return;
  }
  if (types->size() != op.numResults()) {
    reportOp(op, fmt::format("has {} results, expects {}", op.numResults(),
                             types->size()));
    return;
  }
  for (unsigned k = 0; k < op.numResults(); ++k) {
    const TensorType &have = op.result(k)->type();
    const TensorType &want = (*types)[k];
    if (have != want)
      reportOp(op,
               fmt::format("result{} type is {}, but the operands give {}",
                           op.numResults() > 1 ? " " + std::to_string(k) : "",
                           have.str(), want.str()));
  }
}

void Verifier::checkUseLists() {
  auto check = [&](const Value *v) {
    unsigned listed = 0;
    for (const Op *user : v->users()) {
      if (!ops_.count(user)) {
        report({}, fmt::format("{} lists a user that is not in the graph",
                               names_(v)));
        return;
      }
      ++listed;
    }
    unsigned want = slots_.lookup(v);
    if (listed != want)
      report({}, fmt::format("{} has {} uses listed but {} operand slots "
                             "read it",
                             names_(v), listed, want));
  };
  for (const Value *v : g_.inputs())
    check(v);
  for (const Value *v : g_.constants())
    check(v);
  for (const auto &op : g_.ops())
    for (const Value *r : op->results())
      check(r);
}

llvm::Error Verifier::run() {
  for (const Value *v : g_.inputs()) {
    defined_.insert(v);
    if (v->definingOp() || v->isConstant())
      report({}, fmt::format("input {} has a defining op or constant data",
                             names_(v)));
  }
  for (const Value *c : g_.constants()) {
    defined_.insert(c);
    const ConstData &d = c->constData();
    size_t n = d.f.size() + d.i.size();
    if (!d.elided && static_cast<int64_t>(n) != c->type().numElements())
      report({}, fmt::format("constant {} of type {} has {} values", names_(c),
                             c->type().str(), n));
  }
  for (const auto &op : g_.ops())
    ops_.insert(op.get());
  for (const auto &op : g_.ops())
    checkOp(*op);
  checkUseLists();
  for (size_t k = 0; k < g_.outputs().size(); ++k) {
    const Value *v = g_.outputs()[k];
    if (!v)
      report({}, fmt::format("output {} is null", k));
    else if (!defined_.count(v))
      report({}, fmt::format("output {} ({}) is not defined in the graph", k,
                             names_(v)));
    else if (llvm::StringRef name = g_.outputName(k); !name.empty())
      for (size_t j = 0; j < k; ++j)
        if (g_.outputs()[j] && g_.outputName(j) == name)
          report({}, fmt::format("outputs {} and {} are both called '{}'", j, k,
                                 name.str()));
  }
  return std::move(err_);
}

llvm::Error mpc::verifyGraph(const Graph &g, OpStage stage) {
  return Verifier(g, stage).run();
}
