//===- ir/Graph.cpp - Values, ops, attributes and the graph ---------------===//
//
// The op-kind table (names and stages expanded from Ops.def), typed
// attribute getters, and the Graph's bookkeeping: creating and erasing ops
// while keeping every value's use list equal to the operand slots that read
// it, replacing uses (graph outputs included) and naming values uniquely.
//
//===----------------------------------------------------------------------===//

#include "ir/Graph.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cassert>

using namespace mpc;

namespace {
struct OpKindInfo {
  const char *text;
  OpStage stage;
};
} // namespace

static const OpKindInfo kOpKindInfo[] = {
#define MPC_OP(Enum, Text, Stage, ...) {Text, OpStage::Stage},
#include "ir/Ops.def"
};

llvm::StringRef mpc::opKindName(OpKind k) {
  return kOpKindInfo[static_cast<size_t>(k)].text;
}

OpStage mpc::opKindStage(OpKind k) {
  return kOpKindInfo[static_cast<size_t>(k)].stage;
}

std::optional<OpKind> mpc::opKindFromName(llvm::StringRef name) {
  for (size_t i = 0; i < std::size(kOpKindInfo); ++i)
    if (name == kOpKindInfo[i].text)
      return static_cast<OpKind>(i);
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Op
//===----------------------------------------------------------------------===//

void Op::setOperand(unsigned i, Value *v) {
  assert(i < operands_.size() && "operand index out of range");
  Value *old = operands_[i];
  if (old == v)
    return;
  if (old) {
    auto it = llvm::find(old->users_, this);
    assert(it != old->users_.end() && "use list out of sync");
    old->users_.erase(it);
  }
  operands_[i] = v;
  if (v)
    v->users_.push_back(this);
}

int64_t Op::getInt(llvm::StringRef n, int64_t def) const {
  auto it = attrs_.find(n.str());
  if (it == attrs_.end())
    return def;
  if (auto *v = std::get_if<int64_t>(&it->second))
    return *v;
  return def;
}

double Op::getFloat(llvm::StringRef n, double def) const {
  auto it = attrs_.find(n.str());
  if (it == attrs_.end())
    return def;
  if (auto *v = std::get_if<double>(&it->second))
    return *v;
  // An integer literal where a float is expected reads as that number.
  if (auto *v = std::get_if<int64_t>(&it->second))
    return static_cast<double>(*v);
  return def;
}

std::string Op::getString(llvm::StringRef n, llvm::StringRef def) const {
  auto it = attrs_.find(n.str());
  if (it == attrs_.end())
    return def.str();
  if (auto *v = std::get_if<std::string>(&it->second))
    return *v;
  return def.str();
}

std::vector<int64_t> Op::getInts(llvm::StringRef n) const {
  auto it = attrs_.find(n.str());
  if (it == attrs_.end())
    return {};
  if (auto *v = std::get_if<std::vector<int64_t>>(&it->second))
    return *v;
  return {};
}

std::vector<double> Op::getFloats(llvm::StringRef n) const {
  auto it = attrs_.find(n.str());
  if (it == attrs_.end())
    return {};
  if (auto *v = std::get_if<std::vector<double>>(&it->second))
    return *v;
  // An integer list (e.g. the empty list `[]` of the text form) widens.
  if (auto *v = std::get_if<std::vector<int64_t>>(&it->second))
    return std::vector<double>(v->begin(), v->end());
  return {};
}

//===----------------------------------------------------------------------===//
// Graph
//===----------------------------------------------------------------------===//

Value *Graph::newValue(llvm::StringRef name, TensorType type) {
  values_.push_back(std::make_unique<Value>());
  Value *v = values_.back().get();
  v->name_ = name.str();
  v->type_ = std::move(type);
  if (!name.empty())
    nameCounts_.try_emplace(name.str(), 1);
  return v;
}

Value *Graph::addInput(llvm::StringRef name, TensorType type) {
  Value *v = newValue(name, std::move(type));
  v->isInput_ = true;
  inputs_.push_back(v);
  return v;
}

Value *Graph::addConstant(llvm::StringRef name, TensorType type,
                          ConstData data) {
  Value *v = newValue(name, std::move(type));
  v->constant_ = std::move(data);
  constants_.push_back(v);
  return v;
}

Op *Graph::createOp(iterator pos, OpKind kind, llvm::ArrayRef<Value *> operands,
                    llvm::ArrayRef<TensorType> resultTypes, Location loc) {
  auto op = std::make_unique<Op>();
  Op *raw = op.get();
  raw->kind_ = kind;
  raw->loc_ = std::move(loc);
  for (Value *v : operands) {
    assert(v && "null operand");
    raw->operands_.push_back(v);
    v->users_.push_back(raw);
  }
  for (const TensorType &t : resultTypes) {
    Value *r = newValue("", t);
    r->def_ = raw;
    raw->results_.push_back(r);
  }
  ops_.insert(pos, std::move(op));
  return raw;
}

/// Destroys \p v, which must no longer be referenced by anything.
static void destroyValue(std::vector<std::unique_ptr<Value>> &values,
                         Value *v) {
  // Values are usually destroyed soon after creation: search from the back.
  for (size_t i = values.size(); i-- > 0;) {
    if (values[i].get() != v)
      continue;
    values.erase(values.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
  assert(false && "value not owned by this graph");
}

std::vector<Op *> Graph::opsOfKind(OpKind k) const {
  std::vector<Op *> out;
  for (const auto &op : ops_)
    if (op->kind() == k)
      out.push_back(op.get());
  return out;
}

void Graph::eraseOp(Op *op) {
  for (Value *r : op->results_) {
    (void)r;
    assert(!r->hasUses() && "erasing an op whose results are still used");
    assert(!llvm::is_contained(outputs_, r) && "erasing a graph output");
  }
  for (unsigned i = 0; i < op->operands_.size(); ++i)
    op->setOperand(i, nullptr);
  for (Value *r : op->results_)
    destroyValue(values_, r);
  ops_.erase(iteratorOf(op));
}

void Graph::replaceAllUsesWith(Value *from, Value *to) {
  if (from == to)
    return;
  // Copy: setOperand edits from->users_.
  llvm::SmallVector<Op *, 4> users(from->users_.begin(), from->users_.end());
  for (Op *user : users)
    for (unsigned i = 0; i < user->operands_.size(); ++i)
      if (user->operands_[i] == from)
        user->setOperand(i, to);
  for (Value *&out : outputs_)
    if (out == from)
      out = to;
}

void Graph::removeDeadConstants() {
  std::vector<Value *> dead;
  llvm::erase_if(constants_, [&](Value *c) {
    if (c->hasUses() || llvm::is_contained(outputs_, c))
      return false;
    dead.push_back(c);
    return true;
  });
  for (Value *c : dead)
    destroyValue(values_, c);
}

bool Graph::removeDeadCode() {
  std::vector<Op *> order;
  for (auto &op : ops_)
    order.push_back(op.get());
  size_t before = ops_.size() + constants_.size();
  for (Op *op : llvm::reverse(order)) {
    bool live = llvm::any_of(op->results(), [&](const Value *r) {
      return r->hasUses() || llvm::is_contained(outputs_, r);
    });
    if (!live)
      eraseOp(op);
  }
  removeDeadConstants();
  return ops_.size() + constants_.size() != before;
}

void Graph::setOutputs(llvm::ArrayRef<Value *> outs,
                       llvm::ArrayRef<std::string> names) {
  assert((names.empty() || names.size() == outs.size()) &&
         "one name per output");
  outputs_.assign(outs.begin(), outs.end());
  outputNames_.assign(outs.size(), "");
  if (!names.empty())
    outputNames_.assign(names.begin(), names.end());
}

llvm::StringRef Graph::outputName(unsigned i) const {
  assert(i < outputs_.size() && "output index out of range");
  return outputNames_[i].empty() ? outputs_[i]->name()
                                 : llvm::StringRef(outputNames_[i]);
}

void Graph::setOutput(unsigned i, Value *v) {
  assert(i < outputs_.size() && "output index out of range");
  outputs_[i] = v;
}

Graph::iterator Graph::iteratorOf(Op *op) {
  auto it =
      std::find_if(ops_.begin(), ops_.end(),
                   [&](const std::unique_ptr<Op> &o) { return o.get() == op; });
  assert(it != ops_.end() && "op not in this graph");
  return it;
}

Value *Graph::findConstant(llvm::StringRef name) const {
  for (Value *c : constants_)
    if (c->name() == name)
      return c;
  return nullptr;
}

Value *Graph::findInput(llvm::StringRef name) const {
  for (Value *v : inputs_)
    if (v->name() == name)
      return v;
  return nullptr;
}

std::string Graph::uniqueName(llvm::StringRef hint) {
  std::string base = hint.empty() ? "v" : hint.str();
  auto it = nameCounts_.find(base);
  if (it == nameCounts_.end()) {
    nameCounts_[base] = 1;
    return base;
  }
  // Try base.N with the next free N; remember where we got to.
  for (int n = it->second;; ++n) {
    std::string cand = base + "." + std::to_string(n);
    if (nameCounts_.count(cand))
      continue;
    it->second = n + 1;
    nameCounts_[cand] = 1;
    return cand;
  }
}

unsigned mpc::countOps(const Graph &g, OpKind kind) {
  unsigned n = 0;
  for (const auto &op : g.ops())
    n += op->kind() == kind;
  return n;
}
