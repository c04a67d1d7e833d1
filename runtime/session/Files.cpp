//===- runtime/session/Files.cpp - Inputs, outputs and profiles -----------===//
//
// The files a run reads and writes besides the plan and the weights:
// --input NAME=FILE tensors, --output FILE or NAME=FILE resolved against
// the outputs a party may see, and the measured profile as JSON (written
// atomically, in the schema `mpcc report --format json` uses).
//
//===----------------------------------------------------------------------===//
#include "runtime/session/SessionImpl.h"

#include "runtime/plan/Profile.h"
#include "support/Diag.h"

#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mpc;
using namespace mpc::rt;

/// mpc-run reads .npy only: ONNX TensorProto needs ONNX's protobuf
/// classes, which the runtime does not link (mpcc reads .pb).
static llvm::Expected<HostTensor> readInputFile(llvm::StringRef path) {
  llvm::StringRef ext = llvm::sys::path::extension(path);
  if (ext.equals_insensitive(".npy"))
    return readNpy(path);
  return mpc::error("{}: mpc-run reads NumPy .npy inputs, not '{}' files; "
                    "save the tensor with numpy.save{}",
                    path.str(), ext.str(),
                    ext.equals_insensitive(".pb")
                        ? " (onnx.numpy_helper.to_array reads a .pb)"
                        : "");
}

llvm::Expected<std::map<std::string, HostTensor>>
mpc::rt::readInputs(const std::vector<std::string> &specs) {
  return readNamedTensorFiles(specs, "--input", readInputFile);
}

llvm::Expected<std::map<std::string, std::string>>
mpc::rt::resolveOutputs(const LoadedPlan &plan, int party, bool revealToBoth,
                        const std::vector<std::string> &specs) {
  std::vector<std::string> visible;
  for (const plan::PlanOutput &out : plan.proto->outputs()) {
    const ValueDesc &v = plan.value(out.value());
    if (v.heldBy(party) || (party == 0 && revealToBoth))
      visible.push_back(out.name());
  }
  std::string names;
  for (const std::string &n : visible)
    names += (names.empty() ? "'" : ", '") + n + "'";
  std::map<std::string, std::string> files;
  for (const std::string &s : specs) {
    if (visible.empty())
      return mpc::error("--output {}: party {} receives no output of this "
                        "plan{}",
                        s, party,
                        party == 0 ? " (both parties may pass --reveal-to-both)"
                                   : "");
    size_t eq = s.find('=');
    std::string name, file = s;
    if (eq != std::string::npos &&
        llvm::is_contained(visible, s.substr(0, eq))) {
      name = s.substr(0, eq);
      file = s.substr(eq + 1);
    } else if (visible.size() == 1) {
      name = visible[0];
    } else {
      return mpc::error("--output {}: name the output as NAME=FILE (party {} "
                        "receives {})",
                        s, party, names.empty() ? "none" : names);
    }
    if (files.count(name))
      return mpc::error("output '{}' is given twice", name);
    files[name] = file;
  }
  return files;
}

llvm::Error mpc::rt::writeProfileFile(const std::string &path,
                                      const RunProfile &p,
                                      const LoadedPlan &plan,
                                      const PeakRss *rss) {
  Cost predicted = planCost(plan);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", profileToJson(p, &predicted, rss)) << "\n";
  return writeFileAtomic(path, os.str());
}
