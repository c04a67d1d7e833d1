//===- frontend/ImportContext.cpp - State shared by ONNX op handlers ------===//
//
// Node inputs, attributes, constants and the fold-or-emit helper.
//
//===----------------------------------------------------------------------===//

#include "frontend/ImportContext.h"

#include "frontend/ConstEval.h"
#include "frontend/OnnxImporter.h"
#include "ir/IR.h"

#include "llvm/ADT/STLExtras.h"

#include <cctype>

using namespace mpc;
using namespace mpc::onnx;

std::string mpc::sanitizeOnnxName(llvm::StringRef name) {
  while (name.startswith("/"))
    name = name.drop_front();
  std::string s;
  for (char c : name)
    s += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')
             ? c
             : '_';
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    s = "v" + s;
  return s;
}

void ImportContext::beginNode(const pb::NodeProto &node) {
  node_ = &node;
  std::string name = node.name();
  if (name.empty() && node.output_size() > 0)
    name = node.output(0);
  loc_ = Location{name, node.op_type(), opset_, ""};
  b_.setLoc(loc_);
  b_.setInsertionPointToEnd();
}

Value *ImportContext::lookup(llvm::StringRef name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : it->second;
}

bool ImportContext::hasInput(unsigned i) const {
  return i < static_cast<unsigned>(node_->input_size()) &&
         !node_->input(i).empty();
}

llvm::Expected<Value *> ImportContext::input(unsigned i) const {
  if (!hasInput(i))
    return fail("missing input {}", i);
  Value *v = lookup(node_->input(i));
  if (!v)
    return fail("input {} ('{}') is not defined before its use", i,
                node_->input(i));
  return v;
}

bool ImportContext::hasOutput(unsigned i) const {
  return i < static_cast<unsigned>(node_->output_size()) &&
         !node_->output(i).empty();
}

void ImportContext::setOutput(unsigned i, Value *v) {
  if (hasOutput(i))
    define(node_->output(i), v);
}

const pb::AttributeProto *ImportContext::attr(llvm::StringRef name) const {
  for (const pb::AttributeProto &a : node_->attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t ImportContext::attrInt(llvm::StringRef name, int64_t def) const {
  const pb::AttributeProto *a = attr(name);
  return a && a->type() == pb::AttributeProto::INT ? a->i() : def;
}

double ImportContext::attrFloat(llvm::StringRef name, double def) const {
  const pb::AttributeProto *a = attr(name);
  return a && a->type() == pb::AttributeProto::FLOAT ? a->f() : def;
}

std::string ImportContext::attrString(llvm::StringRef name,
                                      llvm::StringRef def) const {
  const pb::AttributeProto *a = attr(name);
  return a && a->type() == pb::AttributeProto::STRING ? a->s() : def.str();
}

std::optional<std::vector<int64_t>>
ImportContext::attrInts(llvm::StringRef name) const {
  const pb::AttributeProto *a = attr(name);
  if (!a || a->type() != pb::AttributeProto::INTS)
    return std::nullopt;
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

Value *ImportContext::addConstant(llvm::StringRef hint, TensorType type,
                                  ConstData data) {
  return g_.addConstant(g_.uniqueName(sanitizeOnnxName(hint)), std::move(type),
                        std::move(data));
}

Value *ImportContext::addModelConstant(llvm::StringRef name,
                                       const HostTensor &data) {
  // Whatever its size or type: a scalar bias, an int8 tensor cast to float
  // and a learned temperature are as much the owner's as a weight matrix.
  // Uses that are structure (shapes, axes, indices, exponents) read the
  // data at import and leave this value dead; recognised patterns replace
  // the constants their formula fixes (frontend/patterns/).
  TensorType type(data.shape, elemOf(data.type), Vis::Private, 0);
  return addConstant(name, std::move(type), fromHost(data));
}

Value *ImportContext::constI64(llvm::ArrayRef<int64_t> shape,
                               std::vector<int64_t> v, llvm::StringRef hint) {
  ConstData d;
  d.i = std::move(v);
  return addConstant(hint, TensorType(shape, ElemType::I64), std::move(d));
}

Value *ImportContext::constF32(llvm::ArrayRef<int64_t> shape,
                               std::vector<double> v, llvm::StringRef hint) {
  ConstData d;
  d.f = std::move(v);
  return addConstant(hint, TensorType(shape, ElemType::F32), std::move(d));
}

llvm::Expected<std::vector<int64_t>>
ImportContext::constInts(const Value *v, llvm::StringRef what) const {
  if (!v->isConstant())
    return fail("{} must be a constant (computable at compile time from the "
                "model and the bound input shapes), but it depends on '{}'",
                what, v->name());
  if (v->type().elem != ElemType::I64 && v->type().elem != ElemType::Bool)
    return fail("{} must be an integer tensor, got {}", what, v->type().str());
  return v->constData().i;
}

llvm::Expected<std::vector<int64_t>>
ImportContext::inputInts(unsigned i, llvm::StringRef what) const {
  auto v = input(i);
  if (!v)
    return v.takeError();
  return constInts(*v, what);
}

/// Converts evaluated host data into the element type the op was inferred to
/// produce (the interpreter may hold integers as doubles).
static ConstData dataFor(const HostTensor &h, ElemType elem) {
  ConstData d;
  bool wantFloat = elem == ElemType::F32 || elem == ElemType::Fixed;
  if (wantFloat == h.isFloat())
    return fromHost(h);
  if (wantFloat)
    d.f.assign(h.i.begin(), h.i.end());
  else
    for (double x : h.f)
      d.i.push_back(elem == ElemType::Bool ? (x != 0)
                                           : static_cast<int64_t>(x));
  return d;
}

llvm::Expected<Value *> ImportContext::emit(OpKind kind,
                                            llvm::ArrayRef<Value *> operands,
                                            std::map<std::string, Attr> attrs,
                                            llvm::StringRef hint) {
  llvm::Expected<Op *> created = b_.create(kind, operands, std::move(attrs));
  if (!created)
    return created.takeError();
  Op *op = *created;
  // Every shape of the graph has an element count that int64 holds, so
  // later passes may multiply dimensions freely.
  for (unsigned r = 0; r < op->numResults(); ++r)
    if (!checkedNumElements(op->result(r)->type().shape))
      return fail("result {} would have shape {}: more elements than int64 "
                  "counts",
                  r, shapeStr(op->result(r)->type().shape));
  bool allConst = !operands.empty() && llvm::all_of(operands, [](Value *v) {
    return v->isConstant();
  });
  if (!allConst || op->numResults() != 1)
    return op->result(0);

  std::vector<HostTensor> hosts;
  hosts.reserve(operands.size());
  for (Value *v : operands)
    hosts.push_back(toHost(*v));
  std::vector<const HostTensor *> ptrs;
  for (const HostTensor &h : hosts)
    ptrs.push_back(&h);
  auto out = evaluateOp(*op, ptrs);
  if (!out)
    return addContext(out.takeError(), "folding a constant: ");
  if (out->size() != 1)
    return fail("folding a constant produced {} results", out->size());
  TensorType type = op->result(0)->type();
  ConstData data = dataFor(out->front(), type.elem);
  size_t have = data.f.size() + data.i.size();
  if (static_cast<int64_t>(have) != type.numElements())
    return fail("folding a constant produced {} elements for type {}", have,
                type.str());
  std::string name = hint.empty() ? nameHint() : hint.str();
  Value *c = addConstant(name, std::move(type), std::move(data));
  g_.eraseOp(op);
  return c;
}

llvm::Expected<int64_t> ImportContext::normAxis(int64_t axis, int64_t rank,
                                                llvm::StringRef what) const {
  if (axis < -rank || axis >= rank)
    return fail("{} {} is out of range for rank {}", what, axis, rank);
  return axis < 0 ? axis + rank : axis;
}

std::string ImportContext::nameHint(unsigned output) const {
  if (node_ && output < static_cast<unsigned>(node_->output_size()) &&
      !node_->output(output).empty())
    return node_->output(output);
  return "cst";
}
