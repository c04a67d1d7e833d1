//===- passes/Pass.h - The pass interface and its context ------*- C++ -*-===//
//
// A pass transforms the graph in place and says whether it changed anything
// (Glow's `bool run`) or fails with an llvm::Error (LLVM). The PassContext
// carries the compile options that shape lowering (approximation preset,
// fixed-point scale) and collects warnings, so tests can inspect them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "runtime/protocols/Approx.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mpc {

/// The preset a compile starts from unless told otherwise: every kind's
/// registry default (passes/ApproxChoice.cpp lists the presets).
inline constexpr const char *kDefaultApproxPreset =
    "accurate"; // check-names: not gelu.accurate, a preset

/// The fractional bits a fixed-point value may carry: --frac-bits's range,
/// and the most choose-scales gives an op (each approximation takes fewer,
/// rt::validateApprox).
constexpr int kMinFracBits = 8, kMaxFracBits = 24;

/// Options that shape the lowered graph; recorded in the plan.
struct CompileOptions {
  /// The approximation preset the choices below started from
  /// (passes/ApproxChoice.h); recorded in the plan.
  std::string preset = kDefaultApproxPreset;
  /// The approximation of each op kind (gelu, softmax, layernorm, tanh)
  /// where it is not the registry's default (runtime/protocols/Approx.h):
  /// the preset's choices and --approx KIND=NAME overrides.
  std::map<rt::ApproxKind, rt::Approximation> approx;
  /// --approx KIND=NAME@GLOB: the approximation of the ops of one kind
  /// whose ONNX node name matches a glob; a later rule wins over an
  /// earlier one and over the kind-wide choice. KIND=NAME@GLOB#HEADS
  /// (softmax only) chooses for attention heads FIRST..LAST of the
  /// matching ops (passes/SplitHeads.cpp).
  struct NodeRule {
    rt::ApproxKind kind;
    rt::Approximation approx;
    std::string glob;             ///< llvm::GlobPattern syntax: * ? [a-z] \.
    int headLo = -1, headHi = -1; ///< Inclusive; -1: every head.
    bool hasHeads() const { return headLo >= 0; }
    /// GLOB, or GLOB#FIRST-LAST: the rule's scope as --approx writes it.
    std::string scope() const;
  };
  std::vector<NodeRule> nodeRules;
  /// The approximation lowering uses for an op of \p kind whose ONNX node
  /// is \p node (empty: the kind-wide choice), for its attention head
  /// \p head (-1: rules with heads do not apply).
  rt::Approximation approxFor(rt::ApproxKind kind, llvm::StringRef node = {},
                              int64_t head = -1) const;
  /// Every approximation some op of \p kind may get: the kind-wide choice
  /// and those of the node rules.
  std::vector<rt::Approximation> approxChoices(rt::ApproxKind kind) const;
  /// Fractional bits of fixed-point values, in [kMinFracBits,
  /// kMaxFracBits] (choose-scales gives no op more either).
  int fracBits = 16;
  /// Activations (inputs of GeLU, tanh and softmax; results of the
  /// products lowering truncates) are assumed to satisfy |x| < 2^rangeBits;
  /// comparisons then work on rangeBits + fracBits (+1) bits instead of the
  /// whole ring, and truncations open in rangeBits + frac + 2 bits
  /// (narrow-rings): 15 covers the -10000 attention mask bias and any
  /// activation a trained BERT produces, and makes GeLU's sign tests a
  /// third cheaper than at 62 bits. Outside the range a comparison's or
  /// truncation's answer is wrong, so this is a stated domain, not a
  /// tuning knob to lower blindly (--calibrate checks it).
  int rangeBits = 15;
  /// --frac-bits auto: the choose-scales pass gives each GeLU, tanh, ReLU
  /// and softmax a range and fractional bits of its own, from
  /// calibratedInputMax (ops it has no figure for keep these options').
  bool autoScales = false;
  /// The largest input magnitude --calibrate samples reached, per
  /// (semantic op kind, ONNX node): {"gelu", "/encoder/layer.0/.../Erf"}.
  std::map<std::pair<std::string, std::string>, double> calibratedInputMax;
  /// Who receives the model outputs: 1 (client) or -1 (both parties).
  int revealTo = 1;
  /// --exact-truncation: every truncation of the plan is an exact floor
  /// (pass exact-truncation; runtime/protocols/Trunc.h), so reruns reveal
  /// bit-identical outputs, for a few more rounds per truncation.
  bool exactTruncation = false;
};

class PassContext {
public:
  explicit PassContext(CompileOptions opts = {}) : options(std::move(opts)) {}

  CompileOptions options;

  /// Records a warning (approximation outside its domain, ...).
  void warn(const Location &loc, std::string msg) {
    warnings_.push_back(loc.empty() ? msg : loc.str() + " " + msg);
  }
  const std::vector<std::string> &warnings() const { return warnings_; }

private:
  std::vector<std::string> warnings_;
};

class Pass;
/// Creates a registered pass (Passes.def); nullptr when \p name is unknown.
std::unique_ptr<Pass> createPass(llvm::StringRef name);

class Pass {
public:
  virtual ~Pass();
  /// The registered name ("lower-to-protocols"): Passes.def's, set by
  /// createPass.
  llvm::StringRef name() const { return name_; }
  /// Runs on \p g; \returns whether the graph changed.
  virtual llvm::Expected<bool> run(Graph &g, PassContext &ctx) = 0;
  /// True for the pass that turns semantic ops into protocol ops; the graph
  /// is verified at the Lowered stage from then on.
  virtual bool lowers() const { return false; }

private:
  friend std::unique_ptr<Pass> createPass(llvm::StringRef name);
  std::string name_;
};

} // namespace mpc
