//===- runtime/plan/Kernel.cpp - Kernel table, operands, attributes -------===//
//
// The registry built from Kernels.def (names, interactivity, one instance
// of each class, in table order), the descriptions used in error
// messages, attribute access and schema checking, and the share form of a
// value.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/Kernel.h"
#include "runtime/plan/Plan.pb.h"

#include "llvm/ADT/StringMap.h"

using namespace mpc;
using namespace mpc::rt;

Kernel::~Kernel() = default;

Cost Kernel::cost(const OpDesc &op) const {
  Cost c;
  for (const ValueDesc *v : op.out)
    c.elemOps += double(v->numElements());
  return c;
}

llvm::StringRef mpc::rt::visName(Vis v) {
  switch (v) {
  case Vis::Public:
    return "public";
  case Vis::Private0:
    return "private0";
  case Vis::Private1:
    return "private1";
  case Vis::Shared:
    return "shared";
  }
  return "?";
}

bool ValueDesc::heldBy(int party) const {
  switch (vis) {
  case Vis::Public:
  case Vis::Shared:
    return true;
  case Vis::Private0:
    return party == 0;
  case Vis::Private1:
    return party == 1;
  }
  return false;
}

std::string ValueDesc::describe() const {
  std::string s = fmt::format("value {}", id);
  if (!name.empty())
    s += fmt::format(" ('{}')", name);
  s += fmt::format(" {} {}{} frac {}", visName(vis), isInt ? "int" : "",
                   shapeString(shape), frac);
  return s;
}

llvm::StringRef OpDesc::kernelName() const { return op->kernel(); }
llvm::StringRef OpDesc::onnxNode() const { return op->onnx_node(); }
llvm::StringRef OpDesc::onnxOp() const { return op->onnx_op(); }

std::string OpDesc::describe() const {
  std::string s = fmt::format("op {} '{}'", index, op->kernel());
  if (!op->onnx_node().empty()) {
    s += fmt::format(" (onnx node '{}'", op->onnx_node());
    if (!op->onnx_op().empty())
      s += fmt::format(", {}", op->onnx_op());
    s += ")";
  }
  return s;
}

// --- Attributes --------------------------------------------------------------

namespace {

const plan::Attr *findAttr(const OpDesc &op, llvm::StringRef name) {
  auto it = op.op->attrs().find(name.str());
  return it == op.op->attrs().end() ? nullptr : &it->second;
}

llvm::StringRef kindName(AttrKind k) {
  switch (k) {
  case AttrKind::Int:
    return "int";
  case AttrKind::Float:
    return "float";
  case AttrKind::Str:
    return "string";
  case AttrKind::Ints:
    return "int list";
  case AttrKind::Floats:
    return "float list";
  }
  return "?";
}

bool attrHasKind(const plan::Attr &a, AttrKind k) {
  switch (k) {
  case AttrKind::Int:
    return a.value_case() == plan::Attr::kI;
  case AttrKind::Float:
    return a.value_case() == plan::Attr::kF || a.value_case() == plan::Attr::kI;
  case AttrKind::Str:
    return a.value_case() == plan::Attr::kS;
  case AttrKind::Ints:
    return a.value_case() == plan::Attr::kInts;
  case AttrKind::Floats:
    return a.value_case() == plan::Attr::kFloats;
  }
  return false;
}

} // namespace

bool OpDesc::hasAttr(llvm::StringRef name) const {
  return findAttr(*this, name) != nullptr;
}

int64_t OpDesc::attrInt(llvm::StringRef name, int64_t def) const {
  const plan::Attr *a = findAttr(*this, name);
  return a && a->value_case() == plan::Attr::kI ? a->i() : def;
}

double OpDesc::attrFloat(llvm::StringRef name, double def) const {
  const plan::Attr *a = findAttr(*this, name);
  if (!a)
    return def;
  if (a->value_case() == plan::Attr::kF)
    return a->f();
  if (a->value_case() == plan::Attr::kI)
    return double(a->i());
  return def;
}

std::string OpDesc::attrStr(llvm::StringRef name, llvm::StringRef def) const {
  const plan::Attr *a = findAttr(*this, name);
  return a && a->value_case() == plan::Attr::kS ? a->s() : def.str();
}

std::vector<int64_t> OpDesc::attrInts(llvm::StringRef name) const {
  const plan::Attr *a = findAttr(*this, name);
  if (!a || a->value_case() != plan::Attr::kInts)
    return {};
  return {a->ints().v().begin(), a->ints().v().end()};
}

std::vector<double> OpDesc::attrFloats(llvm::StringRef name) const {
  const plan::Attr *a = findAttr(*this, name);
  if (!a || a->value_case() != plan::Attr::kFloats)
    return {};
  return {a->floats().v().begin(), a->floats().v().end()};
}

llvm::Error mpc::rt::checkAttrs(const OpDesc &op,
                                llvm::ArrayRef<AttrSpec> specs) {
  for (const auto &[name, attr] : op.op->attrs()) {
    const AttrSpec *spec = nullptr;
    for (const AttrSpec &s : specs)
      if (name == s.name)
        spec = &s;
    if (!spec) {
      std::string known;
      for (const AttrSpec &s : specs)
        known += (known.empty() ? "" : ", ") + std::string(s.name);
      return opError(op, "unknown attribute '{}' (this kernel takes: {})", name,
                     known.empty() ? "none" : known);
    }
    if (!attrHasKind(attr, spec->kind))
      return opError(op, "attribute '{}' must be a {}", name,
                     kindName(spec->kind));
    if (spec->kind == AttrKind::Int &&
        (attr.i() < spec->lo || attr.i() > spec->hi))
      return opError(op, "attribute '{}' is {}; expected {}..{}", name,
                     attr.i(), spec->lo, spec->hi);
  }
  for (const AttrSpec &s : specs)
    if (s.required && !op.hasAttr(s.name))
      return opError(op, "missing required attribute '{}' ({})", s.name,
                     kindName(s.kind));
  return llvm::Error::success();
}

// --- Share form
// ----------------------------------------------------------------

RingTensor mpc::rt::shareForm(const ValueDesc &v, const RingTensor &held,
                              int party) {
  switch (v.vis) {
  case Vis::Shared:
    return held;
  case Vis::Public:
    return party == 0 ? held : RingTensor(v.shape);
  case Vis::Private0:
    return party == 0 ? held : RingTensor(v.shape);
  case Vis::Private1:
    return party == 1 ? held : RingTensor(v.shape);
  }
  return RingTensor(v.shape);
}

// --- Registry
// ------------------------------------------------------------------

namespace {
struct KernelFacts {
  const char *name;
  bool interactive;
};
} // namespace

static const KernelFacts kKernelFacts[] = {
#define MPC_LOCAL_KERNEL(Id, Name) {Name, false},
#define MPC_ARITH_KERNEL(Id, Name) {Name, true},
#define MPC_NONLINEAR_KERNEL(Id, Name) {Name, true},
#include "runtime/plan/Kernels.def"
};

llvm::StringRef mpc::rt::kernelName(KernelId id) {
  return kKernelFacts[size_t(id)].name;
}

bool mpc::rt::kernelIsInteractive(KernelId id) {
  return kKernelFacts[size_t(id)].interactive;
}

llvm::ArrayRef<const Kernel *> mpc::rt::allKernels() {
  static const std::vector<const Kernel *> table = {
#define MPC_KERNEL(Class, Name) get##Class(),
#include "runtime/plan/Kernels.def"
  };
  return table;
}

const Kernel &mpc::rt::kernel(KernelId id) { return *allKernels()[size_t(id)]; }

const Kernel *mpc::rt::findKernel(llvm::StringRef name) {
  static const llvm::StringMap<const Kernel *> byName = [] {
    llvm::StringMap<const Kernel *> m;
    for (const Kernel *k : allKernels())
      m[k->name()] = k;
    return m;
  }();
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : it->second;
}
