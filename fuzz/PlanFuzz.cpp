//===- fuzz/PlanFuzz.cpp - Fuzz target: the plan reader -------------------===//
//
// Bytes -> parsePlan (what readPlan does with a file's contents: protobuf
// decoding, then every structural check and every kernel's own check), then
// what mpc-run and `mpcc report` compute from a plan they accepted: its
// costs, its schedule steps and its weights.
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzTarget.h"

#include "runtime/plan/PlanReader.h"

using namespace mpc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto loaded = rt::parsePlan({data, size}, "fuzz.plan");
  rt::LoadedPlan *plan = fuzz::accepted(loaded, fuzz::asString(data, size));
  if (!plan)
    return 0;
  (void)rt::planCost(*plan); // every kernel's cost formula
  // The steps partition the ops, in order.
  size_t next = 0;
  for (auto [first, last] : plan->steps) {
    if (first != next || last <= first)
      fuzz::fail("schedule steps do not partition the ops");
    next = last;
  }
  if (next != plan->ops.size())
    fuzz::fail("schedule steps do not cover every op");
  for (int id : plan->weightIds())
    if (plan->value(id).source != rt::ValueSource::Weight)
      fuzz::fail("weightIds() lists a value that is not a weight");
  return 0;
}
