//===- driver/Compile.cpp - The compile library ---------------------------===//
//
// Option checks, the pipeline run, and the compile to files: import, the
// calibration check, the pipeline, the backend, then the writes, each of
// which replaces its file only when complete.
//
//===----------------------------------------------------------------------===//

#include "driver/Compile.h"

#include "driver/ApproxAuto.h"

#include "backend/PlanText.h"
#include "ir/IR.h"
#include "passes/ApproxChoice.h"
#include "passes/PassManager.h"
#include "runtime/protocols/ApproxCost.h"
#include "runtime/protocols/Compare.h"
#include "support/Diag.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

using namespace mpc;

/// "8..17": the --frac-bits that \p a supports at \p rangeBits, as ranges.
/// (--frac-bits takes [kMinFracBits, kMaxFracBits] at all; checkFracBits
/// asks the runtime what each chosen approximation takes.)
static std::string fracBitsSupported(rt::Approximation a, int rangeBits) {
  std::vector<int> ok;
  for (int f = kMinFracBits; f <= kMaxFracBits; ++f) {
    if (llvm::Error e = rt::validateApproxRow(a, f, rangeBits))
      llvm::consumeError(std::move(e));
    else
      ok.push_back(f);
  }
  std::string s;
  for (size_t i = 0, j = 0; i < ok.size(); i = ++j) {
    while (j + 1 < ok.size() && ok[j + 1] == ok[j] + 1)
      ++j;
    s += (s.empty() ? "" : ", ") +
         (i == j ? std::to_string(ok[i]) : fmt::format("{}..{}", ok[i], ok[j]));
  }
  return s.empty() ? "none" : s;
}

/// Refuses a --frac-bits that a chosen approximation does not support (the
/// runtime's validator says which do), before any model is read: a plan
/// that the runtime would refuse is never written.
static llvm::Error checkFracBits(const CompileOptions &o) {
  for (rt::ApproxKind kind : rt::perOpApproxKinds()) {
    for (rt::Approximation a : o.approxChoices(kind)) {
      llvm::Error e = rt::validateApproxRow(a, o.fracBits, o.rangeBits);
      if (!e) {
        if (llvm::Error ex = rt::validateApproxRow(a, o.fracBits, o.rangeBits,
                                                   o.exactTruncation))
          return error("--exact-truncation: {}; choose another --approx",
                       llvm::toString(std::move(ex)));
        continue;
      }
      std::string why = llvm::toString(std::move(e));
      std::string others;
      for (const rt::ApproxInfo *b : rt::approxesOf(kind)) {
        if (llvm::Error eb =
                rt::validateApproxRow(b->id, o.fracBits, o.rangeBits)) {
          llvm::consumeError(std::move(eb));
          continue;
        }
        others += (others.empty() ? "" : ", ") + b->shortName;
      }
      const rt::ApproxInfo &info = rt::approxInfo(a);
      std::string kindName = rt::approxKindName(kind).str();
      return error(
          "--frac-bits {}: {} supports --frac-bits {} only ({}); "
          "choose one of those{}",
          o.fracBits, info.name, fracBitsSupported(a, o.rangeBits), why,
          others.empty() ? fmt::format(" (no {} approximation supports {})",
                                       kindName, o.fracBits)
                         : fmt::format(", or --approx {}=NAME with NAME one "
                                       "of: {}",
                                       kindName, others));
    }
  }
  return llvm::Error::success();
}

llvm::Expected<CompileOptions>
mpc::makeCompileOptions(const CompileFlags &flags) {
  CompileOptions o;
  o.fracBits = flags.fracBits;
  o.autoScales = flags.autoFracBits;
  o.revealTo = flags.revealToBoth ? -1 : 1;
  o.exactTruncation = flags.exactTruncation;
  if (o.fracBits < kMinFracBits || o.fracBits > kMaxFracBits)
    return error("--frac-bits {} out of range [{}, {}]", o.fracBits,
                 kMinFracBits, kMaxFracBits);
  o.rangeBits = flags.rangeBits;
  if (o.rangeBits < 5 || o.rangeBits > rt::maxRangeBits(o.fracBits))
    return error("--range-bits {} out of range [5, {}] (with --frac-bits {})",
                 o.rangeBits, rt::maxRangeBits(o.fracBits), o.fracBits);
  if (llvm::Error e = applyApproxSpec(flags.approx, o))
    return e;
  if (llvm::Error e = checkFracBits(o))
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

llvm::Error
mpc::requireEveryInput(const Graph &g,
                       const std::map<std::string, HostTensor> &bound,
                       llvm::StringRef flag) {
  for (const Value *in : g.inputs())
    if (!bound.count(in->name()))
      return error("{0}: no file for the model's input '{1}' ({2}); give it "
                   "with {0} {1}=FILE",
                   flag, in->name(), in->type().str());
  return llvm::Error::success();
}

llvm::Expected<std::vector<std::map<std::string, HostTensor>>>
mpc::bindCalibration(const Graph &g, std::map<std::string, HostTensor> files) {
  auto bound = bindInputFiles(g, std::move(files), "--calibrate");
  if (!bound)
    return bound.takeError();
  if (llvm::Error e = requireEveryInput(g, *bound, "--calibrate"))
    return e;
  // How many batches of the graph's input shape each file holds.
  auto batchesIn = [&](const std::string &name,
                       const HostTensor &t) -> llvm::Expected<int64_t> {
    const auto &want = g.findInput(name)->type().shape;
    std::vector<int64_t> wanted(want.begin(), want.end());
    if (t.shape == wanted)
      return 1;
    bool rowsOfIt =
        !want.empty() && t.shape.size() == want.size() && want[0] > 0 &&
        std::equal(want.begin() + 1, want.end(), t.shape.begin() + 1);
    if (!rowsOfIt)
      return error("--calibrate: '{}' has shape {}; the model's input is {} "
                   "(or several batches of it along the first axis)",
                   name, shapeStr(t.shape), shapeStr(wanted));
    if (t.shape[0] % want[0] != 0 || t.shape[0] == 0)
      return error("--calibrate: '{}' has {} rows, not a positive multiple "
                   "of the model's batch of {}",
                   name, t.shape[0], want[0]);
    return t.shape[0] / want[0];
  };
  int64_t batches = 0;
  std::string firstName;
  for (const auto &[name, t] : *bound) {
    auto kOr = batchesIn(name, t);
    if (!kOr)
      return kOr.takeError();
    int64_t k = *kOr;
    if (batches && k != batches)
      return error("--calibrate: '{}' holds {} batch(es) of the model's "
                   "input shape but '{}' holds {} ({} and {}): give every "
                   "input the same number of samples",
                   firstName, batches, name, k,
                   shapeStr(bound->at(firstName).shape), shapeStr(t.shape));
    batches = k;
    firstName = name;
  }
  if (batches <= 1)
    return std::vector<std::map<std::string, HostTensor>>{std::move(*bound)};
  std::vector<std::map<std::string, HostTensor>> out(
      static_cast<size_t>(batches));
  for (const auto &[name, t] : *bound) {
    int64_t rows = t.shape[0] / batches;
    for (int64_t b = 0; b < batches; ++b)
      out[size_t(b)][name] = batchRows(t, b * rows, rows, rows);
  }
  return out;
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
  CompileOptions options = req.options;
  if (llvm::Error e = checkNodeRules(**g, options))
    return addContext(std::move(e), req.model + ": ");
  if ((req.autoMaxError || !req.frontierBudgets.empty()) &&
      req.calibration.empty())
    return error("--approx {} needs --calibrate samples: it measures the "
                 "model's simulated output on them",
                 req.autoMaxError ? "auto" : "frontier");
  if (options.autoScales && req.calibration.empty())
    return error("--frac-bits auto picks each GeLU's, tanh's, ReLU's and "
                 "softmax's scale from the values sample inputs reach: give "
                 "--calibrate NAME=FILE for every model input");
  if (!req.calibration.empty()) {
    auto inputs = bindCalibration(**g, req.calibration);
    if (!inputs)
      return addContext(inputs.takeError(), req.model + ": ");
    if (inputs->size() > 1)
      log << fmt::format("mpcc: --calibrate: {} batches of the model's input "
                         "shape\n",
                         inputs->size());
    if (!req.frontierBudgets.empty()) {
      auto frontier = approxFrontier(**g, *inputs, options, req.net,
                                     req.frontierBudgets, req.workRates);
      if (!frontier)
        return addContext(frontier.takeError(), req.model + ": ");
      if (!req.frontierSvg.empty()) {
        if (llvm::Error e =
                writeFileAtomic(req.frontierSvg, frontierSvg(*frontier)))
          return e;
        log << "mpcc: wrote the frontier plot to " << req.frontierSvg << "\n";
      }
      return writeText(req.output, frontierTable(*frontier));
    }
    if (req.autoMaxError) {
      auto choice = chooseApproxAuto(**g, *inputs, options, *req.autoMaxError,
                                     req.net, req.workRates);
      if (!choice)
        return addContext(choice.takeError(), req.model + ": ");
      printAutoChoice(*choice, *req.autoMaxError, log);
      applyAutoChoice(*choice, *req.autoMaxError, options);
    }
    if (llvm::Error e = checkCalibration(
            **g, *inputs, options, log,
            options.autoScales ? &options.calibratedInputMax : nullptr))
      return addContext(std::move(e), req.model + ": ");
  } else if (req.emit != EmitKind::IR) {
    for (const std::string &w : uncheckedDomainWarnings(options))
      log << "mpcc: warning: " << w << "\n";
  }
  if (req.emit == EmitKind::IR)
    return writeText(req.output, printGraphToString(**g));

  std::vector<std::string> warnings;
  if (llvm::Error e = runPipeline(**g, options, req.pipeline, &warnings))
    return addContext(std::move(e), req.model + ": ");
  for (const std::string &w : warnings)
    log << "mpcc: warning: " << w << "\n";
  if (req.emit == EmitKind::MIR)
    return writeText(req.output, printGraphToString(**g));

  std::string name = llvm::sys::path::stem(req.model).str();
  auto emitted = emitPlan(**g, options, name);
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
  if (options.autoScales)
    log << "mpcc: --frac-bits auto: the plan shows the client each GeLU's, "
           "tanh's, ReLU's and softmax's largest input on the calibration "
           "samples, to within a factor of two (its range); without auto, "
           "plans of one architecture are the same whatever the weights\n";
  return llvm::Error::success();
}
