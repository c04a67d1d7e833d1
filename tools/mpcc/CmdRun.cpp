//===- tools/mpcc/CmdRun.cpp - mpcc float, opt, report, simulate ----------===//
//
// The options of the other subcommands, each checked (and every input file
// read) before the model, IR or plan is.
//
//===----------------------------------------------------------------------===//

#include "tools/mpcc/Options.h"

#include "backend/CostReport.h"
#include "driver/Compile.h"
#include "driver/Run.h"
#include "frontend/TensorProto.h"
#include "runtime/plan/PlanReader.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace llvm;
using namespace mpc;
using namespace mpc::tool;

static cl::opt<std::string> irFile(cl::Positional, cl::Required,
                                   cl::desc("<file.mir>"), cl::sub(optCmd()),
                                   cl::cat(category()));
static cl::opt<bool> verify("verify", cl::init(true),
                            cl::desc("Verify the graph (default on)"),
                            cl::sub(optCmd()), cl::cat(category()));
static cl::opt<std::string> reportFormat("format", cl::init("text"),
                                         cl::desc("text | json | csv"),
                                         cl::sub(reportCmd()),
                                         cl::cat(category()));
static cl::opt<std::string> weights("weights",
                                    cl::desc("Weights file (default: "
                                             "next to the plan)"),
                                    cl::sub(simulateCmd()),
                                    cl::cat(category()));
static cl::opt<std::string> profile("profile",
                                    cl::desc("Write the measured profile "
                                             "(JSON)"),
                                    cl::sub(simulateCmd()),
                                    cl::cat(category()));

Error mpc::tool::runFloat() {
  if (approx == "list")
    return printApproxList();
  if (Error e = requireModel())
    return e;
  FloatRequest req;
  req.model = model;
  // Read the inputs first: their shapes bind the model's dynamic axes.
  auto files = readNamedTensorFiles(inputs, "--input", readTensorFile);
  if (!files)
    return files.takeError();
  req.inputs = std::move(*files);
  auto iopts = importOptions();
  if (!iopts)
    return iopts.takeError();
  req.import = std::move(*iopts);
  req.outputs = outputs;
  if (!approx.getNumOccurrences() &&
      (fracBits.getNumOccurrences() || rangeBits.getNumOccurrences()))
    return mpc::error("mpcc float: --frac-bits and --range-bits set the "
                      "simulation of --approx; give --approx too");
  if (approx.getNumOccurrences()) {
    CompileFlags flags{0, rangeBits, false, approx};
    if (Error e = readFracBits(flags, /*autoAllowed=*/false))
      return e;
    auto opts = makeCompileOptions(flags);
    if (!opts)
      return opts.takeError();
    req.simulate = std::move(*opts);
  }
  return mpc::runFloat(req, outs());
}

Error mpc::tool::runOpt() {
  CompileFlags flags;
  flags.rangeBits = rangeBits;
  auto opts = makeCompileOptions(flags);
  if (!opts)
    return opts.takeError();
  if (Error e = checkPipeline(passes))
    return e;
  auto buf = MemoryBuffer::getFileOrSTDIN(irFile, /*IsText=*/true);
  if (!buf)
    return mpc::error("cannot read '{}': {}", irFile.getValue(),
                      buf.getError().message());
  auto text = optimizeText((*buf)->getBuffer(), irFile, *opts, passes, verify);
  if (!text)
    return text.takeError();
  return writeText(outputFile, *text);
}

static cl::opt<std::string> workRates(
    "work-rates",
    cl::desc("Local work rates for the prediction, as the report prints "
             "them: matrix GMAC/s and element-wise G ops/s (default: "
             "measured now, which this machine's load moves)"),
    cl::value_desc("GMACS,GOPS"), cl::sub(reportCmd()), cl::cat(category()));

Error mpc::tool::runReport() {
  auto network = parseNetworkModel(net);
  if (!network)
    return network.takeError();
  auto format = parseReportFormat(reportFormat);
  if (!format)
    return format.takeError();
  LocalRates rates;
  if (workRates.getNumOccurrences()) {
    auto given = parseLocalRates(workRates);
    if (!given)
      return given.takeError();
    rates = *given;
  }
  auto plan = rt::readPlan(planFile);
  if (!plan)
    return plan.takeError();
  if (!workRates.getNumOccurrences())
    rates = measureLocalRates();
  if (workProfile.getNumOccurrences())
    if (Error e = calibrateByProfile(rates, workProfile))
      return e;
  printCostReport(*plan, *network, rates, *format, outs());
  return Error::success();
}

Error mpc::tool::runSimulate() {
  SimulateRequest req;
  req.plan = planFile;
  req.weights = weights;
  auto files = readNamedTensorFiles(inputs, "--input", readTensorFile);
  if (!files)
    return files.takeError();
  req.inputs = std::move(*files);
  req.outputs = outputs;
  req.profile = profile;
  return mpc::runSimulate(req, outs());
}
