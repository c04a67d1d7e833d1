//===- tools/mpcc/CmdEval.cpp - mpcc eval ---------------------------------===//
//
// `mpcc eval PLAN --data DATA.npz`: the accuracy of a plan on a labelled
// set, run through the real protocol (driver/Eval.h). There is no --batch:
// the plan's input shapes fix its batch (compile with --input-shape
// NAME=BxS for another), and eval runs the data in batches of that size.
//
//===----------------------------------------------------------------------===//

#include "tools/mpcc/Options.h"

#include "driver/Eval.h"
#include "support/Diag.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

using namespace llvm;
using namespace mpc;
using namespace mpc::tool;

static cl::opt<std::string> evalPlan(cl::Positional, cl::Required,
                                     cl::desc("<model.plan>"),
                                     cl::sub(evalCmd()), cl::cat(category()));
static cl::opt<std::string> data("data", cl::Required,
                                 cl::desc("Labelled examples (.npz): an array "
                                          "per plan input, [N, ...], and "
                                          "'labels', [N]"),
                                 cl::value_desc("FILE"), cl::sub(evalCmd()),
                                 cl::cat(category()));
static cl::opt<std::string> weights("weights",
                                    cl::desc("Party 0's weights (default: "
                                             "next to the plan)"),
                                    cl::value_desc("FILE"), cl::sub(evalCmd()),
                                    cl::cat(category()));
static cl::opt<std::string>
    floatModel("model",
               cl::desc("Also run this model in the float interpreter and "
                        "report its accuracy and argmax agreement"),
               cl::value_desc("FILE"), cl::sub(evalCmd()), cl::cat(category()));
static cl::opt<std::string> evalFormat("format", cl::init("text"),
                                       cl::desc("text | json"),
                                       cl::sub(evalCmd()), cl::cat(category()));
static cl::opt<int64_t> limit("limit", // check-names: not an approximation
                              cl::init(0),
                              cl::desc("Evaluate only the first N examples "
                                       "(default: all)"),
                              cl::value_desc("N"), cl::sub(evalCmd()),
                              cl::cat(category()));
static cl::opt<int> threads("threads", cl::init(0),
                            cl::desc("Threads per party for local ring "
                                     "kernels (default: all cores)"),
                            cl::sub(evalCmd()), cl::cat(category()));
static cl::opt<std::string>
    mpcRun("mpc-run",
           cl::desc("The mpc-run executable (default: next to mpcc)"),
           cl::value_desc("FILE"), cl::sub(evalCmd()), cl::cat(category()));

static cl::opt<bool>
    insecure("insecure",
             cl::desc("Run the three roles (all on this machine) over "
                      "plaintext loopback TCP instead of TLS: faster, with "
                      "mpc-run's warning"),
             cl::sub(evalCmd()), cl::cat(category()));

Error mpc::tool::runEval() {
  if (evalFormat != "text" && evalFormat != "json")
    return mpc::error("--format={}: expected text or json",
                      evalFormat.getValue());
  if (limit < 0)
    return mpc::error("--limit={}: expected a count (0: all)",
                      limit.getValue());
  EvalRequest req;
  req.plan = evalPlan;
  req.weights = weights;
  req.data = data;
  req.model = floatModel;
  auto iopts = importOptions();
  if (!iopts)
    return iopts.takeError();
  req.import = std::move(*iopts);
  req.limit = limit;
  req.threads = threads;
  req.mpcRun = mpcRun;
  req.insecure = insecure;
  if (req.mpcRun.empty()) {
    SmallString<256> exe(
        sys::fs::getMainExecutable(nullptr, (void *)&mpc::tool::runEval));
    sys::path::remove_filename(exe);
    sys::path::append(exe, "mpc-run");
    req.mpcRun = std::string(exe);
  }
  auto r = mpc::runEval(req, errs());
  if (!r)
    return r.takeError();
  if (evalFormat == "json")
    outs() << formatv("{0:2}", evalToJson(*r)) << "\n";
  else
    printEval(*r, outs());
  return Error::success();
}
