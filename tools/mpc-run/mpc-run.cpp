//===- tools/mpc-run/mpc-run.cpp - The two-party runner -------------------===//
//
// Parses the command line (the run's options in Options.cpp; keygen here)
// and calls runtime/session. Errors
// are printed here, once, as `mpc-run: error: <message>`: exit code 2 for a
// command line that cannot run, 1 for a run that failed.
//
//===----------------------------------------------------------------------===//
#include "tools/mpc-run/Options.h"

#include "support/MallocTuning.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace mpc::rt;
using namespace mpc::tool;

static cl::SubCommand keygenCmd("keygen",
                                "Make an identity: NAME.key and NAME.crt");
static cl::opt<std::string> keyName(cl::Positional, cl::Required,
                                    cl::desc("<NAME>"), cl::sub(keygenCmd),
                                    cl::cat(runOptions));
static cl::opt<std::string> keyDir("out", cl::init("."),
                                   cl::desc("Directory for NAME.key and "
                                            "NAME.crt (default .)"),
                                   cl::value_desc("DIR"), cl::sub(keygenCmd),
                                   cl::cat(runOptions));

static cl::opt<std::string>
    dieAt("die-at",
          cl::desc("Fault tests: SIGKILL this process at connect, "
                   "offline:N or online:N (N ops done)"),
          cl::value_desc("POINT"), cl::Hidden, cl::sub(*cl::AllSubCommands),
          cl::cat(runOptions));

static int fail(Error e, int code) {
  errs() << "mpc-run: error: " << toString(std::move(e)) << "\n";
  return code;
}

int main(int argc, char **argv) {
  mpc::reexecWithMallocTuning(argv);
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(runOptions);
  if (!cl::ParseCommandLineOptions(argc, argv,
                                   "mpc-run: private Transformer inference "
                                   "between party 0, party 1 and a dealer\n",
                                   &errs()))
    return 2;
  if (keygenCmd) {
    auto f = keygen(keyName, keyDir);
    if (!f)
      return fail(f.takeError(), 1);
    std::string base = keyDir + "/" + keyName;
    errs() << "wrote " << base << ".key (private: keep it, mode 0600) and "
           << base << ".crt (for the peers' --trust ROLE=CERT); the "
           << "certificate's SHA-256 fingerprint:\n";
    outs() << *f << "\n";
    return 0;
  }
  RunConfig c = runConfig();
  c.dieAt = dieAt;
  if (Error e = checkConfig(c))
    return fail(std::move(e), 2);
  std::string exe = sys::fs::getMainExecutable(argv[0], (void *)&fail);
  if (Error e = c.mode == RunConfig::Local ? runLocal(c, exe) : runRole(c))
    return fail(std::move(e), 1);
  return 0;
}
