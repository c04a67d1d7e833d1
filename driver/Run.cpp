//===- driver/Run.cpp - Running a model or a plan on input files ----------===//
//
// Both runs read everything, run, and only then write: a failure leaves no
// output file behind. Outputs are taken in the model's (plan's) order, never
// in the order of a name-keyed map.
//
//===----------------------------------------------------------------------===//

#include "driver/Run.h"

#include "driver/ApproxSim.h"
#include "driver/Compile.h"
#include "ir/IR.h"
#include "passes/ApproxChoice.h"
#include "runtime/plan/InProcess.h"
#include "runtime/plan/PlanReader.h"
#include "runtime/plan/Profile.h"
#include "runtime/plan/Weights.h"
#include "support/Diag.h"

#include "llvm/Support/FormatVariadic.h"

#include <chrono>

using namespace mpc;

llvm::Expected<std::vector<std::pair<size_t, std::string>>>
mpc::resolveOutputFiles(llvm::ArrayRef<std::string> outputs,
                        const std::vector<std::string> &specs) {
  std::vector<std::pair<size_t, std::string>> writes;
  for (const std::string &arg : specs) {
    llvm::StringRef a(arg);
    size_t k = 0;
    std::string file = arg;
    if (a.contains('=')) {
      auto [name, path] = a.split('=');
      while (k < outputs.size() && outputs[k] != name &&
             outputs[k] != sanitizeOnnxName(name))
        ++k;
      if (k == outputs.size())
        return error("--output: the model has no output named '{}'", name);
      file = path.str();
    }
    if (outputs.empty())
      return error("--output {}: there is no output to write", arg);
    writes.push_back({k, file});
  }
  return writes;
}

llvm::Error mpc::runFloat(const FloatRequest &req, llvm::raw_ostream &summary) {
  auto start = std::chrono::steady_clock::now();
  ImportOptions opts = req.import;
  for (const auto &[name, t] : req.inputs)
    opts.shapeHints.emplace(name, t.shape); // --input-shape takes precedence.
  auto g = importOnnxFile(req.model, opts);
  if (!g)
    return g.takeError();
  auto inputs = bindInputFiles(**g, req.inputs, "--input");
  if (!inputs)
    return inputs.takeError();
  if (llvm::Error e = requireEveryInput(**g, *inputs, "--input"))
    return e;
  std::optional<ApproxSimulator> sim;
  if (req.simulate) {
    if (llvm::Error e = checkNodeRules(**g, *req.simulate))
      return addContext(std::move(e), req.model + ": ");
    sim.emplace(*req.simulate);
  }
  auto outs = interpretGraph(**g, *inputs, {}, sim ? &*sim : nullptr);
  if (!outs)
    return outs.takeError();

  std::vector<std::string> names;
  for (unsigned i = 0; i < (*g)->outputs().size(); ++i)
    names.push_back((*g)->outputName(i).str());
  auto writes = resolveOutputFiles(names, req.outputs);
  if (!writes)
    return writes.takeError();
  if (writes->empty())
    return error("no --output given");
  for (const auto &[k, file] : *writes)
    if (llvm::Error e = writeNpy(file, (*outs)[k]))
      return e;

  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  const auto &[first, file] = writes->front();
  summary << llvm::formatv("mpcc float: {0}: {1} ops, output '{2}' {3} -> "
                           "{4} ({5:F3} s){6}\n",
                           req.model, (*g)->ops().size(), names[first],
                           shapeStr((*outs)[first].shape), file, secs,
                           sim ? ", approximations simulated" : "");
  return llvm::Error::success();
}

llvm::Error mpc::runSimulate(const SimulateRequest &req,
                             llvm::raw_ostream &summary) {
  auto plan = rt::readPlan(req.plan);
  if (!plan)
    return plan.takeError();
  std::string weightsPath =
      req.weights.empty() ? weightsPathFor(req.plan) : req.weights;
  auto weights = rt::readWeightsFile(weightsPath, *plan);
  if (!weights)
    return weights.takeError();
  auto res = rt::runInProcess(*plan, std::move(*weights), req.inputs);
  if (!res)
    return res.takeError();
  // The client's outputs in the plan's order.
  std::vector<std::string> names;
  for (const plan::PlanOutput &out : plan->proto->outputs())
    if (res->outputs.count(out.name()))
      names.push_back(out.name());
  if (names.empty())
    return error("the plan revealed no output to party 1");
  auto writes = resolveOutputFiles(names, req.outputs);
  if (!writes)
    return writes.takeError();

  if (!req.profile.empty()) {
    std::string json;
    llvm::raw_string_ostream os(json);
    os << llvm::formatv("{0:2}", rt::profileToJson(res->profile)) << "\n";
    if (llvm::Error e = writeFileAtomic(req.profile, os.str()))
      return e;
  }
  std::vector<std::string> fileOf(names.size());
  for (const auto &[k, file] : *writes) {
    if (llvm::Error e = writeNpy(file, res->outputs.at(names[k])))
      return e;
    fileOf[k] = file;
  }
  std::string outs;
  for (size_t k = 0; k < names.size(); ++k)
    outs += llvm::formatv("{0}output '{1}' {2}{3}", k ? ", " : "", names[k],
                          shapeStr(res->outputs.at(names[k]).shape),
                          fileOf[k].empty() ? "" : " -> " + fileOf[k])
                .str();
  summary << llvm::formatv(
      "simulated {0}: {1}; {2} rounds, {3:f3} MB "
      "online, {4:f3} s online\n",
      req.plan, outs, res->profile.onlineRounds,
      (res->profile.onlineBytes01 + res->profile.onlineBytes10) / 1e6,
      res->profile.onlineSeconds);
  return llvm::Error::success();
}
