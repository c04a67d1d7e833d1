//===- fuzz/WeightsFuzz.cpp - Fuzz target: the weights reader -------------===//
//
// Bytes -> parseWeights (what readWeightsFile does with a file's contents)
// against one fixed plan, fuzz/weights.plan, whose weights file is the seed
// corpus (mutations that keep its plan digest reach the tensor records).
// MPCC_FUZZ_WEIGHTS_PLAN in the environment names another plan.
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzTarget.h"

#include "runtime/plan/Weights.h"

using namespace mpc;

static const rt::LoadedPlan *gPlan = nullptr;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *path = std::getenv("MPCC_FUZZ_WEIGHTS_PLAN");
  auto plan = rt::readPlan(path ? path : MPCC_FUZZ_WEIGHTS_PLAN);
  if (!plan) {
    std::fprintf(stderr,
                 "weights fuzz target: %s\n(a plan format change? "
                 "scripts/make_fuzz_corpus.py BUILD_DIR remakes the seeds)\n",
                 llvm::toString(plan.takeError()).c_str());
    std::exit(1);
  }
  gPlan = new rt::LoadedPlan(std::move(*plan));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto weights = rt::parseWeights({data, size}, "fuzz.weights", *gPlan);
  rt::WeightMap *w = fuzz::accepted(weights, fuzz::asString(data, size));
  if (!w)
    return 0;
  std::vector<int> ids = gPlan->weightIds();
  if (w->size() != ids.size())
    fuzz::fail("accepted weights hold another number of tensors than the "
               "plan's weights");
  for (int id : ids)
    if (!w->count(id) || w->at(id).shape() != gPlan->value(id).shape)
      fuzz::fail("accepted weight " + std::to_string(id) +
                 " is missing or has another shape than the plan's");
  return 0;
}
