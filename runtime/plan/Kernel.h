//===- runtime/plan/Kernel.h - One runtime kernel per plan op kind -*- C++ -*-//
//
// The executor interprets a plan with one table of kernels, one per entry of
// Kernels.def. A kernel knows, for one op of the plan: whether its
// attributes, shapes, scales and visibilities are valid (checked by the plan
// reader before any network I/O), what it costs (the same formulas the
// compiler's report prints and the profiler is compared against), which
// weights need the per-session W - B set-up, what dealer material it needs
// (deal, run in all three roles), and how to compute its outputs (run, a
// protocol coroutine). Kernels are stateless singletons.
//
// Value conventions (Kernels.def): a party that cannot see a value holds an
// empty tensor for it; a shared value is held as this party's additive
// share. An interactive kernel reads a non-shared operand in "share form":
// its owner's share is the value, the other party's is zero (for a public
// value, party 0 owns it).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Corr.h"
#include "runtime/Cost.h"
#include "runtime/Proto.h"
#include "runtime/Ring.h"
#include "runtime/protocols/Arith.h"
#include "runtime/protocols/Narrow.h"
#include "support/Diag.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <any>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace mpc::plan {
class PlanOp;
class ValueInfo;
} // namespace mpc::plan

namespace mpc::rt {

class Kernel;

/// The attribute that makes a truncating kernel's truncations exact
/// (Kernel::truncates).
inline constexpr char kExactTruncAttrName[] = "exact";

/// One entry of Kernels.def: KernelId::Add is the kernel "add".
enum class KernelId : uint8_t {
#define MPC_LOCAL_KERNEL(Id, Name) Id,
#define MPC_ARITH_KERNEL(Id, Name) Id,
#define MPC_NONLINEAR_KERNEL(Id, Name) Id,
#include "runtime/plan/Kernels.def"
};

/// The plan name of \p id ("add").
llvm::StringRef kernelName(KernelId id);
/// Whether kernel \p id exchanges messages (local kernels never do).
bool kernelIsInteractive(KernelId id);

/// Who can see a value (the plan's Visibility).
enum class Vis : uint8_t { Public, Private0, Private1, Shared };

/// "public", "private0", "private1", "shared".
llvm::StringRef visName(Vis v);

/// How a value comes into being.
enum class ValueSource : uint8_t {
  Op,       ///< Output of an op of the plan.
  Input,    ///< A plan input, given by its owner at run time.
  Weight,   ///< A private0 value no op defines: read from the weights file.
  Constant, ///< A public value no op defines: ValueInfo.public_data.
  Unused,   ///< Defined by nothing and used by nothing.
};

/// One value of the plan as the runtime sees it.
struct ValueDesc {
  int id = -1;
  std::string name;
  Shape shape;
  int frac = 0;
  Vis vis = Vis::Public;
  bool isInt = false;
  ValueSource source = ValueSource::Unused;
  int definingOp = -1; ///< Op index for ValueSource::Op.
  const plan::ValueInfo *info = nullptr;

  int64_t numElements() const { return rt::numElements(shape); }
  /// Whether party \p party holds this value (its share counts).
  bool heldBy(int party) const;
  /// "value 12 ('enc.0.q') private0 [768,768] frac 16".
  std::string describe() const;
};

/// One op of the plan, with its operands resolved.
struct OpDesc {
  int index = 0;
  int step = 0;
  const plan::PlanOp *op = nullptr;
  const Kernel *kernel = nullptr;
  std::vector<const ValueDesc *> in, out;

  llvm::StringRef kernelName() const;
  llvm::StringRef onnxNode() const;
  llvm::StringRef onnxOp() const;
  /// "op 7 'trunc' (onnx node '/l0/MatMul')": for error messages.
  std::string describe() const;

  // Attributes. Kernel::check validates kinds and Int ranges first
  // (checkAttrs); afterwards the getters return the attribute or the
  // default. attrFloat also accepts an int.
  bool hasAttr(llvm::StringRef name) const;
  int64_t attrInt(llvm::StringRef name, int64_t def = 0) const;
  double attrFloat(llvm::StringRef name, double def = 0) const;
  std::string attrStr(llvm::StringRef name, llvm::StringRef def = "") const;
  std::vector<int64_t> attrInts(llvm::StringRef name) const;
  std::vector<double> attrFloats(llvm::StringRef name) const;
};

/// Attribute schema entries for checkAttrs.
enum class AttrKind : uint8_t { Int, Float, Str, Ints, Floats };
struct AttrSpec {
  const char *name;
  AttrKind kind;
  bool required = false;
  /// The values an Int may take, checked by checkAttrs before any kernel
  /// reads it: by default those of an int, so that a kernel may read any
  /// Int attribute as int(op.attrInt(...)) once the op is checked (a plan
  /// giving 2^32 + 5 is refused, not read as 5).
  int64_t lo = std::numeric_limits<int>::min();
  int64_t hi = std::numeric_limits<int>::max();
};

/// Rejects unknown attributes, wrong kinds, Ints outside their range and
/// missing required ones.
llvm::Error checkAttrs(const OpDesc &op, llvm::ArrayRef<AttrSpec> specs);
/// An error about \p op: "op 7 'trunc' (onnx node 'n'): <message>".
template <typename... Args>
llvm::Error opError(const OpDesc &op, fmt::format_string<Args...> f,
                    Args &&...args) {
  return mpc::error("{}: {}", op.describe(),
                    fmt::format(f, std::forward<Args>(args)...));
}

/// Per-session state a kernel may use: the private-weight masks (dealer and
/// party 0: derived from the mask seed; party 1: W - B from set-up).
struct Session {
  Role role = Role::P0;
  WeightMasks masks = WeightMasks::forParty1();
  /// This party's shares of the embed_lookup results, by op index: the
  /// lookups run before the offline phase (Embedding.h), their ops only
  /// hand the shares on.
  std::map<int, RingTensor> lookups;
};

/// This party's share form of a value it holds as \p held (see above).
RingTensor shareForm(const ValueDesc &v, const RingTensor &held, int party);

/// Outputs of one op: one tensor per output value, empty where this party
/// does not hold the value.
using OpOutputs = std::vector<RingTensor>;

class Kernel {
public:
  virtual ~Kernel();
  KernelId id() const { return id_; }
  /// The kernel's name in plans (Kernels.def).
  llvm::StringRef name() const { return kernelName(id_); }
  /// Whether run() exchanges messages (Kernels.def: local kernels never do).
  bool interactive() const { return kernelIsInteractive(id_); }
  /// How the kernel reads an operand that is right mod 2^L only, \p attr
  /// giving the op's attributes (Narrow.h); all 64 bits unless overridden.
  virtual OperandRing operandRing(RingAttrFn attr) const { return {}; }
  /// Whether the kernel computes its results mod 2^ring_bits (a narrow
  /// product, Narrow.h): the compiler sets ring_bits to what their uses
  /// read (passes/NarrowRings.cpp).
  virtual bool narrowsResults() const { return false; }
  /// Whether the kernel's protocols truncate (trunc and the nonlinear
  /// kernels' programs): it then takes the attribute kExactTruncAttrName
  /// (0/1), set by `mpcc compile --exact-truncation`, and truncates to
  /// exact floors with it (protocols/Trunc.h, FxProgram.h).
  virtual bool truncates() const { return false; }
  /// The ring the kernel's results are right in: a narrow product's
  /// ring_bits, else 64.
  int resultRing(RingAttrFn attr) const {
    return narrowsResults() ? int(attr("ring_bits", kFullRingBits))
                            : kFullRingBits;
  }
  /// Validates attributes, operand counts, shapes, scales and visibilities.
  virtual llvm::Error check(const OpDesc &op) const = 0;
  /// Online rounds and bytes, dealer bytes and local work of one run. Set-up
  /// bytes are not included (see setupWeights and setupCost). By default
  /// (local kernels): one element op per result element.
  virtual Cost cost(const OpDesc &op) const;
  /// Weights (private0 values from the weights file) this op reads through
  /// the private-weight protocols: each distinct one is sent once per
  /// session as W - B (pwSetup) before the offline phase.
  virtual std::vector<const ValueDesc *> setupWeights(const OpDesc &op) const {
    return {};
  }
  /// Dealer material for one run, in all three roles (Corr.h). Party 1's
  /// call consumes exactly cost(op).dealerBytes1 bytes of corrections.
  virtual std::any deal(Corr &c, const OpDesc &op, Session &s) const {
    return {};
  }
  /// Computes the outputs. \p in holds this party's tensor of each input
  /// (empty where it does not hold it); both \p in and \p material outlive
  /// the returned coroutine.
  virtual Proto<OpOutputs> run(Party &p, const OpDesc &op,
                               llvm::ArrayRef<const RingTensor *> in,
                               std::any &material, Session &s) const = 0;

private:
  template <class K> friend const Kernel *registerKernel(KernelId id);
  KernelId id_{};
};

/// The one instance of kernel class \p K, registered as \p id (the
/// accessors Kernels.def's entries expand to, MPC_DEFINE_KERNEL).
template <class K> const Kernel *registerKernel(KernelId id) {
  static K k;
  static const bool once = (static_cast<Kernel &>(k).id_ = id, true);
  (void)once;
  return &k;
}

/// The kernel called \p name, or null.
const Kernel *findKernel(llvm::StringRef name);
/// The kernel \p id.
const Kernel &kernel(KernelId id);
/// Every kernel of Kernels.def, in table order.
llvm::ArrayRef<const Kernel *> allKernels();

/// One accessor per Kernels.def entry, defined in the kernel's file by
/// expanding its group of the table with MPC_DEFINE_KERNEL: a kernel class
/// missing from its file is a compile error, not a run-time surprise.
#define MPC_KERNEL(Class, Name) const Kernel *get##Class();
#include "runtime/plan/Kernels.def"

} // namespace mpc::rt

/// Defines the accessor of Kernels.def's entry \p Id (class Id##Kernel).
#define MPC_DEFINE_KERNEL(Id, Name)                                            \
  const mpc::rt::Kernel *mpc::rt::get##Id##Kernel() {                          \
    return registerKernel<Id##Kernel>(KernelId::Id);                           \
  }
