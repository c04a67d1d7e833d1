//===- backend/EmitPlan.cpp - Lowered IR to a plan and a weights file -----===//
//
// Each lowered op becomes its kernel (Ops.def's Kernel column, named by the
// runtime's table) with its attributes, copied by name; the few that follow
// ONNX conventions are resolved here (normalised axes, clamped slices,
// gather indices from their constant) so the runtime checks but never
// re-interprets them.
//
//===----------------------------------------------------------------------===//

#include "backend/EmitPlan.h"
#include "ir/ShapeUtils.h"
#include "passes/OpKernel.h"
#include "runtime/plan/PlanReader.h"
#include "runtime/plan/Weights.h"
#include "support/Tensor.h"
#include "support/Version.h"

#include "llvm/Support/FileSystem.h"

#include "llvm/ADT/DenseMap.h"

using namespace mpc;

namespace {

class PlanEmitter {
public:
  PlanEmitter(const Graph &g, const CompileOptions &opts)
      : g_(g), opts_(opts) {}
  llvm::Expected<EmittedPlan> emit(llvm::StringRef modelName);

private:
  int32_t valueId(const Value *v);
  llvm::Error emitOp(const Op &op, plan::PlanOp &out);
  llvm::Error fillValue(const Value *v, plan::ValueInfo &info);

  const Graph &g_;
  const CompileOptions &opts_;
  EmittedPlan out_;
  llvm::DenseMap<const Value *, int32_t> ids_;
};

} // namespace

static plan::Attr intAttr(int64_t v) {
  plan::Attr a;
  a.set_i(v);
  return a;
}
static plan::Attr floatAttr(double v) {
  plan::Attr a;
  a.set_f(v);
  return a;
}
static plan::Attr intsAttr(llvm::ArrayRef<int64_t> v) {
  plan::Attr a;
  plan::IntList *list = a.mutable_ints(); // set even when empty (a scalar)
  for (int64_t x : v)
    list->add_v(x);
  return a;
}

static plan::Visibility visOf(const TensorType &t) {
  switch (t.vis) {
  case Vis::Public:
    return plan::VIS_PUBLIC;
  case Vis::Private:
    return t.owner == 0 ? plan::VIS_PRIVATE0 : plan::VIS_PRIVATE1;
  case Vis::Shared:
    return plan::VIS_SHARED;
  }
  llvm_unreachable("bad visibility");
}

/// Ring words of a constant at its type's scale.
static std::vector<uint64_t> encodeConstant(const Value *v) {
  const TensorType &t = v->type();
  const ConstData &d = v->constData();
  std::vector<uint64_t> words;
  if (t.elem == ElemType::Fixed || t.elem == ElemType::F32) {
    for (double x : d.f)
      words.push_back(
          rt::encodeFixed(x, t.elem == ElemType::Fixed ? t.fracBits : 0));
  } else {
    for (int64_t x : d.i)
      words.push_back(static_cast<uint64_t>(x));
  }
  return words;
}

int32_t PlanEmitter::valueId(const Value *v) {
  auto it = ids_.find(v);
  if (it != ids_.end())
    return it->second;
  int32_t id = static_cast<int32_t>(ids_.size());
  ids_[v] = id;
  return id;
}

llvm::Error PlanEmitter::fillValue(const Value *v, plan::ValueInfo &info) {
  const TensorType &t = v->type();
  info.set_id(valueId(v));
  info.set_name(v->name());
  std::optional<int64_t> elems = checkedNumElements(t.shape);
  if (!elems || *elems > rt::kMaxPlanElements)
    return error("value '{}' has shape {}, more than the {} elements a plan "
                 "holds (is an --input-shape too large?)",
                 v->name(), shapeStr(t.shape), rt::kMaxPlanElements);
  for (int64_t d : t.shape)
    info.add_shape(d);
  info.set_frac_bits(t.elem == ElemType::Fixed ? t.fracBits : 0);
  info.set_vis(visOf(t));
  info.set_is_integer(t.elem == ElemType::I64 || t.elem == ElemType::Bool);
  info.set_weight_index(-1);
  if (t.elem == ElemType::F32)
    return error("value '{}' is still a float: the graph was not lowered",
                 v->name());
  if (!v->isConstant())
    return llvm::Error::success();
  if (v->constData().elided)
    return error("constant '{}' has no data (elided in the IR text)",
                 v->name());
  if (v->isWeight()) {
    info.set_weight_index(info.id());
    out_.weights[info.id()] = rt::RingTensor(t.shape, encodeConstant(v));
  } else if (t.vis == Vis::Public) {
    for (uint64_t w : encodeConstant(v))
      info.add_public_data(w);
  } else {
    return error("constant '{}' is private to party 1: the plan cannot hold "
                 "client data",
                 v->name());
  }
  return llvm::Error::success();
}

/// An IR attribute as a plan attribute (same kind).
static plan::Attr planAttr(const Attr &a) {
  plan::Attr out;
  if (auto *i = std::get_if<int64_t>(&a))
    out.set_i(*i);
  else if (auto *f = std::get_if<double>(&a))
    out.set_f(*f);
  else if (auto *str = std::get_if<std::string>(&a))
    out.set_s(*str);
  else if (auto *is = std::get_if<std::vector<int64_t>>(&a))
    out = intsAttr(*is);
  else {
    plan::FloatList *list = out.mutable_floats();
    for (double x : std::get<std::vector<double>>(a))
      list->add_v(x);
  }
  return out;
}

llvm::Error PlanEmitter::emitOp(const Op &op, plan::PlanOp &out) {
  std::optional<rt::KernelId> kernel = opKernel(op.kind());
  if (!kernel)
    return diag(op.loc(),
                "'{}' was not lowered to a protocol; run "
                "lower-to-protocols first",
                op.name().str());
  auto &attrs = *out.mutable_attrs();
  const TensorType &in0 = op.operand(0)->type();
  unsigned firstOperand = 0, lastOperand = op.numOperands();
  switch (op.kind()) {
  // Attributes that only type the IR result: the kernel reads the type.
  case OpKind::Reshape:
    break;
  case OpKind::MaskBias:
    attrs["value"] = floatAttr(op.getFloat("value"));
    break;
  case OpKind::Clear:
    // fn's attributes as the runtime reads them; `frac` types the result.
    for (const auto &[name, value] : op.attrs())
      if (name != "frac" && name != "step")
        attrs[name] = planAttr(value);
    break;
  // Attributes resolved here (ONNX conventions the runtime does not know).
  case OpKind::Slice: {
    auto axes =
        resolveSlice(in0.shape, op.getInts("starts"), op.getInts("ends"),
                     op.getInts("axes"), op.getInts("steps"));
    if (!axes)
      return axes.takeError();
    std::vector<int64_t> starts, ends, allAxes, steps;
    for (size_t a = 0; a < axes->size(); ++a) {
      const SliceAxis &s = (*axes)[a];
      if (s.step <= 0)
        return diag(op.loc(), "slice with a negative step has no runtime "
                              "kernel yet");
      starts.push_back(s.start);
      ends.push_back(s.start + s.count * s.step);
      allAxes.push_back(int64_t(a));
      steps.push_back(s.step);
    }
    attrs["starts"] = intsAttr(starts);
    attrs["ends"] = intsAttr(ends);
    attrs["axes"] = intsAttr(allAxes);
    attrs["steps"] = intsAttr(steps);
    break;
  }
  case OpKind::Concat: {
    auto axis = normalizeAxis(op.getInt("axis"), in0.rank());
    if (!axis)
      return axis.takeError();
    attrs["axis"] = intAttr(*axis);
    break;
  }
  case OpKind::Gather: {
    const Value *idx = op.operand(1);
    if (!idx->isConstant() || idx->type().vis != Vis::Public)
      return diag(op.loc(), "gather indices must be a public constant");
    auto axis = normalizeAxis(op.getInt("axis"), in0.rank());
    if (!axis)
      return axis.takeError();
    std::vector<int64_t> indices = idx->constData().i;
    for (int64_t &i : indices) {
      if (i < 0)
        i += in0.shape[*axis];
      if (i < 0 || i >= in0.shape[*axis])
        return diag(op.loc(), "gather index {} out of range [0, {})", i,
                    in0.shape[*axis]);
    }
    attrs["axis"] = intAttr(*axis);
    attrs["indices"] = intsAttr(indices);
    attrs["indices_shape"] = intsAttr(std::vector<int64_t>(
        idx->type().shape.begin(), idx->type().shape.end()));
    lastOperand = 1;
    break;
  }
  case OpKind::ReduceSum: {
    auto axes = resolveReduceAxes(in0.rank(), op.getInts("axes"));
    if (!axes)
      return axes.takeError();
    attrs["axes"] = intsAttr(*axes);
    attrs["keepdims"] = intAttr(op.getInt("keepdims", 1));
    break;
  }
  // Every other op's attributes are its kernel's, by the same names
  // (Ops.def); `step` is the op's own field.
  default:
    for (const auto &[name, value] : op.attrs())
      if (name != "step")
        attrs[name] = planAttr(value);
    break;
  }
  out.set_kernel(rt::kernelName(*kernel).str());
  for (unsigned i = firstOperand; i < lastOperand; ++i)
    out.add_inputs(valueId(op.operand(i)));
  for (const Value *r : op.results())
    out.add_outputs(valueId(r));
  out.set_onnx_node(op.loc().onnxNode);
  out.set_onnx_op(op.loc().onnxOpType);
  out.set_step(static_cast<int32_t>(op.getInt("step")));
  return llvm::Error::success();
}

llvm::Expected<EmittedPlan> PlanEmitter::emit(llvm::StringRef modelName) {
  plan::Plan &p = out_.plan;
  p.set_format_version(rt::kPlanFormatVersion);
  p.set_model_name(modelName.str());
  p.set_compiler("mpcc " MPCC_VERSION);
  (*p.mutable_options())["approx"] = opts_.preset;
  (*p.mutable_options())["frac_bits"] = std::to_string(opts_.fracBits);
  // The nonlinear ops' own scales are their values' (choose-scales).
  if (opts_.autoScales)
    (*p.mutable_options())["scales"] = "auto";
  // Recorded for the reader; the runtime follows each op's `exact`.
  if (opts_.exactTruncation)
    (*p.mutable_options())["exact_truncation"] = "1";
  for (auto &[kind, approx] : opts_.approx)
    (*p.mutable_options())["approx." + rt::approxKindName(kind).str()] =
        rt::approxInfo(approx).shortName;
  for (const CompileOptions::NodeRule &r : opts_.nodeRules)
    (*p.mutable_options())["approx." + rt::approxKindName(r.kind).str() + "@" +
                           r.scope()] = rt::approxInfo(r.approx).shortName;

  // Ids: inputs, constants, then op results in order.
  for (const Value *v : g_.inputs())
    valueId(v);
  for (const Value *v : g_.constants())
    valueId(v);
  for (auto &op : g_.ops()) {
    plan::PlanOp *po = p.add_ops();
    if (llvm::Error e = emitOp(*op, *po))
      return addContext(std::move(e), "emitting the plan: ");
  }
  std::vector<const Value *> byId(ids_.size());
  for (auto &[v, id] : ids_)
    byId[id] = v;
  for (const Value *v : byId)
    if (llvm::Error e = fillValue(v, *p.add_values()))
      return addContext(std::move(e), "emitting the plan: ");

  for (const Value *in : g_.inputs()) {
    plan::PlanInput *pi = p.add_inputs();
    pi->set_name(in->name());
    pi->set_value(valueId(in));
    for (int64_t d : in->type().shape)
      pi->add_shape(d);
    // A bool input (a padding mask) travels as integers, 0 and 1.
    bool integer =
        in->type().elem == ElemType::I64 || in->type().elem == ElemType::Bool;
    pi->set_dtype(integer ? "int64" : "float32");
    pi->set_owner(in->type().vis == Vis::Private ? in->type().owner : 1);
  }
  for (unsigned i = 0; i < g_.outputs().size(); ++i) {
    const Value *out = g_.outputs()[i];
    plan::PlanOutput *po = p.add_outputs();
    po->set_name(g_.outputName(i).str());
    po->set_value(valueId(out));
    po->set_reveal_to(opts_.revealTo);
  }
  return std::move(out_);
}

llvm::Expected<EmittedPlan> mpc::emitPlan(const Graph &g,
                                          const CompileOptions &opts,
                                          llvm::StringRef modelName) {
  return PlanEmitter(g, opts).emit(modelName);
}

llvm::Error mpc::writePlanAndWeights(const EmittedPlan &p,
                                     llvm::StringRef planPath,
                                     llvm::StringRef weightsPath) {
  // Validate with the runtime's own reader before writing anything: a plan
  // mpc-run would reject is a compiler bug, reported here, not at run time.
  llvm::Expected<rt::LoadedPlan> loaded = rt::loadPlan(p.plan, planPath);
  if (!loaded)
    return addContext(loaded.takeError(),
                      "internal error: the emitted plan does not load: ");
  std::string bytes = rt::serializePlan(p.plan);
  llvm::ArrayRef<uint8_t> planBytes(
      reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
  // Weights first: if they fail, no plan is left that points at them.
  if (llvm::Error e = rt::writeWeightsFile(weightsPath, planBytes, p.weights))
    return e;
  if (llvm::Error e = writeFileAtomic(planPath, bytes)) {
    llvm::sys::fs::remove(weightsPath);
    return e;
  }
  return llvm::Error::success();
}
