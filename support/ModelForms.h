//===- support/ModelForms.h - Constants of model forms ---------*- C++ -*-===//
//
// Constants of functions that models are trained with, which the IR's float
// semantics (ir/Evaluate.cpp), the lowering and the runtime's protocols all
// compute. ir/ cannot include runtime/ and the runtime does not know the
// IR, so each such constant is defined here, once.
//
//===----------------------------------------------------------------------===//
#pragma once

namespace mpc {

/// MPCFormer's 2Quad softmax, (x + c)^2 / sum (x + c)^2: its c, for a
/// 2quad softmax that states none (the IR op's `c`, the plan's softmax `c`,
/// rt::SoftmaxParams::quadC).
inline constexpr double kTwoQuadC = 5;

} // namespace mpc
