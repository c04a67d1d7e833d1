//===- backend/PlanText.h - A plan, readable ------------------*- C++ -*-===//
//
// `mpcc compile --emit=plan-text`: one line per value declaration and per
// op, grouped by schedule step, so a plan can be read and diffed. Public
// constants show their size, never weights (the plan has none).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/Plan.pb.h"

#include <string>

namespace mpc {

std::string planToText(const plan::Plan &p);

} // namespace mpc
