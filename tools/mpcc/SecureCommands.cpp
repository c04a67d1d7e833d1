//===- tools/mpcc/SecureCommands.cpp - compile to a plan, report, simulate ===//
//
// The secure half of mpcc: run the pass pipeline and the backend (plan and
// weights files, or the lowered IR / plan as text), print the cost report
// of a plan, and simulate a plan with both parties and the dealer in this
// process.
//
//===----------------------------------------------------------------------===//

#include "tools/mpcc/Commands.h"

#include "backend/CostReport.h"
#include "backend/EmitPlan.h"
#include "backend/PlanText.h"
#include "frontend/OnnxImporter.h"
#include "ir/IR.h"
#include "passes/ApproxChoice.h"
#include "passes/PassManager.h"
#include "passes/RangeCheck.h"
#include "runtime/plan/InProcess.h"
#include "runtime/plan/Profile.h"
#include "runtime/plan/Weights.h"
#include "runtime/protocols/Nonlinear.h"
#include "support/Tensor.h"

#include "llvm/Support/Path.h"

using namespace mpc;
using namespace mpc::tool;

/// --approx (passes/ApproxChoice.h), --frac-bits, --range-bits.
static llvm::Expected<CompileOptions> compileOptions(const CompileArgs &a) {
  CompileOptions o;
  o.fracBits = a.fracBits;
  o.revealTo = a.revealToBoth ? -1 : 1;
  if (o.fracBits < 8 || o.fracBits > 24)
    return error("--frac-bits {} out of range [8, 24]", o.fracBits);
  o.rangeBits = a.rangeBits;
  if (o.rangeBits < 5 || o.fracBits + o.rangeBits > 61)
    return error("--range-bits {} out of range [5, {}] (with --frac-bits {})",
                 o.rangeBits, 61 - o.fracBits, o.fracBits);
  if (llvm::Error e = applyApproxSpec(a.approx, o))
    return e;
  return o;
}

/// "the gelu input", "the product".
static std::string rangeSubject(const RangeObservation &o) {
  if (o.kind == "product")
    return "the product";
  if (o.kind == "layernorm variance")
    return "the variance (+ eps) of the layernorm input";
  if (o.kind == "layernorm output")
    return "the layernorm output";
  return "the " + o.kind + " input";
}

/// LayerNorm's domain is fixed (RangeCheck.h), not set by --range-bits.
static bool isLayerNormKind(const RangeObservation &o) {
  return llvm::StringRef(o.kind).startswith("layernorm");
}

/// --calibrate: the float interpreter on the sample inputs; a summary on
/// stderr, an error naming the op (and the --range-bits that would do) when
/// a GeLU, tanh or softmax input or a truncated product leaves the range,
/// or a LayerNorm input leaves LayerNorm's fixed domain.
static llvm::Error checkSampleRanges(const Graph &g,
                                     std::map<std::string, HostTensor> files,
                                     int rangeBits) {
  auto inputs = bindInputFiles(g, std::move(files), "--calibrate");
  if (!inputs)
    return inputs.takeError();
  auto report = checkRanges(g, *inputs, rangeBits);
  if (!report)
    return addContext(report.takeError(), "--calibrate: ");
  std::string summary;
  for (const RangeObservation &o : report->worstPerKind)
    summary +=
        fmt::format("{}{} max {}{:.4g} ('{}', {:.0f}x headroom)",
                    summary.empty() ? "" : "; ", o.kind,
                    o.kind == "layernorm variance" ? "" : "|x| ", o.maxAbs,
                    o.node, o.limit / std::max(o.maxAbs, 1e-300));
  llvm::errs() << fmt::format("mpcc: --calibrate, range 2^{}: {}\n", rangeBits,
                              summary.empty() ? "no GeLU, tanh or softmax"
                                              : summary);
  if (report->outside.empty()) {
    for (const RangeObservation &o : report->worstPerKind)
      if (o.maxAbs * 4 >= o.limit)
        llvm::errs() << fmt::format(
            "mpcc: warning: --calibrate: {} of '{}' reaches {:.4g}, "
            "within 4x of {} {:.4g}; inputs in deployment may go "
            "further{}\n",
            rangeSubject(o), o.node, o.maxAbs,
            isLayerNormKind(o) ? "LayerNorm's fixed limit" : "the range's",
            o.limit,
            isLayerNormKind(o)
                ? ""
                : fmt::format(": consider --range-bits {}", rangeBits + 2));
    return llvm::Error::success();
  }
  const RangeObservation &o = report->outside.front();
  if (isLayerNormKind(o))
    return error("--calibrate: {} of '{}' reaches {:.6g}, outside the "
                 "domain of mpcc's LayerNorm (|x| and |output| < 2^{}, "
                 "variance + eps < 2^{}); it would compute wrong values for "
                 "these inputs",
                 rangeSubject(o), o.node, o.maxAbs,
                 rt::layerNormDomain().inputBits,
                 rt::layerNormDomain().varianceBits);
  int need = rangeBits;
  for (const RangeObservation &out : report->outside) {
    if (isLayerNormKind(out))
      continue;
    while (rangeLimit(out.kind, need) <= out.maxAbs)
      ++need;
  }
  return error("--calibrate: {} of '{}' reaches |x| = {:.6g}, "
               "outside --range-bits {} (|x| < {:.6g}); {} op(s) in all; "
               "compile with --range-bits {} (comparisons and truncations "
               "outside the range give wrong results)",
               rangeSubject(o), o.node, o.maxAbs, rangeBits, o.limit,
               report->outside.size(), need);
}

/// "model.plan" -> "model.weights".
static std::string weightsPathFor(llvm::StringRef planPath) {
  llvm::SmallString<128> p(planPath);
  llvm::sys::path::replace_extension(p, ".weights");
  return std::string(p);
}

llvm::Error mpc::tool::compileToPlan(const CompileArgs &args) {
  if (args.emit != "mir" && args.emit != "plan" && args.emit != "plan-text")
    return error("--emit={} is not supported (ir, mir, plan-text, plan)",
                 args.emit);
  if (args.emit == "plan" && (args.output.empty() || args.output == "-"))
    return error("--emit=plan needs -o FILE.plan (the weights go next to "
                 "it, in FILE.weights)");
  auto copts = compileOptions(args);
  if (!copts)
    return copts.takeError();
  auto samples = readInputFiles(args.calibrate, "--calibrate");
  if (!samples)
    return samples.takeError();
  auto iopts = importOptions(args.inputShapes, args.patterns);
  if (!iopts)
    return iopts.takeError();
  for (const auto &[name, t] : *samples)
    iopts->shapeHints.emplace(name, t.shape); // --input-shape takes precedence.
  auto g = importOnnxFile(args.model, *iopts);
  if (!g)
    return g.takeError();
  if (!samples->empty())
    if (llvm::Error e =
            checkSampleRanges(**g, std::move(*samples), copts->rangeBits))
      return addContext(std::move(e), args.model + ": ");

  PassManagerOptions pmo;
  pmo.printAfterAll = args.printAfterAll;
  pmo.timePasses = args.timePasses;
  pmo.verifyEach = true;
  PassManager pm(pmo);
  if (llvm::Error e = pm.addPipeline(
          args.passes.empty() ? defaultPipeline(*copts) : args.passes))
    return e;
  PassContext ctx(*copts);
  if (llvm::Error e = pm.run(**g, ctx))
    return addContext(std::move(e), args.model + ": ");
  for (const std::string &w : ctx.warnings())
    llvm::errs() << "mpcc: warning: " << w << "\n";
  if (args.emit == "mir")
    return writeText(args.output, printGraphToString(**g));

  std::string name = llvm::sys::path::stem(args.model).str();
  auto emitted = emitPlan(**g, *copts, name);
  if (!emitted)
    return emitted.takeError();
  if (args.emit == "plan-text")
    return writeText(args.output, planToText(emitted->plan));
  std::string weights = weightsPathFor(args.output);
  if (llvm::Error e = writePlanAndWeights(*emitted, args.output, weights))
    return e;
  llvm::errs() << llvm::formatv("mpcc: wrote {0} ({1} ops) and {2} ({3} "
                                "weight tensors, party 0 only)\n",
                                args.output, emitted->plan.ops_size(), weights,
                                emitted->weights.size());
  return llvm::Error::success();
}

llvm::Error mpc::tool::runReport(const ReportArgs &args) {
  auto net = parseNetworkModel(args.net);
  if (!net)
    return net.takeError();
  auto format = parseReportFormat(args.format);
  if (!format)
    return format.takeError();
  auto plan = rt::readPlan(args.plan);
  if (!plan)
    return plan.takeError();
  printCostReport(*plan, *net, measureLocalRates(), *format, llvm::outs());
  return llvm::Error::success();
}

llvm::Error mpc::tool::runSimulate(const SimulateArgs &args,
                                   llvm::raw_ostream &summary) {
  auto plan = rt::readPlan(args.plan);
  if (!plan)
    return plan.takeError();
  std::string weightsPath =
      args.weights.empty() ? weightsPathFor(args.plan) : args.weights;
  auto weights = rt::readWeightsFile(weightsPath, *plan);
  if (!weights)
    return weights.takeError();
  std::map<std::string, HostTensor> inputs;
  for (const std::string &arg : args.inputs) {
    auto nv = parseNameEqualsValue(arg, "--input");
    if (!nv)
      return nv.takeError();
    auto t = readTensorFile(nv->second);
    if (!t)
      return t.takeError();
    inputs[nv->first] = std::move(*t);
  }
  auto res = rt::runInProcess(*plan, std::move(*weights), inputs);
  if (!res)
    return res.takeError();
  if (res->outputs.empty())
    return error("the plan revealed no output to party 1");
  if (!args.profile.empty()) {
    std::string json;
    llvm::raw_string_ostream os(json);
    os << llvm::formatv("{0:2}", rt::profileToJson(res->profile)) << "\n";
    if (llvm::Error e = writeFileAtomic(args.profile, os.str()))
      return e;
  }
  const auto &[name, out] = *res->outputs.begin();
  if (!args.output.empty())
    if (llvm::Error e = writeNpy(args.output, out))
      return e;
  summary << llvm::formatv(
      "simulated {0}: output '{1}' {2}; {3} rounds, "
      "{4:f3} MB online, {5:f3} s online\n",
      args.plan, name, shapeStr(out.shape), res->profile.onlineRounds,
      (res->profile.onlineBytes01 + res->profile.onlineBytes10) / 1e6,
      res->profile.onlineSeconds);
  return llvm::Error::success();
}
