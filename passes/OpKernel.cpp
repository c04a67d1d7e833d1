//===- passes/OpKernel.cpp - The runtime kernel of each IR op -------------===//
//
// Ops.def names kernels by their KernelId enumerator; None marks ops with
// no kernel.
//
//===----------------------------------------------------------------------===//

#include "passes/OpKernel.h"

using namespace mpc;

namespace kernel_of {
using enum rt::KernelId;
inline constexpr std::nullopt_t None = std::nullopt;
} // namespace kernel_of

std::optional<rt::KernelId> mpc::opKernel(OpKind k) {
  switch (k) {
#define MPC_OP(Enum, Text, Stage, Min, Max, AttrList, Infer, Kernel)           \
  case OpKind::Enum:                                                           \
    return kernel_of::Kernel;
#include "ir/Ops.def"
  }
  return std::nullopt;
}

const rt::Kernel *mpc::opKernelOrNull(OpKind k) {
  std::optional<rt::KernelId> id = opKernel(k);
  return id ? &rt::kernel(*id) : nullptr;
}

bool mpc::opIsInteractive(OpKind k) {
  std::optional<rt::KernelId> id = opKernel(k);
  return id && rt::kernelIsInteractive(*id);
}
