//===- tools/mpcc/mpcc.cpp - The mpcc compiler driver ---------------------===//
//
// Parses the command line (llvm::cl subcommands) and calls the subcommand
// functions in Commands.cpp. Errors are printed here, once, as
// `mpcc: error: <message>`, and the exit code is 1.
//
//===----------------------------------------------------------------------===//

#include "tools/mpcc/Commands.h"

#include "passes/ApproxChoice.h"
#include "support/Diag.h"
#include "support/MallocTuning.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"

using namespace llvm;
using namespace mpc::tool;

static cl::SubCommand compileCmd("compile",
                                 "Import a model and emit it (--emit=ir)");
static cl::SubCommand
    floatCmd("float", "Run the float reference interpreter on a model");
static cl::SubCommand optCmd("opt", "Parse, verify and print textual IR");
static cl::SubCommand reportCmd("report", "Predicted cost of a plan");
static cl::SubCommand simulateCmd("simulate",
                                  "Run a plan with both parties in-process");

static cl::OptionCategory cat("mpcc options");

// compile and float: the model.
static cl::opt<std::string> model(cl::Positional, cl::Required,
                                  cl::desc("<model.onnx|model.onnxtext>"),
                                  cl::sub(compileCmd), cl::sub(floatCmd),
                                  cl::cat(cat));
static cl::list<std::string>
    inputShapes("input-shape", cl::ZeroOrMore,
                cl::desc("Bind a model input's shape, NAME=1x128"),
                cl::value_desc("NAME=DIMS"), cl::sub(compileCmd),
                cl::sub(floatCmd), cl::cat(cat));
static cl::list<std::string> calibrate(
    "calibrate", cl::ZeroOrMore,
    cl::desc("Sample input (.npy/.pb): check GeLU/tanh/softmax inputs "
             "against --range-bits in the float interpreter first"),
    cl::value_desc("NAME=FILE"), cl::sub(compileCmd), cl::cat(cat));
static cl::opt<bool> noPatterns("no-patterns",
                                cl::desc("Skip pattern recognition"),
                                cl::sub(compileCmd), cl::sub(floatCmd),
                                cl::cat(cat));

// compile.
static cl::opt<std::string>
    emit("emit",
         cl::desc("ir | mir | plan-text | plan (default: plan when -o "
                  "ends in .plan, else ir)"),
         cl::sub(compileCmd), cl::cat(cat));
static const std::string approxHelp =
    "Preset and/or KIND=NAME,... from the approximation menu:\n" +
    mpc::approxMenu();
static cl::opt<std::string> approx("approx", cl::init("accurate"),
                                   cl::desc(approxHelp), cl::sub(compileCmd),
                                   cl::cat(cat));
static cl::opt<std::string> passes("passes",
                                   cl::desc("Pass pipeline, e.g. a,b,c"),
                                   cl::sub(compileCmd), cl::sub(optCmd),
                                   cl::cat(cat));
static cl::opt<bool> printAfterAll("print-after-all",
                                   cl::desc("Print the IR after every pass"),
                                   cl::sub(compileCmd), cl::cat(cat));
static cl::opt<bool> timePasses("time-passes", cl::desc("Time each pass"),
                                cl::sub(compileCmd), cl::cat(cat));
static cl::opt<int> fracBits("frac-bits", cl::init(16),
                             cl::desc("Fixed-point fractional bits"),
                             cl::sub(compileCmd), cl::cat(cat));
static cl::opt<int> rangeBits(
    "range-bits", cl::init(15),
    cl::desc("Activations satisfy |x| < 2^N: sets the width of the "
             "GeLU/tanh/softmax comparisons and of the rings truncations "
             "open in (default 15)"),
    cl::sub(compileCmd), cl::sub(optCmd), cl::cat(cat));
static cl::opt<bool>
    revealBoth("reveal-to-both",
               cl::desc("Reveal outputs to party 0 too (default: client)"),
               cl::sub(compileCmd), cl::cat(cat));
static cl::opt<bool> stats("stats",
                           cl::desc("Print pattern match counts to stderr"),
                           cl::sub(compileCmd), cl::cat(cat));

// compile and opt: the output file.
static cl::opt<std::string> outputFile("o", cl::init("-"),
                                       cl::desc("Output file (default "
                                                "stdout)"),
                                       cl::value_desc("file"),
                                       cl::sub(compileCmd), cl::sub(optCmd),
                                       cl::cat(cat));

// float and simulate.
static cl::list<std::string>
    inputs("input", cl::ZeroOrMore,
           cl::desc("Model input from a .npy or .pb file, NAME=FILE"),
           cl::value_desc("NAME=FILE"), cl::sub(floatCmd), cl::sub(simulateCmd),
           cl::cat(cat));
static cl::list<std::string>
    outputs("output", cl::ZeroOrMore,
            cl::desc("Write the first output to FILE.npy, or output NAME "
                     "with NAME=FILE"),
            cl::value_desc("FILE|NAME=FILE"), cl::sub(floatCmd),
            cl::sub(simulateCmd), cl::cat(cat));

// report and simulate: the plan.
static cl::opt<std::string> planFile(cl::Positional, cl::Required,
                                     cl::desc("<model.plan>"),
                                     cl::sub(reportCmd), cl::sub(simulateCmd),
                                     cl::cat(cat));
static cl::opt<std::string> net("net", cl::init("lan"),
                                cl::desc("lan | wan | loopback | "
                                         "bw=GBIT,rtt=MS"),
                                cl::sub(reportCmd), cl::cat(cat));
static cl::opt<std::string> reportFormat("format", cl::init("text"),
                                         cl::desc("text | json | csv"),
                                         cl::sub(reportCmd), cl::cat(cat));
static cl::opt<std::string> weights("weights",
                                    cl::desc("Weights file (default: "
                                             "next to the plan)"),
                                    cl::sub(simulateCmd), cl::cat(cat));
static cl::opt<std::string> profile("profile",
                                    cl::desc("Write the measured profile "
                                             "(JSON)"),
                                    cl::sub(simulateCmd), cl::cat(cat));

// opt.
static cl::opt<std::string> irFile(cl::Positional, cl::Required,
                                   cl::desc("<file.mir>"), cl::sub(optCmd),
                                   cl::cat(cat));
static cl::opt<bool> verify("verify", cl::init(true),
                            cl::desc("Verify the graph (default on)"),
                            cl::sub(optCmd), cl::cat(cat));

/// Runs the chosen subcommand.
static Error dispatch() {
  if (compileCmd) {
    CompileArgs a;
    a.model = model;
    a.output = outputFile;
    a.emit = emit;
    a.inputShapes = inputShapes;
    a.calibrate = calibrate;
    a.patterns = !noPatterns;
    a.stats = stats;
    a.approx = approx;
    a.passes = passes;
    a.printAfterAll = printAfterAll;
    a.timePasses = timePasses;
    a.fracBits = fracBits;
    a.rangeBits = rangeBits;
    a.revealToBoth = revealBoth;
    return runCompile(a);
  }
  if (floatCmd) {
    FloatArgs a;
    a.model = model;
    a.inputs = inputs;
    a.outputs = outputs;
    a.inputShapes = inputShapes;
    a.patterns = !noPatterns;
    return runFloat(a, outs());
  }
  if (optCmd) {
    OptArgs a;
    a.input = irFile;
    a.output = outputFile;
    a.verify = verify;
    a.passes = passes;
    a.rangeBits = rangeBits;
    return runOpt(a);
  }
  if (reportCmd)
    return runReport({planFile, net, reportFormat});
  if (simulateCmd) {
    if (outputs.size() > 1)
      return mpc::error("simulate writes one output: --output FILE.npy");
    return runSimulate({planFile, weights, inputs,
                        outputs.empty() ? "" : outputs.front(), profile},
                       outs());
  }
  return mpc::error("no subcommand given (try 'mpcc --help')");
}

int main(int argc, char **argv) {
  mpc::reexecWithMallocTuning(argv);
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(cat);
  if (!cl::ParseCommandLineOptions(argc, argv,
                                   "mpcc: compiler for private Transformer "
                                   "inference with two-party computation\n"))
    return 1;
  if (Error e = dispatch()) {
    WithColor::error(errs(), "mpcc") << toString(std::move(e)) << "\n";
    return 1;
  }
  return 0;
}
