//===- passes/ApproxChoice.cpp - Approximation presets and choices --------===//
//
// The presets as data over the registry's entries, and the --approx parser.
//
//===----------------------------------------------------------------------===//

#include "passes/ApproxChoice.h"

#include "support/Diag.h"

#include "llvm/ADT/SmallVector.h"

#include <fmt/format.h>

using namespace mpc;
using rt::Approximation;
using rt::ApproxKind;

llvm::ArrayRef<ApproxPreset> mpc::approxPresets() {
  static const std::vector<ApproxPreset> presets = {
      {"accurate", "every kind's default: the most accurate entries", {}},
      {"mpcformer",
       "MPCFormer (papers.md B.3): Quad GeLU and 2Quad softmax; only for "
       "models distilled with them",
       {{ApproxKind::Gelu, Approximation::GeluQuad},
        {ApproxKind::Softmax, Approximation::SoftmaxTwoQuad}}},
  };
  return presets;
}

static std::string presetNames() {
  std::string all;
  for (const ApproxPreset &p : approxPresets())
    all += (all.empty() ? "" : ", ") + std::string(p.name);
  return all;
}

static std::string perOpKindNames() {
  std::string all;
  for (ApproxKind k : rt::perOpApproxKinds())
    all += (all.empty() ? "" : ", ") + rt::approxKindName(k).str();
  return all;
}

llvm::Error mpc::applyApproxSpec(llvm::StringRef spec, CompileOptions &opts) {
  llvm::SmallVector<llvm::StringRef, 4> parts;
  spec.split(parts, ',', -1, false);
  for (llvm::StringRef part : parts) {
    auto [kindName, name] = part.split('=');
    if (name.empty()) {
      const ApproxPreset *preset = nullptr;
      for (const ApproxPreset &p : approxPresets())
        if (kindName == p.name)
          preset = &p;
      if (!preset)
        return error("--approx: unknown preset '{}' (presets: {})",
                     kindName.str(), presetNames());
      opts.preset = preset->name;
      opts.approx.clear();
      for (const auto &[kind, approx] : preset->choices)
        opts.approx[kind] = approx;
      continue;
    }
    std::optional<ApproxKind> kind = rt::approxKindFromName(kindName);
    bool perOp = kind && llvm::is_contained(rt::perOpApproxKinds(), *kind);
    if (!perOp)
      return error("--approx: unknown op kind '{}' ({})", kindName.str(),
                   perOpKindNames());
    std::optional<Approximation> approx = rt::findApprox(*kind, name);
    if (!approx)
      return error("--approx: '{}' is not an approximation of {} (have: {})",
                   name.str(), kindName.str(), rt::approxNames(*kind));
    opts.approx[*kind] = *approx;
  }
  return llvm::Error::success();
}

std::string mpc::approxMenu() {
  std::string s = "presets:\n";
  for (const ApproxPreset &p : approxPresets())
    s += fmt::format("  {:<12} {}\n", p.name, p.summary);
  for (ApproxKind k : rt::perOpApproxKinds()) {
    s += fmt::format("{}=NAME:\n", rt::approxKindName(k).str());
    for (const rt::ApproxInfo *a : rt::approxesOf(k))
      s += fmt::format(
          "  {:<12} [{:g}, {:g}], max error {:g}{}{} ({})\n", a->shortName,
          a->lo, a->hi, a->maxAbsErr, a->isDefault ? ", default" : "",
          a->needsTraining ? ", needs a model trained with it" : "", a->source);
  }
  return s;
}
