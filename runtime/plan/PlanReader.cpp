//===- runtime/plan/PlanReader.cpp - Load and validate a plan -------------===//
//
// Validation order: decoding, format version, values (ids, shapes, scales),
// ops (kernel names, operand ids, single definition, steps, topological
// order), value sources (input, weight, constant), inputs and outputs, then
// every kernel's check(), then the narrow-ring rule (Narrow.h: a value
// computed mod 2^L reaches only ops that read it mod 2^L; the compiler's
// rule, re-checked because the runtime must not trust the plan's
// ring_bits). Every failure names the plan file and the op or value at
// fault; nothing here touches the network.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/PlanReader.h"
#include "runtime/protocols/Narrow.h"
#include "support/Tensor.h"

#include "llvm/Support/MemoryBuffer.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <openssl/sha.h>

#include <cassert>
#include <climits>
#include <limits>
#include <set>

using namespace mpc;
using namespace mpc::rt;

LoadedPlan::LoadedPlan() = default;
LoadedPlan::LoadedPlan(LoadedPlan &&) noexcept = default;
LoadedPlan &LoadedPlan::operator=(LoadedPlan &&) noexcept = default;
LoadedPlan::~LoadedPlan() = default;

std::vector<int> LoadedPlan::weightIds() const {
  std::vector<int> ids;
  for (const ValueDesc &v : values)
    if (v.source == ValueSource::Weight)
      ids.push_back(v.id);
  return ids;
}

PlanDigest mpc::rt::sha256(llvm::ArrayRef<uint8_t> bytes) {
  PlanDigest d{};
  SHA256(bytes.data(), bytes.size(), d.data());
  return d;
}

std::string mpc::rt::digestHex(const PlanDigest &d) {
  static const char *hex = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s;
}

namespace {

constexpr int kMaxFrac = 62;

/// Collects the checks of one plan; every error is prefixed by its name.
class Validator {
public:
  Validator(LoadedPlan &p) : p_(p), plan_(*p.proto) {}
  llvm::Error run();

private:
  llvm::Error checkValues();
  llvm::Error checkOps();
  llvm::Error classifySources();
  llvm::Error checkInputs();
  llvm::Error checkOutputs();
  llvm::Error checkKernels();
  llvm::Error checkNarrowRings();
  void computeUses();

  LoadedPlan &p_;
  const plan::Plan &plan_;
  std::vector<int> definedBy_; ///< Op index defining each value, or -1.
  std::vector<bool> used_;     ///< Read by an op or a plan output.
  std::vector<int> inputOf_;   ///< PlanInput index per value, or -1.
};

llvm::Error Validator::run() {
  if (plan_.format_version() == 0)
    return mpc::error("not a valid mpcc plan (no format version)");
  if (plan_.format_version() != kPlanFormatVersion)
    return mpc::error("plan format version {} is not supported by this "
                      "mpc-run (expects {})",
                      plan_.format_version(), kPlanFormatVersion);
  if (plan_.end_marker() != kPlanEndMarker)
    return mpc::error("not a valid mpcc plan (no end marker: the file is "
                      "truncated, or was not written by serializePlan)");
  if (plan_.outputs_size() == 0)
    return mpc::error("the plan has no outputs");
  if (llvm::Error e = checkValues())
    return e;
  if (llvm::Error e = checkOps())
    return e;
  if (llvm::Error e = checkInputs())
    return e;
  if (llvm::Error e = checkOutputs())
    return e;
  if (llvm::Error e = classifySources())
    return e;
  if (llvm::Error e = checkKernels())
    return e;
  if (llvm::Error e = checkNarrowRings())
    return e;
  computeUses();
  return llvm::Error::success();
}

llvm::Error Validator::checkValues() {
  size_t n = plan_.values_size();
  p_.values.assign(n, ValueDesc{});
  std::vector<bool> seen(n);
  for (const plan::ValueInfo &vi : plan_.values()) {
    if (vi.id() < 0 || size_t(vi.id()) >= n || seen[vi.id()])
      return mpc::error("value id {} ('{}') is out of range or repeated: ids "
                        "must be 0..{}",
                        vi.id(), vi.name(), n - 1);
    seen[vi.id()] = true;
    ValueDesc &v = p_.values[vi.id()];
    v.id = vi.id();
    v.name = vi.name();
    v.info = &vi;
    int64_t elems = 1;
    for (int64_t d : vi.shape()) {
      if (d < 0 || (d > 0 && elems > kMaxPlanElements / d))
        return mpc::error("value {} ('{}') has an invalid shape", v.id, v.name);
      elems *= d;
      v.shape.push_back(d);
    }
    v.frac = vi.frac_bits();
    v.isInt = vi.is_integer();
    if (v.frac < 0 || v.frac > kMaxFrac || (v.isInt && v.frac != 0))
      return mpc::error("value {} ('{}') has {} fractional bits (expected "
                        "0..{}, and 0 for integers)",
                        v.id, v.name, v.frac, kMaxFrac);
    switch (vi.vis()) {
    case plan::VIS_PUBLIC:
      v.vis = Vis::Public;
      break;
    case plan::VIS_PRIVATE0:
      v.vis = Vis::Private0;
      break;
    case plan::VIS_PRIVATE1:
      v.vis = Vis::Private1;
      break;
    case plan::VIS_SHARED:
      v.vis = Vis::Shared;
      break;
    default:
      return mpc::error("value {} ('{}') has unknown visibility {}", v.id,
                        v.name, int(vi.vis()));
    }
  }
  return llvm::Error::success();
}

llvm::Error Validator::checkOps() {
  size_t n = p_.values.size();
  definedBy_.assign(n, -1);
  used_.assign(n, false);
  p_.ops.resize(plan_.ops_size());
  int prevStep = std::numeric_limits<int>::min();
  for (int i = 0; i < plan_.ops_size(); ++i) {
    const plan::PlanOp &po = plan_.ops(i);
    OpDesc &op = p_.ops[i];
    op.index = i;
    op.step = po.step();
    op.op = &po;
    op.kernel = findKernel(po.kernel());
    if (!op.kernel) {
      std::string known;
      for (const Kernel *k : allKernels())
        known += (known.empty() ? "" : ", ") + k->name().str();
      return opError(op, "unknown kernel '{}' (this mpc-run has: {})",
                     po.kernel(), known);
    }
    if (op.step < prevStep)
      return opError(op,
                     "step {} comes after step {}: steps must not "
                     "decrease in op order",
                     op.step, prevStep);
    if (op.step != prevStep)
      p_.steps.push_back({size_t(i), size_t(i)});
    p_.steps.back().second = size_t(i) + 1;
    prevStep = op.step;
    if (po.outputs_size() == 0)
      return opError(op, "has no outputs");
    for (int id : po.inputs()) {
      if (id < 0 || size_t(id) >= n)
        return opError(op, "reads value {}, which is not in the plan", id);
      int def = definedBy_[id];
      if (def >= 0 && p_.ops[def].step == op.step &&
          p_.ops[def].kernel->interactive())
        return opError(op,
                       "reads value {}, an output of interactive {} in the "
                       "same step {}: it must be scheduled in a later step",
                       id, p_.ops[def].describe(), op.step);
      used_[id] = true;
      op.in.push_back(&p_.values[id]);
    }
    for (int id : po.outputs()) {
      if (id < 0 || size_t(id) >= n)
        return opError(op, "writes value {}, which is not in the plan", id);
      if (definedBy_[id] >= 0)
        return opError(op, "writes value {}, already written by {}", id,
                       p_.ops[definedBy_[id]].describe());
      if (used_[id])
        return opError(op,
                       "writes value {}, which an earlier op reads (the "
                       "ops are not in topological order)",
                       id);
      definedBy_[id] = i;
      p_.values[id].source = ValueSource::Op;
      p_.values[id].definingOp = i;
      op.out.push_back(&p_.values[id]);
    }
  }
  return llvm::Error::success();
}

llvm::Error Validator::checkInputs() {
  inputOf_.assign(p_.values.size(), -1);
  std::set<std::string> names;
  for (int i = 0; i < plan_.inputs_size(); ++i) {
    const plan::PlanInput &in = plan_.inputs(i);
    if (!names.insert(in.name()).second)
      return mpc::error("input '{}' is declared twice", in.name());
    int id = in.value();
    if (id < 0 || size_t(id) >= p_.values.size())
      return mpc::error("input '{}' refers to value {}, which is not in the "
                        "plan",
                        in.name(), id);
    ValueDesc &v = p_.values[id];
    if (definedBy_[id] >= 0 || inputOf_[id] >= 0)
      return mpc::error("input '{}' ({}) is also defined elsewhere", in.name(),
                        v.describe());
    if (in.owner() != 0 && in.owner() != 1)
      return mpc::error("input '{}' has owner {}; expected 0 or 1", in.name(),
                        in.owner());
    Vis own = in.owner() == 0 ? Vis::Private0 : Vis::Private1;
    if (v.vis != own && v.vis != Vis::Shared)
      return mpc::error("input '{}' ({}) must be {} or shared", in.name(),
                        v.describe(), visName(own));
    if (llvm::ArrayRef<int64_t>(in.shape().data(), in.shape_size()) !=
        llvm::ArrayRef<int64_t>(v.shape))
      return mpc::error("input '{}' declares shape {} but its value is {}",
                        in.name(),
                        shapeString(llvm::ArrayRef<int64_t>(in.shape().data(),
                                                            in.shape_size())),
                        shapeString(v.shape));
    bool intType = in.dtype() == "int64";
    if (!intType && in.dtype() != "float32" && in.dtype() != "float64")
      return mpc::error("input '{}' has dtype '{}'; expected int64, float32 "
                        "or float64",
                        in.name(), in.dtype());
    if (intType != v.isInt)
      return mpc::error("input '{}' is {} but its value is {}", in.name(),
                        in.dtype(), v.isInt ? "integer" : "fixed point");
    inputOf_[id] = i;
    v.source = ValueSource::Input;
  }
  return llvm::Error::success();
}

llvm::Error Validator::checkOutputs() {
  std::set<std::string> names;
  for (const plan::PlanOutput &out : plan_.outputs()) {
    if (!names.insert(out.name()).second)
      return mpc::error("output '{}' is declared twice", out.name());
    int id = out.value();
    if (id < 0 || size_t(id) >= p_.values.size())
      return mpc::error("output '{}' refers to value {}, which is not in the "
                        "plan",
                        out.name(), id);
    used_[id] = true;
    const ValueDesc &v = p_.values[id];
    int to = out.reveal_to();
    bool ok = v.vis == Vis::Public || (to == 0 && v.vis == Vis::Private0) ||
              (to == 1 && v.vis == Vis::Private1);
    if (to != 0 && to != 1 && to != kToBoth)
      return mpc::error("output '{}' has reveal_to {}; expected 0, 1 or -1",
                        out.name(), to);
    if (!ok)
      return mpc::error("output '{}' ({}) is not visible to {}: the plan "
                        "must reveal it",
                        out.name(), v.describe(),
                        to == kToBoth ? "both parties"
                                      : fmt::format("party {}", to));
  }
  return llvm::Error::success();
}

llvm::Error Validator::classifySources() {
  for (ValueDesc &v : p_.values) {
    if (v.source != ValueSource::Unused)
      continue; // an op output or a plan input
    const plan::ValueInfo &vi = *v.info;
    if (v.vis == Vis::Private0) {
      v.source = ValueSource::Weight;
      continue;
    }
    if (v.vis == Vis::Public &&
        (vi.public_data_size() > 0 || v.numElements() == 0)) {
      if (vi.public_data_size() != v.numElements())
        return mpc::error("constant {} holds {} words, expected {}",
                          v.describe(), vi.public_data_size(), v.numElements());
      v.source = ValueSource::Constant;
      continue;
    }
    if (used_[v.id])
      return mpc::error("{} is used but never defined (no op writes it and "
                        "it is not an input, constant or weight)",
                        v.describe());
  }
  return llvm::Error::success();
}

llvm::Error Validator::checkKernels() {
  for (OpDesc &op : p_.ops)
    if (llvm::Error e = op.kernel->check(op))
      return e;
  // Distinct set-up weights in order of first use.
  std::set<int> seen;
  for (OpDesc &op : p_.ops)
    for (const ValueDesc *w : op.kernel->setupWeights(op))
      if (seen.insert(w->id).second)
        p_.setupWeights.push_back(w);
  return llvm::Error::success();
}

/// "add, sub, ...": the kernels that commute with reduction mod 2^L.
static std::string commutingKernels() {
  std::string s;
  for (const Kernel *k : allKernels())
    if (k->operandRing([](llvm::StringRef, int64_t def) { return def; }).kind ==
        OperandRing::Commutes)
      s += (s.empty() ? "" : ", ") + k->name().str();
  return s;
}

llvm::Error Validator::checkNarrowRings() {
  // Per value: the ring it is right in (Narrow.h) and the narrow product
  // that made it so, or -1. Ops come in topological order. A plan output
  // is visible to its receiver (checkOutputs), so a narrow (shared) value
  // reaches one only through a reveal, which reads all 64 bits unless its
  // own ring_bits say less.
  std::vector<int> ring(p_.values.size(), kFullRingBits);
  std::vector<int> narrowBy(p_.values.size(), -1);
  for (const OpDesc &op : p_.ops) {
    auto attr = [&](llvm::StringRef name, int64_t def) {
      return op.attrInt(name, def);
    };
    OperandRing reads = op.kernel->operandRing(attr);
    int out = op.kernel->resultRing(attr), outBy = -1;
    if (out < kFullRingBits)
      outBy = op.index;
    for (const ValueDesc *v : op.in) {
      int have = ring[v->id];
      if (have >= kFullRingBits)
        continue;
      if (reads.kind == OperandRing::Commutes) {
        if (have < out) {
          out = have;
          outBy = narrowBy[v->id];
        }
        continue;
      }
      if (reads.kind == OperandRing::Reads && reads.bits <= have)
        continue;
      return opError(
          op,
          "reads {}, which {} computes mod 2^{} only (ring_bits): {} reads "
          "it {}, so its high bits, which depend on the weights, would be "
          "used; only {}, and a trunc, gelu or reveal that reads at most {} "
          "bits may take it",
          v->describe(), p_.ops[narrowBy[v->id]].describe(), have,
          op.kernelName(),
          reads.kind == OperandRing::Reads ? fmt::format("mod 2^{}", reads.bits)
                                           : std::string("in all 64 bits"),
          commutingKernels(), have);
    }
    for (const ValueDesc *v : op.out) {
      ring[v->id] = out;
      narrowBy[v->id] = outBy;
    }
  }
  return llvm::Error::success();
}

void Validator::computeUses() {
  p_.lastUse.assign(p_.values.size(), -1);
  for (const OpDesc &op : p_.ops)
    for (const ValueDesc *v : op.in)
      p_.lastUse[v->id] = op.index;
}

llvm::Expected<LoadedPlan> validate(std::unique_ptr<plan::Plan> proto,
                                    PlanDigest digest, llvm::StringRef name) {
  LoadedPlan p;
  p.name = name.str();
  p.digest = digest;
  p.proto = std::move(proto);
  if (llvm::Error e = Validator(p).run())
    return addContext(std::move(e), (name + ": ").str());
  return p;
}

} // namespace

llvm::Expected<LoadedPlan> mpc::rt::parsePlan(llvm::ArrayRef<uint8_t> bytes,
                                              llvm::StringRef name) {
  auto proto = std::make_unique<plan::Plan>();
  if (bytes.empty())
    return mpc::error("{}: not a valid mpcc plan (the file is empty)",
                      name.str());
  bool ok = false;
  try {
    // The error below says it once; libprotobuf would also print its own
    // line ("invalid UTF-8 data") to stderr.
    google::protobuf::LogSilencer quiet;
    ok = proto->ParseFromArray(bytes.data(), int(bytes.size()));
  } catch (const std::exception &e) {
    return mpc::error("{}: not a valid mpcc plan ({})", name.str(), e.what());
  }
  if (!ok || bytes.size() > size_t(INT32_MAX))
    return mpc::error(
        "{}: not a valid mpcc plan (protobuf decoding failed: {})", name.str(),
        name.endswith_insensitive(".onnx")
            ? "this looks like an ONNX model; compile it first: mpcc compile "
              "MODEL.onnx -o model.plan"
            : "the file is truncated or corrupt");
  return validate(std::move(proto), sha256(bytes), name);
}

llvm::Expected<LoadedPlan> mpc::rt::readPlan(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buf)
    return mpc::error("cannot read plan '{}': {}", path.str(),
                      buf.getError().message());
  llvm::StringRef data = (*buf)->getBuffer();
  return parsePlan(
      llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(data.data()),
                              data.size()),
      path);
}

std::string mpc::rt::serializePlan(const plan::Plan &p) {
  plan::Plan copy = p;
  copy.set_end_marker(kPlanEndMarker);
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&out);
  }
  return bytes;
}

llvm::Expected<LoadedPlan> mpc::rt::loadPlan(plan::Plan p,
                                             llvm::StringRef name) {
  p.set_end_marker(kPlanEndMarker);
  std::string bytes = serializePlan(p);
  return validate(
      std::make_unique<plan::Plan>(std::move(p)),
      sha256(llvm::ArrayRef<uint8_t>(
          reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size())),
      name);
}

llvm::Expected<std::string> mpc::rt::writePlanFile(llvm::StringRef path,
                                                   const plan::Plan &p) {
  std::string bytes = serializePlan(p);
  if (llvm::Error e = writeFileAtomic(path, bytes))
    return e;
  return bytes;
}

// --- Costs -------------------------------------------------------------------

Cost mpc::rt::opCost(const LoadedPlan &plan, size_t i) {
  const OpDesc &op = plan.ops[i];
  return op.kernel->cost(op);
}

Cost mpc::rt::setupCost(const LoadedPlan &plan) {
  Cost c;
  for (const ValueDesc *w : plan.setupWeights)
    c.alongside(pwSetupCost(w->shape));
  return c;
}

std::vector<Cost> mpc::rt::opCosts(const LoadedPlan &plan) {
  std::vector<Cost> costs;
  costs.reserve(plan.ops.size());
  for (size_t i = 0; i < plan.ops.size(); ++i)
    costs.push_back(opCost(plan, i));
  return costs;
}

Cost mpc::rt::planCost(const LoadedPlan &plan) {
  return planCost(plan, opCosts(plan));
}

Cost mpc::rt::planCost(const LoadedPlan &plan, llvm::ArrayRef<Cost> ops) {
  assert(ops.size() == plan.ops.size() && "one cost per op");
  // The embedding lookups all run together before the offline phase
  // (Lookups.cpp): one round for all, not one in each op's step.
  Cost total;
  for (size_t i = 0; i < plan.ops.size(); ++i)
    if (plan.ops[i].kernel->id() == KernelId::EmbedLookup)
      total.alongside(ops[i]);
  for (auto [first, last] : plan.steps) {
    Cost step;
    for (size_t i = first; i < last; ++i)
      if (plan.ops[i].kernel->id() != KernelId::EmbedLookup)
        step.alongside(ops[i]);
    total.then(step);
  }
  total.setupBytes01 += setupCost(plan).setupBytes01;
  return total;
}
