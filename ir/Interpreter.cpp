//===- ir/Interpreter.cpp - The float reference interpreter ---------------===//
//
// Runs a whole graph on host tensors: checks the inputs against the graph's
// input types, turns constants into host tensors, evaluates the ops in
// order with evaluateOp, and frees each intermediate after its last use so
// that BERT-sized graphs fit in memory. Errors name the op ("%3 = gelu")
// and keep its location.
//
//===----------------------------------------------------------------------===//

#include "ir/IR.h"

#include "ir/ValueNames.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"

using namespace mpc;

static bool isIntElem(ElemType e) {
  return e == ElemType::I64 || e == ElemType::Bool;
}

llvm::Expected<HostTensor> mpc::constantToHost(const Value &c) {
  assert(c.isConstant() && "not a constant");
  const ConstData &d = c.constData();
  const TensorType &t = c.type();
  std::vector<int64_t> shape(t.shape.begin(), t.shape.end());
  if (d.elided)
    return error("constant '{}' has no data (elided in the text form)",
                 c.name());
  int64_t n = t.numElements();
  if (isIntElem(t.elem)) {
    if (static_cast<int64_t>(d.i.size()) != n)
      return error("constant '{}' of type {} has {} integer values", c.name(),
                   t.str(), d.i.size());
    return HostTensor::ints(std::move(shape), d.i,
                            t.elem == ElemType::Bool ? HostType::Bool
                                                     : HostType::I64);
  }
  if (static_cast<int64_t>(d.f.size()) != n)
    return error("constant '{}' of type {} has {} float values", c.name(),
                 t.str(), d.f.size());
  return HostTensor::floats(std::move(shape), d.f);
}

/// Checks a user-supplied input tensor against the graph input \p v.
static llvm::Error checkInput(const Value &v, const HostTensor &t) {
  const TensorType &ty = v.type();
  if (llvm::ArrayRef<int64_t>(t.shape) != llvm::ArrayRef<int64_t>(ty.shape))
    return error("input '{}': shape {} does not match the graph's {}", v.name(),
                 shapeStr(t.shape), shapeStr(ty.shape));
  if (t.isFloat() == isIntElem(ty.elem))
    return error("input '{}': the graph expects {} data, got {}", v.name(),
                 elemTypeStr(ty.elem, ty.fracBits), hostTypeName(t.type).str());
  size_t have = t.isFloat() ? t.f.size() : t.i.size();
  if (static_cast<int64_t>(have) != t.numElements())
    return error("input '{}': {} values for shape {}", v.name(), have,
                 shapeStr(t.shape));
  return llvm::Error::success();
}

/// Puts \p prefix in front of the message of every DiagError in \p err,
/// keeping their locations.
static llvm::Error prefixErrors(llvm::Error err, const std::string &prefix) {
  llvm::Error out = llvm::Error::success();
  llvm::handleAllErrors(std::move(err), [&](const llvm::ErrorInfoBase &e) {
    Location loc;
    std::string msg = e.message();
    if (e.isA<DiagError>()) {
      const auto &d = static_cast<const DiagError &>(e);
      loc = d.loc();
      msg = d.msg();
    }
    out = llvm::joinErrors(std::move(out),
                           llvm::make_error<DiagError>(loc, prefix + msg));
  });
  return out;
}

llvm::Expected<const HostTensor *> ConstantCache::get(const Value &c) {
  auto it = host_.find(&c);
  if (it != host_.end())
    return &it->second;
  auto t = constantToHost(c);
  if (!t)
    return t.takeError();
  return &host_.emplace(&c, std::move(*t)).first->second;
}

llvm::Expected<std::vector<HostTensor>> mpc::interpretGraph(
    const Graph &g, const std::map<std::string, HostTensor> &inputs,
    OpObserver observe, const OpSimulator *sim, ConstantCache *constants) {
  llvm::DenseMap<const Value *, HostTensor> env;
  // Constants read from the cache (never erased: they outlive this run).
  llvm::DenseMap<const Value *, const HostTensor *> cached;
  for (const auto &[name, t] : inputs)
    if (!g.findInput(name)) {
      std::vector<std::string> names;
      for (const Value *v : g.inputs())
        names.push_back(v->name());
      return error("unknown input '{}' (the graph's inputs are: {})", name,
                   fmt::join(names, ", "));
    }
  for (const Value *v : g.inputs()) {
    auto it = inputs.find(v->name());
    if (it == inputs.end())
      return error("missing input '{}' ({})", v->name(), v->type().str());
    if (auto e = checkInput(*v, it->second))
      return e;
    env[v] = it->second;
  }
  for (const Value *c : g.constants()) {
    if (!c->hasUses() && !llvm::is_contained(g.outputs(), c))
      continue;
    if (constants) {
      auto t = constants->get(*c);
      if (!t)
        return t.takeError();
      cached[c] = *t;
      continue;
    }
    auto t = constantToHost(*c);
    if (!t)
      return t.takeError();
    env[c] = std::move(*t);
  }
  auto find = [&](const Value *v) -> const HostTensor * {
    auto it = env.find(v);
    if (it != env.end())
      return &it->second;
    auto c = cached.find(v);
    return c == cached.end() ? nullptr : c->second;
  };

  // Index of the last op that reads each value; graph outputs live on.
  llvm::DenseMap<const Value *, size_t> lastUse;
  size_t idx = 0;
  for (const auto &op : g.ops()) {
    for (const Value *v : op->operands())
      lastUse[v] = idx;
    ++idx;
  }
  for (const Value *v : g.outputs())
    lastUse[v] = SIZE_MAX;

  std::unique_ptr<ValueNames> names; // Built only when an error is reported.
  idx = 0;
  for (const auto &op : g.ops()) {
    llvm::SmallVector<const HostTensor *, 4> args;
    for (const Value *v : op->operands())
      args.push_back(find(v));
    if (observe)
      observe(*op, args);
    auto res = [&]() -> llvm::Expected<std::vector<HostTensor>> {
      if (!sim || !sim->handles(*op))
        return evaluateOp(*op, args);
      if (llvm::Error e = checkOperands(*op, args))
        return e;
      return sim->simulate(*op, args);
    }();
    if (!res) {
      names = std::make_unique<ValueNames>(g);
      std::string ref = names->opRef(*op);
      // evaluateOp's messages start with the mnemonic; name the results too.
      std::string prefix = ref.substr(0, ref.size() - op->name().size());
      return prefixErrors(res.takeError(), prefix);
    }
    for (unsigned k = 0; k < op->numResults(); ++k)
      env[op->result(k)] = std::move((*res)[k]);
    for (const Value *v : op->operands()) {
      auto it = lastUse.find(v);
      if (it != lastUse.end() && it->second == idx)
        env.erase(v);
    }
    ++idx;
  }

  std::vector<HostTensor> outs;
  for (const Value *v : g.outputs()) {
    const HostTensor *t = find(v);
    if (!t)
      return error("output '{}' is not computed by the graph", v->name());
    outs.push_back(*t);
  }
  return outs;
}
