//===- tools/mpcc/mpcc.cpp - The mpcc compiler driver ---------------------===//
//
// The subcommands, the options they share (the model readers' in
// ImportOptions.cpp), and main: parse the command line
// (llvm::cl subcommands), run the chosen subcommand, and print its error
// here, once, as `mpcc: error: <message>`, with exit code 1.
//
//===----------------------------------------------------------------------===//

#include "tools/mpcc/Options.h"

#include "driver/Compile.h"
#include "frontend/OnnxOps.h"
#include "passes/ApproxChoice.h"
#include "support/Diag.h"
#include "support/MallocTuning.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"

using namespace llvm;
using namespace mpc::tool;

cl::OptionCategory &mpc::tool::category() {
  static cl::OptionCategory c("mpcc options");
  return c;
}
#define MPCC_SUBCOMMAND(Fn, Name, Summary)                                     \
  cl::SubCommand &mpc::tool::Fn() {                                            \
    static cl::SubCommand s(Name, Summary);                                    \
    return s;                                                                  \
  }
MPCC_SUBCOMMAND(compileCmd, "compile", "Import a model and emit it (--emit=ir)")
MPCC_SUBCOMMAND(evalCmd, "eval",
                "Accuracy of a plan on a labelled set (.npz), run through "
                "the two-party protocol")
MPCC_SUBCOMMAND(floatCmd, "float",
                "Run the float reference interpreter on a model")
MPCC_SUBCOMMAND(optCmd, "opt", "Parse, verify and print textual IR")
MPCC_SUBCOMMAND(opsCmd, "ops",
                "Print the supported ONNX operators (Markdown, the README's "
                "table)")
MPCC_SUBCOMMAND(reportCmd, "report", "Predicted cost of a plan")
MPCC_SUBCOMMAND(simulateCmd, "simulate",
                "Run a plan with both parties in-process")
#undef MPCC_SUBCOMMAND

cl::opt<std::string>
    mpc::tool::outputFile("o", cl::init("-"),
                          cl::desc("Output file (default stdout)"),
                          cl::value_desc("file"), cl::sub(compileCmd()),
                          cl::sub(optCmd()), cl::cat(category()));
cl::opt<std::string> mpc::tool::passes("passes",
                                       cl::desc("Pass pipeline, e.g. a,b,c"),
                                       cl::sub(compileCmd()), cl::sub(optCmd()),
                                       cl::cat(category()));
cl::opt<int> mpc::tool::rangeBits(
    "range-bits", cl::init(CompileFlags{}.rangeBits),
    cl::desc("Activations satisfy |x| < 2^N: sets the width of the "
             "GeLU/tanh/softmax comparisons and of the rings truncations "
             "open in (default 15)"),
    cl::sub(compileCmd()), cl::sub(optCmd()), cl::sub(floatCmd()),
    cl::cat(category()));
static const std::string approxHelp =
    "Preset and/or KIND=NAME[@GLOB],... from the approximation menu ('list' "
    "prints it); GLOB picks ops by ONNX node name. 'auto' with --max-error "
    "E and --calibrate chooses per op; 'frontier' with --calibrate prints "
    "each preset's and auto's cost and simulated error. `mpcc float` with "
    "--approx simulates each op's approximation (the secure run's expected "
    "answer):\n" +
    mpc::approxMenu();
cl::opt<std::string>
    mpc::tool::approx("approx", cl::init(mpc::kDefaultApproxPreset),
                      cl::desc(approxHelp), cl::sub(compileCmd()),
                      cl::sub(floatCmd()), cl::cat(category()));
cl::opt<std::string> mpc::tool::fracBits(
    "frac-bits", cl::init(std::to_string(CompileFlags{}.fracBits)),
    cl::desc("Fixed-point fractional bits; compile: 'auto' gives each GeLU, "
             "tanh, ReLU and softmax its own range and scale from the "
             "--calibrate samples (16 elsewhere)"),
    cl::value_desc("N|auto"), cl::sub(compileCmd()), cl::sub(floatCmd()),
    cl::cat(category()));

Error mpc::tool::readFracBits(CompileFlags &flags, bool autoAllowed) {
  llvm::StringRef text = fracBits.getValue();
  if (text == "auto") {
    if (!autoAllowed)
      return mpc::error("--frac-bits auto chooses scales from --calibrate "
                        "samples when compiling; here give a number");
    flags.autoFracBits = true;
    flags.fracBits = CompileFlags{}.fracBits;
    return Error::success();
  }
  if (text.getAsInteger(10, flags.fracBits))
    return mpc::error("--frac-bits '{}' is neither a number nor 'auto'",
                      text.str());
  return Error::success();
}
cl::opt<std::string> mpc::tool::net(
    "net", cl::init("lan"),
    cl::desc("lan | wan | loopback | bw=GBIT,rtt=MS (report; compile "
             "--approx auto prices on it)"),
    cl::sub(reportCmd()), cl::sub(compileCmd()), cl::cat(category()));
cl::opt<std::string> mpc::tool::workProfile(
    "work-profile",
    cl::desc("Price each kernel's local work by what it took in a profiled "
             "run on this machine (mpc-run local --profile FILE; best on "
             "loopback, of a model not much smaller than the one priced): "
             "report; compile --approx auto and frontier"),
    cl::value_desc("PROFILE"), cl::sub(reportCmd()), cl::sub(compileCmd()),
    cl::cat(category()));
cl::list<std::string> mpc::tool::inputs(
    "input", cl::ZeroOrMore,
    cl::desc("Model input from a .npy or .pb file, NAME=FILE"),
    cl::value_desc("NAME=FILE"), cl::sub(floatCmd()), cl::sub(simulateCmd()),
    cl::cat(category()));
cl::list<std::string> mpc::tool::outputs(
    "output", cl::ZeroOrMore,
    cl::desc("Write the first output to FILE.npy, or output NAME with "
             "NAME=FILE"),
    cl::value_desc("FILE|NAME=FILE"), cl::sub(floatCmd()),
    cl::sub(simulateCmd()), cl::cat(category()));
cl::opt<std::string> mpc::tool::planFile(cl::Positional, cl::Required,
                                         cl::desc("<model.plan>"),
                                         cl::sub(reportCmd()),
                                         cl::sub(simulateCmd()),
                                         cl::cat(category()));

Error mpc::tool::printApproxList() {
  // Priced at the --frac-bits and --range-bits given (checked first).
  CompileFlags flags{0, rangeBits, false,
                     std::string(mpc::kDefaultApproxPreset)};
  if (Error e = readFracBits(flags, /*autoAllowed=*/false))
    return e;
  auto opts = mpc::makeCompileOptions(flags);
  if (!opts)
    return opts.takeError();
  outs() << mpc::approxMenu(/*withCost=*/true, *opts);
  return Error::success();
}

static Error dispatch() {
  if (compileCmd())
    return runCompile();
  if (evalCmd())
    return runEval();
  if (floatCmd())
    return runFloat();
  if (optCmd())
    return runOpt();
  if (opsCmd()) {
    mpc::onnx::printOnnxOpTable(outs());
    return Error::success();
  }
  if (reportCmd())
    return runReport();
  if (simulateCmd())
    return runSimulate();
  return mpc::error("no subcommand given (try 'mpcc --help')");
}

int main(int argc, char **argv) {
  mpc::reexecWithMallocTuning(argv);
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category());
  opsCmd(); // No option names it, so it is made here, before parsing.
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
