//===- runtime/plan/Memory.cpp - A role's memory need from its plan -------===//
//
// memoryNeed replays the executor's value lifetimes (PartyExecutor.cpp:
// loadValues, store, release) and material windows (materialWindows) over
// the plan's sizes without allocating anything. Sums saturate: a plan may
// declare values of up to 2^40 elements, many of them.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/ExecutorImpl.h"

#include <unistd.h>

#include <limits>

using namespace mpc;
using namespace mpc::rt;

namespace {

uint64_t addSat(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b
             ? std::numeric_limits<uint64_t>::max()
             : a + b;
}

uint64_t mulSat(uint64_t a, uint64_t b) {
  return b != 0 && a > std::numeric_limits<uint64_t>::max() / b
             ? std::numeric_limits<uint64_t>::max()
             : a * b;
}

uint64_t valueBytes(const ValueDesc &v) {
  return mulSat(uint64_t(v.numElements()), 8);
}

std::string gib(uint64_t bytes) {
  if (bytes < (1ull << 30))
    return fmt::format("{:.1f} MiB", double(bytes) / double(1ull << 20));
  return fmt::format("{:.2f} GiB", double(bytes) / double(1ull << 30));
}

/// The dealer streams: one op's corrections and its own copy of the op's
/// material at a time.
MemoryNeed dealerNeed(const LoadedPlan &plan) {
  MemoryNeed n;
  for (const OpDesc &op : plan.ops) {
    uint64_t b = mulSat(op.kernel->cost(op).dealerBytes1, 2);
    if (b > n.material) {
      n.material = n.total = b;
      n.op = op.index;
    }
  }
  return n;
}

} // namespace

MemoryNeed mpc::rt::memoryNeed(const LoadedPlan &plan, int role,
                               uint32_t windowMiB) {
  if (role == kDealerRole)
    return dealerNeed(plan);
  std::vector<bool> live(plan.values.size(), false), keep(live);
  for (const plan::PlanOutput &o : plan.proto->outputs())
    keep[o.value()] = true;
  uint64_t values = 0;
  auto hold = [&](const ValueDesc &v) {
    if (!live[v.id] && v.heldBy(role)) {
      live[v.id] = true;
      values = addSat(values, valueBytes(v));
    }
  };
  for (const ValueDesc &v : plan.values)
    if (v.source == ValueSource::Weight || v.source == ValueSource::Constant ||
        v.source == ValueSource::Input)
      hold(v);
  if (role == 1) // W - B of each set-up weight, for the whole run
    for (const ValueDesc *w : plan.setupWeights)
      values = addSat(values, valueBytes(*w));

  // Material: per window, what the window's remaining steps still need.
  const uint64_t perByte = role == 1 ? 2 : 1;
  std::vector<uint64_t> stepMaterial(plan.steps.size(), 0);
  for (size_t s = 0; s < plan.steps.size(); ++s)
    for (size_t i = plan.steps[s].first; i < plan.steps[s].second; ++i)
      stepMaterial[s] = addSat(
          stepMaterial[s],
          mulSat(plan.ops[i].kernel->cost(plan.ops[i]).dealerBytes1, perByte));

  MemoryNeed n;
  n.total = n.values = values;
  for (auto [first, last] : materialWindows(plan, windowMiB)) {
    uint64_t material = 0;
    for (size_t s = first; s < last; ++s)
      material = addSat(material, stepMaterial[s]);
    for (size_t s = first; s < last; ++s) {
      auto [a, b] = plan.steps[s];
      for (size_t i = a; i < b; ++i)
        for (const ValueDesc *v : plan.ops[i].out)
          hold(*v);
      if (addSat(values, material) > n.total) {
        n.total = addSat(values, material);
        n.values = values;
        n.material = material;
        n.op = int(a);
      }
      for (size_t i = a; i < b; ++i)
        for (const ValueDesc *v : plan.ops[i].in)
          if (plan.lastUse[v->id] == int(i) && !keep[v->id] && live[v->id]) {
            live[v->id] = false;
            values -= valueBytes(*v);
          }
      material -= stepMaterial[s];
    }
  }
  return n;
}

uint64_t mpc::rt::defaultMemoryBudget() {
  long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || size <= 0)
    return std::numeric_limits<uint64_t>::max();
  return uint64_t(pages) / 4 * 3 * uint64_t(size);
}

llvm::Error mpc::rt::checkMemoryBudget(const LoadedPlan &plan, int role,
                                       uint32_t windowMiB,
                                       uint64_t budgetBytes) {
  MemoryNeed n = memoryNeed(plan, role, windowMiB);
  if (n.total <= budgetBytes)
    return llvm::Error::success();
  std::string where =
      n.op < 0 ? "before its first op" : "at " + plan.ops[n.op].describe();
  return mpc::error(
      "{}: plan '{}' needs about {} of memory {} ({} of values, {} of "
      "dealer material), more than the {} --max-memory allows{}",
      roleName(role), plan.name, gib(n.total), where, gib(n.values),
      gib(n.material), gib(budgetBytes),
      role == kDealerRole || n.material == 0
          ? ""
          : " (a smaller --material-window holds less material)");
}
