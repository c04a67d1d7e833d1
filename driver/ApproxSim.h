//===- driver/ApproxSim.h - The secure run's expected answer ---*- C++ -*-===//
//
// The interpreter's hook (ir/IR.h, OpSimulator) filled from the runtime:
// each op that gets an approximation (gelu, softmax, layernorm, tanh) is
// computed by rt::simulateApprox with the entry and parameters lowering
// gives it, so `mpcc float --approx ...` prints what the secure run is
// expected to answer, and the compiler can measure an entry's effect on
// the model's output before choosing it. The linear ops stay in double
// precision: their fixed-point rounding is far below the approximations'.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "passes/Pass.h"

namespace mpc {

class ApproxSimulator final : public OpSimulator {
public:
  /// Simulates every op approxKindOf names with approxOf(op, opts): the
  /// entry and parameters lowering gives it (per head where the options
  /// choose per head: headApproxes).
  explicit ApproxSimulator(const CompileOptions &opts) : opts_(opts) {}
  bool handles(const Op &op) const override;
  llvm::Expected<std::vector<HostTensor>>
  simulate(const Op &op,
           llvm::ArrayRef<const HostTensor *> operands) const override;

private:
  /// \p op computed with entry \p a.
  llvm::Expected<std::vector<HostTensor>>
  simulateWith(const Op &op, rt::Approximation a,
               llvm::ArrayRef<const HostTensor *> operands) const;

  const CompileOptions &opts_;
};

} // namespace mpc
