//===- passes/ApproxChoice.h - Approximation presets and choices -*- C++
//-*-===//
//
// The named presets (a choice of approximation per op kind) and the
// --approx syntax over them and the registry (runtime/protocols/Approx.h):
// "PRESET", "KIND=NAME,...", or both ("mpcformer,layernorm=newton").
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/Pass.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace mpc {

/// A named set of approximation choices.
struct ApproxPreset {
  const char *name;
  const char *summary;
  /// Choices where they differ from the registry's defaults.
  std::vector<std::pair<rt::ApproxKind, rt::Approximation>> choices;
};

/// Every preset, "accurate" (the registry's defaults) first.
llvm::ArrayRef<ApproxPreset> approxPresets();

/// Applies \p spec (the --approx value) to \p opts: a preset replaces the
/// preset and every choice; KIND=NAME then overrides one kind. Errors name
/// the unknown preset, kind or approximation and list the alternatives.
llvm::Error applyApproxSpec(llvm::StringRef spec, CompileOptions &opts);

/// The presets and, per op kind, its approximations with domain, error
/// and source: the text of `mpcc compile --approx` help.
std::string approxMenu();

} // namespace mpc
