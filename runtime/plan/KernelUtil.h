//===- runtime/plan/KernelUtil.h - Helpers for writing kernels -*- C++ -*-===//
//
// Checks every kernel's check() is made of (operand counts, shapes, scales,
// visibilities), shape inference shared by kernels and the base class of
// the local (communication-free) kernels. Internal to runtime/plan.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/Kernel.h"

#include <initializer_list>
#include <optional>

namespace mpc::rt {

/// \p nin inputs (at least \p nin when \p variadic) and \p nout outputs.
llvm::Error checkArity(const OpDesc &op, size_t nin, size_t nout,
                       bool variadic = false);
/// Value \p v (an operand of \p op, described as \p what) has \p shape.
llvm::Error checkShape(const OpDesc &op, const ValueDesc &v,
                       llvm::ArrayRef<int64_t> shape, llvm::StringRef what);
llvm::Error checkFrac(const OpDesc &op, const ValueDesc &v, int frac,
                      llvm::StringRef what);
llvm::Error checkVis(const OpDesc &op, const ValueDesc &v,
                     std::initializer_list<Vis> allowed, llvm::StringRef what);
/// Operands of interactive kernels: shared, or private (share form).
llvm::Error checkSecret(const OpDesc &op, const ValueDesc &v,
                        llvm::StringRef what);
/// A fixed-point (not integer) value.
llvm::Error checkFixed(const OpDesc &op, const ValueDesc &v,
                       llvm::StringRef what);
/// A weight: a private0 value read from the weights file (the
/// private-weight protocols set it up before any input exists).
llvm::Error checkWeight(const OpDesc &op, const ValueDesc &v,
                        llvm::StringRef what);

/// The optional "exact" (0/1) of a truncating op (`mpcc compile
/// --exact-truncation`): its truncations are exact floors (Trunc.h) instead
/// of the one-round protocol's stochastic rounding.
constexpr AttrSpec kExactTruncAttr{kExactTruncAttrName, AttrKind::Int, false, 0,
                                   1};
inline bool exactTrunc(const OpDesc &op) {
  return op.attrInt(kExactTruncAttrName, 0);
}

/// Numpy broadcast of two shapes, or nothing if they do not broadcast.
std::optional<Shape> broadcastShapes(llvm::ArrayRef<int64_t> a,
                                     llvm::ArrayRef<int64_t> b);
/// Whether \p from broadcasts to exactly \p to.
bool broadcastsTo(llvm::ArrayRef<int64_t> from, llvm::ArrayRef<int64_t> to);
/// Normalises axis \p a (negative counts from the end) for rank \p rank.
std::optional<int64_t> normAxis(int64_t a, int64_t rank);

/// "input 0" / "output 1".
std::string inName(int i);
std::string outName(int i);

/// A coroutine that returns \p outs at once (local kernels' run()).
Proto<OpOutputs> readyOutputs(OpOutputs outs);

/// A kernel without communication. The visibility rule of Kernels.def: a
/// public output needs public inputs and is computed by both parties, a
/// private(p) output needs public or private(p) inputs and is computed by p,
/// a shared output is computed by each party from the share form of every
/// input. Operands marked clear (mul_public's constant) must be public and
/// enter as their value on both parties.
class LocalKernel : public Kernel {
public:
  llvm::Error check(const OpDesc &op) const final;
  Proto<OpOutputs> run(Party &p, const OpDesc &op,
                       llvm::ArrayRef<const RingTensor *> in,
                       std::any &material, Session &s) const final;

protected:
  /// Kernel-specific checks (attributes, shapes, scales).
  virtual llvm::Error checkOp(const OpDesc &op) const = 0;
  /// The output(s) from the operands as this party computes them.
  virtual OpOutputs compute(const OpDesc &op,
                            llvm::ArrayRef<const RingTensor *> in) const = 0;
  virtual bool clearOperand(size_t i) const { return false; }
  /// Non-linear local maps (onehot, mask_bias) cannot act on shares.
  virtual bool allowsShared() const { return true; }
};

} // namespace mpc::rt
