//===- driver/Compile.cpp - The compile library ---------------------------===//
//
// Option checks, the pipeline run, and the compile to files: import, the
// calibration check, the pipeline, the backend, then the writes, each of
// which replaces its file only when complete.
//
//===----------------------------------------------------------------------===//

#include "driver/Compile.h"

#include "backend/PlanText.h"
#include "ir/IR.h"
#include "passes/ApproxChoice.h"
#include "passes/PassManager.h"
#include "support/Diag.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

using namespace mpc;

llvm::Expected<CompileOptions>
mpc::makeCompileOptions(const CompileFlags &flags) {
  CompileOptions o;
  o.fracBits = flags.fracBits;
  o.revealTo = flags.revealToBoth ? -1 : 1;
  if (o.fracBits < 8 || o.fracBits > 24)
    return error("--frac-bits {} out of range [8, 24]", o.fracBits);
  o.rangeBits = flags.rangeBits;
  if (o.rangeBits < 5 || o.fracBits + o.rangeBits > 61)
    return error("--range-bits {} out of range [5, {}] (with --frac-bits {})",
                 o.rangeBits, 61 - o.fracBits, o.fracBits);
  if (llvm::Error e = applyApproxSpec(flags.approx, o))
    return e;
  return o;
}

llvm::Expected<EmitKind> mpc::parseEmitKind(llvm::StringRef name,
                                            llvm::StringRef output) {
  if (name.empty())
    name = output.endswith(".plan") ? "plan" : "ir";
  std::optional<EmitKind> kind;
  if (name == "ir")
    kind = EmitKind::IR;
  else if (name == "mir")
    kind = EmitKind::MIR;
  else if (name == "plan-text")
    kind = EmitKind::PlanText;
  else if (name == "plan")
    kind = EmitKind::Plan;
  else
    return error("--emit={} is not supported (ir, mir, plan-text, plan)",
                 name.str());
  if (*kind == EmitKind::Plan && (output.empty() || output == "-"))
    return error("--emit=plan needs -o FILE.plan (the weights go next to "
                 "it, in FILE.weights)");
  return *kind;
}

llvm::Error mpc::runPipeline(Graph &g, const CompileOptions &opts,
                             const PipelineSettings &settings,
                             std::vector<std::string> *warnings) {
  PassManagerOptions pmo;
  pmo.printAfterAll = settings.printAfterAll;
  pmo.timePasses = settings.timePasses;
  pmo.verifyEach = true;
  PassManager pm(pmo);
  if (llvm::Error e = pm.addPipeline(
          settings.passes.empty() ? defaultPipeline(opts) : settings.passes))
    return e;
  PassContext ctx(opts);
  if (llvm::Error e = pm.run(g, ctx))
    return e;
  if (warnings)
    warnings->insert(warnings->end(), ctx.warnings().begin(),
                     ctx.warnings().end());
  return llvm::Error::success();
}

llvm::Error mpc::checkPipeline(llvm::StringRef passes) {
  PassManager pm;
  return pm.addPipeline(passes);
}

llvm::Expected<std::string> mpc::optimizeText(llvm::StringRef text,
                                              llvm::StringRef name,
                                              const CompileOptions &opts,
                                              llvm::StringRef passes,
                                              bool verify) {
  auto g = parseGraph(text, name);
  if (!g)
    return g.takeError();
  PassManagerOptions pmo;
  pmo.verifyEach = verify;
  for (const auto &op : (*g)->ops())
    if (opKindStage(op->kind()) == OpStage::Lowered)
      pmo.stage = OpStage::Lowered;
  if (verify)
    if (llvm::Error e = verifyGraph(**g, pmo.stage))
      return addContext(std::move(e), (name + ": ").str());
  PassManager pm(pmo);
  if (llvm::Error e = pm.addPipeline(passes))
    return e;
  PassContext ctx(opts);
  if (llvm::Error e = pm.run(**g, ctx))
    return addContext(std::move(e), (name + ": ").str());
  return printGraphToString(**g);
}

llvm::Expected<EmittedPlan>
mpc::compileGraph(Graph &g, const CompileOptions &opts, llvm::StringRef name,
                  std::vector<std::string> *warnings) {
  if (llvm::Error e = runPipeline(g, opts, {}, warnings))
    return e;
  return emitPlan(g, opts, name);
}

/// The graph input an ONNX input name refers to.
static const Value *findInput(const Graph &g, llvm::StringRef name) {
  if (const Value *v = g.findInput(name))
    return v;
  for (const Value *v : g.inputs())
    if (v->name() == sanitizeOnnxName(name))
      return v;
  return nullptr;
}

llvm::Expected<std::map<std::string, HostTensor>>
mpc::bindInputFiles(const Graph &g, std::map<std::string, HostTensor> files,
                    llvm::StringRef flag) {
  std::map<std::string, HostTensor> inputs;
  for (auto &[name, t] : files) {
    const Value *in = findInput(g, name);
    if (!in)
      return error("{}: the model has no input named '{}'", flag, name);
    inputs[in->name()] = std::move(t);
  }
  return inputs;
}

llvm::Error mpc::writeText(llvm::StringRef path, llvm::StringRef text) {
  if (path.empty() || path == "-") {
    llvm::outs() << text;
    llvm::outs().flush();
    return llvm::Error::success();
  }
  return writeFileAtomic(path, text);
}

std::string mpc::weightsPathFor(llvm::StringRef planPath) {
  llvm::SmallString<128> p(planPath);
  llvm::sys::path::replace_extension(p, ".weights");
  return std::string(p);
}

llvm::Error mpc::compileToFiles(const CompileRequest &req,
                                llvm::raw_ostream &log) {
  ImportOptions iopts = req.import;
  PatternStats stats;
  iopts.stats = &stats;
  for (const auto &[name, t] : req.calibration)
    iopts.shapeHints.emplace(name, t.shape); // --input-shape takes precedence.
  auto g = importOnnxFile(req.model, iopts);
  if (!g)
    return g.takeError();
  if (req.stats)
    log << "mpcc: patterns: " << stats.str() << "\n";
  if (!req.calibration.empty()) {
    auto inputs = bindInputFiles(**g, req.calibration, "--calibrate");
    if (!inputs)
      return addContext(inputs.takeError(), req.model + ": ");
    if (llvm::Error e = checkCalibration(**g, *inputs, req.options, log))
      return addContext(std::move(e), req.model + ": ");
  } else if (req.emit != EmitKind::IR) {
    for (const std::string &w : uncheckedDomainWarnings(req.options))
      log << "mpcc: warning: " << w << "\n";
  }
  if (req.emit == EmitKind::IR)
    return writeText(req.output, printGraphToString(**g));

  std::vector<std::string> warnings;
  if (llvm::Error e = runPipeline(**g, req.options, req.pipeline, &warnings))
    return addContext(std::move(e), req.model + ": ");
  for (const std::string &w : warnings)
    log << "mpcc: warning: " << w << "\n";
  if (req.emit == EmitKind::MIR)
    return writeText(req.output, printGraphToString(**g));

  std::string name = llvm::sys::path::stem(req.model).str();
  auto emitted = emitPlan(**g, req.options, name);
  if (!emitted)
    return emitted.takeError();
  if (req.emit == EmitKind::PlanText)
    return writeText(req.output, planToText(emitted->plan));
  std::string weights = weightsPathFor(req.output);
  if (llvm::Error e = writePlanAndWeights(*emitted, req.output, weights))
    return e;
  log << llvm::formatv("mpcc: wrote {0} ({1} ops) and {2} ({3} weight "
                       "tensors, party 0 only)\n",
                       req.output, emitted->plan.ops_size(), weights,
                       emitted->weights.size());
  return llvm::Error::success();
}
