//===- runtime/session/ClientCheck.cpp - What party 0 would learn ---------===//
//
// One pass over the ops in plan order (the plan reader has checked that it
// is topological), carrying for each value the party-1 input it derives
// from, if any.
//
//===----------------------------------------------------------------------===//
#include "runtime/session/ClientCheck.h"
#include "runtime/plan/Executor.h"

#include "support/Diag.h"

#include <set>

using namespace mpc;
using namespace mpc::rt;

namespace {

bool party0Sees(const ValueDesc &v) {
  return v.vis == Vis::Public || v.vis == Vis::Private0;
}

} // namespace

llvm::Expected<std::string> mpc::rt::checkPlanForClient(const LoadedPlan &plan,
                                                        bool revealToBoth) {
  // The party-1 input each value derives from ("" when none).
  std::vector<std::string> from(plan.values.size());
  for (const plan::PlanInput &in : plan.proto->inputs())
    if (in.owner() == 1)
      from[in.value()] = in.name();
  std::map<int, std::string> outputName;
  for (const plan::PlanOutput &o : plan.proto->outputs())
    outputName[o.value()] = o.name();

  for (const OpDesc &op : plan.ops) {
    std::string source;
    bool hiddenSource = false;
    for (const ValueDesc *v : op.in)
      if (!from[v->id].empty()) {
        if (source.empty())
          source = from[v->id];
        hiddenSource |= !party0Sees(*v);
      }
    if (source.empty())
      continue;
    for (const ValueDesc *v : op.out) {
      from[v->id] = source;
      if (!hiddenSource || !party0Sees(*v))
        continue;
      auto out = outputName.find(v->id);
      if (out != outputName.end() && revealToBoth)
        continue;
      std::string what = fmt::format(
          "the plan reveals to party 0 a value computed from party 1's "
          "input '{}': {} makes {} visible to party 0",
          source, op.describe(), v->describe());
      if (out == outputName.end())
        return mpc::error("{}; it is not an output of the model: party 1 "
                          "refuses this plan",
                          what);
      return mpc::error("{}, the model output '{}': party 1 refuses this plan "
                        "unless it passes --reveal-to-both",
                        what, out->second);
    }
  }

  std::string learned;
  if (revealToBoth)
    for (const plan::PlanOutput &o : plan.proto->outputs()) {
      const ValueDesc &v = plan.value(o.value());
      if (from[v.id].empty())
        continue; // nothing of the client's in it
      learned += fmt::format("{}output '{}' {}", learned.empty() ? "" : ", ",
                             o.name(), dims(v.shape));
    }
  return "party 0 learns: " +
         (learned.empty() ? std::string("nothing but the plan's shapes")
                          : learned);
}
