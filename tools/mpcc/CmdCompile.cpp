//===- tools/mpcc/CmdCompile.cpp - mpcc compile ---------------------------===//
//
// The options of `mpcc compile`, checked and read (with the --calibrate
// samples) before the model is: a bad flag costs no import.
//
//===----------------------------------------------------------------------===//

#include "tools/mpcc/Options.h"

#include "driver/Compile.h"
#include "frontend/TensorProto.h"
#include "passes/ApproxChoice.h"

using namespace llvm;
using namespace mpc;
using namespace mpc::tool;

static cl::list<std::string> calibrate(
    "calibrate", cl::ZeroOrMore,
    cl::desc("Sample input (.npy/.pb): check GeLU/tanh/softmax inputs "
             "against --range-bits in the float interpreter first; a file "
             "holding k times the --input-shape along its first axis is k "
             "batches of samples"),
    cl::value_desc("NAME=FILE"), cl::sub(compileCmd()), cl::cat(category()));
static cl::opt<std::string>
    emit("emit",
         cl::desc("ir | mir | plan-text | plan (default: plan when -o "
                  "ends in .plan, else ir)"),
         cl::sub(compileCmd()), cl::cat(category()));
static cl::opt<bool> printAfterAll("print-after-all",
                                   cl::desc("Print the IR after every pass"),
                                   cl::sub(compileCmd()), cl::cat(category()));
static cl::opt<bool> timePasses("time-passes", cl::desc("Time each pass"),
                                cl::sub(compileCmd()), cl::cat(category()));
static cl::opt<bool>
    revealBoth("reveal-to-both",
               cl::desc("Reveal outputs to party 0 too (default: client)"),
               cl::sub(compileCmd()), cl::cat(category()));
static cl::opt<double>
    maxError("max-error",
             cl::desc("With --approx auto: the largest simulated error of the "
                      "model's output on the --calibrate samples (vs float)"),
             cl::sub(compileCmd()), cl::cat(category()));
static cl::opt<std::string> frontierSvgFile(
    "frontier-svg",
    cl::desc("With --approx frontier: also write the frontier (predicted "
             "online ms vs simulated error, log scale) as an SVG plot"),
    cl::value_desc("FILE"), cl::sub(compileCmd()), cl::cat(category()));
static cl::opt<bool> exactTruncation(
    "exact-truncation",
    cl::desc("Make every truncation an exact floor (a few rounds more per "
             "truncation): reruns reveal bit-identical outputs"),
    cl::sub(compileCmd()), cl::cat(category()));
static cl::opt<bool> stats("stats",
                           cl::desc("Print pattern match counts to stderr"),
                           cl::sub(compileCmd()), cl::cat(category()));

Error mpc::tool::runCompile() {
  if (approx == "list")
    return printApproxList();
  if (Error e = requireModel())
    return e;
  CompileRequest req;
  req.model = model;
  req.output = outputFile;
  auto kind = parseEmitKind(emit, outputFile);
  if (!kind)
    return kind.takeError();
  req.emit = *kind;
  // "auto" chooses per op from the defaults (driver/ApproxAuto.h);
  // "frontier" prints each preset's and auto's cost and error instead.
  bool frontier = approx == "frontier";
  bool autoChoice = approx == "auto";
  llvm::SmallVector<llvm::StringRef, 4> approxParts;
  llvm::StringRef(approx).split(approxParts, ',');
  if (!autoChoice && llvm::is_contained(approxParts, "auto"))
    return mpc::error("--approx auto chooses for every op: it takes no "
                      "preset or KIND=NAME beside it");
  if (autoChoice != bool(maxError.getNumOccurrences()))
    return mpc::error("--approx auto and --max-error go together");
  if (!autoChoice && !frontier && net.getNumOccurrences())
    return mpc::error("--net prices the choice of --approx auto; without it "
                      "`mpcc report --net` predicts a plan's time");
  if (!autoChoice && !frontier && workProfile.getNumOccurrences())
    return mpc::error("--work-profile prices the choice of --approx auto "
                      "(and frontier); without them `mpcc report "
                      "--work-profile` predicts a plan's time");
  // The frontier is a table, written to -o (or stdout): never where a
  // plan or IR is expected.
  if (frontier && (emit.getNumOccurrences() || req.emit == EmitKind::Plan))
    return mpc::error(
        "--approx frontier prints a table of each preset's and auto's cost "
        "and error{}: leave out --emit, and give -o a text file or none "
        "(stdout)",
        req.emit == EmitKind::Plan
            ? fmt::format(", not a plan for '{}'", outputFile.getValue())
            : "");
  if (!frontier && frontierSvgFile.getNumOccurrences())
    return mpc::error("--frontier-svg plots --approx frontier's table: it "
                      "needs --approx frontier");
  if (frontierSvgFile.getNumOccurrences() && frontierSvgFile.empty())
    return mpc::error("--frontier-svg needs a file name");
  if (autoChoice && !(maxError > 0 && std::isfinite(maxError)))
    return mpc::error("--max-error {} must be a positive number",
                      maxError.getValue());
  CompileFlags flags{0, rangeBits, revealBoth,
                     autoChoice || frontier ? std::string(kDefaultApproxPreset)
                                            : approx.getValue(),
                     exactTruncation};
  if (Error e = readFracBits(flags, /*autoAllowed=*/true))
    return e;
  auto opts = makeCompileOptions(flags);
  if (!opts)
    return opts.takeError();
  req.options = std::move(*opts);
  if (frontier) {
    req.frontierBudgets = {1e-1, 1e-2, 1e-3};
    req.frontierSvg = frontierSvgFile;
  }
  if (autoChoice || frontier) {
    if (autoChoice)
      req.autoMaxError = maxError;
    auto network = parseNetworkModel(net);
    if (!network)
      return network.takeError();
    req.net = *network;
    if (workProfile.getNumOccurrences()) {
      req.workRates = referenceRates();
      if (Error e = calibrateByProfile(req.workRates, workProfile))
        return e;
    }
  }
  if (!passes.empty())
    if (Error e = checkPipeline(passes))
      return e;
  req.pipeline = {passes, printAfterAll, timePasses};
  auto iopts = importOptions();
  if (!iopts)
    return iopts.takeError();
  req.import = std::move(*iopts);
  auto samples = readNamedTensorFiles(calibrate, "--calibrate", readTensorFile);
  if (!samples)
    return samples.takeError();
  req.calibration = std::move(*samples);
  req.stats = stats;
  return compileToFiles(req, errs());
}
