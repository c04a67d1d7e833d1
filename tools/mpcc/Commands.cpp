//===- tools/mpcc/Commands.cpp - The mpcc subcommands ---------------------===//
//
// Glue between the command line and the libraries: model loading (shape
// bindings from flags or from the input files), output writing (atomic;
// nothing is written unless everything before succeeded), summaries.
//
//===----------------------------------------------------------------------===//

#include "tools/mpcc/Commands.h"

#include "frontend/OnnxImporter.h"
#include "ir/IR.h"
#include "passes/PassManager.h"
#include "support/Diag.h"
#include "support/Tensor.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <chrono>

using namespace mpc;
using namespace mpc::tool;

/// Writes \p text to \p path atomically, or to stdout for "" / "-".
llvm::Error mpc::tool::writeText(llvm::StringRef path, llvm::StringRef text) {
  if (path.empty() || path == "-") {
    llvm::outs() << text;
    llvm::outs().flush();
    return llvm::Error::success();
  }
  return writeFileAtomic(path, text);
}

llvm::Expected<ImportOptions>
mpc::tool::importOptions(const std::vector<std::string> &inputShapes,
                         bool patterns) {
  ImportOptions opts;
  opts.recognisePatterns = patterns;
  for (const std::string &arg : inputShapes)
    if (llvm::Error e = parseInputShapeArg(arg, opts.inputShapes))
      return e;
  return opts;
}

llvm::Error mpc::tool::runCompile(const CompileArgs &args) {
  std::string emit = args.emit;
  if (emit.empty())
    emit = llvm::StringRef(args.output).endswith(".plan") ? "plan" : "ir";
  if (emit != "ir") {
    CompileArgs lowered = args;
    lowered.emit = emit;
    return compileToPlan(lowered);
  }
  auto opts = importOptions(args.inputShapes, args.patterns);
  if (!opts)
    return opts.takeError();
  PatternStats stats;
  opts->stats = &stats;
  auto g = importOnnxFile(args.model, *opts);
  if (!g)
    return g.takeError();
  if (args.stats)
    llvm::errs() << "mpcc: patterns: " << stats.str() << "\n";
  return writeText(args.output, printGraphToString(**g));
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
mpc::tool::readInputFiles(const std::vector<std::string> &specs,
                          llvm::StringRef flag) {
  std::map<std::string, HostTensor> files;
  for (const std::string &arg : specs) {
    auto kv = parseNameEqualsValue(arg, flag);
    if (!kv)
      return kv.takeError();
    auto t = readTensorFile(kv->second);
    if (!t)
      return t.takeError();
    if (!files.emplace(kv->first, std::move(*t)).second)
      return error("{}: input '{}' is given twice", flag, kv->first);
  }
  return files;
}

llvm::Expected<std::map<std::string, HostTensor>>
mpc::tool::bindInputFiles(const Graph &g,
                          std::map<std::string, HostTensor> files,
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

llvm::Error mpc::tool::runFloat(const FloatArgs &args,
                                llvm::raw_ostream &summary) {
  auto start = std::chrono::steady_clock::now();
  // Read the inputs first: their shapes bind the model's dynamic axes.
  auto files = readInputFiles(args.inputs, "--input");
  if (!files)
    return files.takeError();
  auto opts = importOptions(args.inputShapes, args.patterns);
  if (!opts)
    return opts.takeError();
  for (const auto &[name, t] : *files)
    opts->shapeHints.emplace(name, t.shape); // --input-shape takes precedence.
  auto g = importOnnxFile(args.model, *opts);
  if (!g)
    return g.takeError();
  auto inputs = bindInputFiles(**g, std::move(*files), "--input");
  if (!inputs)
    return inputs.takeError();
  auto outs = interpretGraph(**g, *inputs);
  if (!outs)
    return outs.takeError();

  // Which output goes to which file: "FILE" is the first output.
  llvm::ArrayRef<Value *> graphOuts = (*g)->outputs();
  std::vector<std::pair<size_t, std::string>> writes;
  for (const std::string &arg : args.outputs) {
    llvm::StringRef a(arg);
    if (!a.contains('=')) {
      writes.push_back({0, arg});
      continue;
    }
    auto [name, file] = a.split('=');
    size_t k = 0;
    while (k < graphOuts.size() && graphOuts[k]->name() != name &&
           graphOuts[k]->name() != sanitizeOnnxName(name))
      ++k;
    if (k == graphOuts.size())
      return error("--output: the model has no output named '{}'", name);
    writes.push_back({k, file.str()});
  }
  if (writes.empty())
    return error("no --output given");
  for (const auto &[k, file] : writes)
    if (llvm::Error e = writeNpy(file, (*outs)[k]))
      return e;

  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  const HostTensor &first = (*outs)[writes[0].first];
  summary << llvm::formatv("mpcc float: {0}: {1} ops, output '{2}' {3} -> "
                           "{4} ({5:F3} s)\n",
                           args.model, (*g)->ops().size(),
                           graphOuts[writes[0].first]->name(),
                           shapeStr(first.shape), writes[0].second, secs);
  return llvm::Error::success();
}

llvm::Error mpc::tool::runOpt(const OptArgs &args) {
  auto buf = llvm::MemoryBuffer::getFileOrSTDIN(args.input, /*IsText=*/true);
  if (!buf)
    return error("cannot read '{}': {}", args.input, buf.getError().message());
  auto g = parseGraph((*buf)->getBuffer(), args.input);
  if (!g)
    return g.takeError();
  // Lowered-only ops in the input mean it is a lowered graph.
  OpStage stage = OpStage::Semantic;
  for (const auto &op : (*g)->ops())
    if (opKindStage(op->kind()) == OpStage::Lowered)
      stage = OpStage::Lowered;
  if (args.verify)
    if (llvm::Error e = verifyGraph(**g, stage))
      return addContext(std::move(e), args.input + ": ");
  if (args.rangeBits < 5 || args.rangeBits > 45)
    return error("--range-bits {} out of range [5, 45]", args.rangeBits);
  if (!args.passes.empty()) {
    PassManagerOptions pmo;
    pmo.verifyEach = args.verify;
    PassManager pm(pmo);
    if (llvm::Error e = pm.addPipeline(args.passes))
      return e;
    CompileOptions copts;
    copts.rangeBits = args.rangeBits;
    PassContext ctx(copts);
    if (llvm::Error e = pm.run(**g, ctx))
      return addContext(std::move(e), args.input + ": ");
  }
  return writeText(args.output, printGraphToString(**g));
}
