//===- passes/ApproxChoice.h - Approximation presets and choices -*- C++
//-*-===//
//
// The named presets (a choice of approximation per op kind) and the
// --approx syntax over them and the registry (runtime/protocols/Approx.h):
// "PRESET", "KIND=NAME,...", or both ("mpcformer,layernorm=crypten"), and
// per-node choices "KIND=NAME@GLOB" over ONNX node names
// ("softmax=2quad@/encoder/layer.[0-5]/*").
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/Pass.h"

#include "ir/Graph.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <optional>
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

/// Every preset, kDefaultApproxPreset (the registry's defaults) first.
llvm::ArrayRef<ApproxPreset> approxPresets();

/// The approximation kind the options choose for \p op (gelu, softmax,
/// layernorm, tanh), or none for an op without one.
std::optional<rt::ApproxKind> approxKindOf(const Op &op);
/// The same for a semantic op kind.
std::optional<rt::ApproxKind> approxKindOf(OpKind kind);

/// The entry \p op computes as written, when the model was trained with it
/// (a distilled model's Quad GeLU or 2Quad softmax, which the frontend
/// recognises): the model's own function, not an approximation to choose.
std::optional<rt::Approximation> modelForm(const Op &op);

/// The approximation \p op (one of approxKindOf's) gets: its model form
/// (or, for a 2Quad softmax, a chosen entry that computes 2Quad too), else
/// what \p opts choose for its kind and ONNX node.
rt::Approximation approxOf(const Op &op, const CompileOptions &opts);

/// The same for attention head \p head of a softmax op (-1: rules with
/// heads do not apply).
rt::Approximation approxOfHead(const Op &op, const CompileOptions &opts,
                               int64_t head);

/// The heads of a softmax op whose input is [batch, heads, queries, keys]
/// with the softmax over the last axis (each head's rows are its own, so
/// heads can run different approximations); none otherwise.
std::optional<int64_t> softmaxHeads(const Op &op);

/// One approximation per head of the softmax \p op when a head-scoped
/// rule (KIND=NAME@GLOB#HEADS) matches its node; empty when none does
/// (every head then gets approxOf(op)).
std::vector<rt::Approximation> headApproxes(const Op &op,
                                            const CompileOptions &opts);

/// Applies \p spec (the --approx value) to \p opts: a preset replaces the
/// preset and every choice; KIND=NAME then overrides one kind, and
/// KIND=NAME@GLOB the ops of that kind whose ONNX node matches GLOB (the
/// last matching rule wins). Errors name the unknown preset, kind or
/// approximation and list the alternatives, the malformed pattern, or the
/// part that chooses again for a kind (or kind and pattern) an earlier part
/// since the last preset chose for.
llvm::Error applyApproxSpec(llvm::StringRef spec, CompileOptions &opts);

/// An error for the first KIND=NAME@GLOB rule of \p opts that matches no
/// op of its kind in \p g (a mistyped layer path would otherwise leave
/// every op at the kind-wide choice), naming the rule and a few of the
/// model's ONNX node names of that kind.
llvm::Error checkNodeRules(const Graph &g, const CompileOptions &opts);

/// The presets and, per op kind, its approximations with domain, error
/// and source: the text of `mpcc compile --approx` help. \p withCost adds
/// each entry's rounds and bytes per element on a typical row at
/// \p opts' frac and range bits (rt::approxRowCost): `--approx list`.
std::string approxMenu(bool withCost = false,
                       const CompileOptions &opts = CompileOptions());

} // namespace mpc
