//===- driver/Compile.h - The compile library ------------------*- C++ -*-===//
//
// What `mpcc compile` does, as calls that `mpcc`, the end-to-end tests and
// any future binding share: the options, checked when they are made (before
// any file is read); the pipeline built from them; the calibration check of
// sample inputs against --range-bits; and the compile from an imported
// graph to a plan, or from a model file to the files --emit asks for.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "backend/CostReport.h"
#include "backend/EmitPlan.h"
#include "frontend/OnnxImporter.h"
#include "passes/Pass.h"
#include "support/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mpc {

/// The compile settings as the command line spells them.
struct CompileFlags {
  int fracBits = CompileOptions{}.fracBits;
  int rangeBits = CompileOptions{}.rangeBits;
  bool revealToBoth = false;
  /// A preset and/or KIND=NAME,... (passes/ApproxChoice.h).
  std::string approx = kDefaultApproxPreset;
  /// --exact-truncation (CompileOptions::exactTruncation).
  bool exactTruncation = false;
  /// --frac-bits auto: fracBits everywhere but the nonlinear ops, whose
  /// formats come from --calibrate (CompileOptions::autoScales).
  bool autoFracBits = false;
};

/// Checks \p flags (fixed-point bits, range, approximation names) and makes
/// the options lowering reads; errors name the flag and its allowed values.
llvm::Expected<CompileOptions> makeCompileOptions(const CompileFlags &flags);

/// What a compile writes.
enum class EmitKind {
  IR,       ///< The imported (semantic) graph as text.
  MIR,      ///< The lowered graph as text.
  PlanText, ///< The plan as text.
  Plan,     ///< FILE.plan and FILE.weights.
};

/// "ir", "mir", "plan-text" or "plan"; "" picks plan when \p output ends in
/// .plan, else ir. Checks that --emit=plan has a file to write.
llvm::Expected<EmitKind> parseEmitKind(llvm::StringRef name,
                                       llvm::StringRef output);

/// How the pass pipeline runs.
struct PipelineSettings {
  std::string passes; ///< "a,b,c"; empty: defaultPipeline of the options.
  bool printAfterAll = false;
  bool timePasses = false;
};

/// Runs the pipeline on \p g (imported, semantic), verifying after each
/// pass; the warnings the passes record are appended to \p warnings.
llvm::Error runPipeline(Graph &g, const CompileOptions &opts,
                        const PipelineSettings &settings = {},
                        std::vector<std::string> *warnings = nullptr);

/// Checks that every pass of \p passes ("a,b,c") is registered.
llvm::Error checkPipeline(llvm::StringRef passes);

/// `mpcc opt`: parses textual IR (\p name in errors), verifies it at the
/// stage its ops show (a lowered op makes it a lowered graph) unless
/// \p verify is false, runs \p passes from that stage (verifying after each
/// when \p verify) and \returns the graph printed.
llvm::Expected<std::string> optimizeText(llvm::StringRef text,
                                         llvm::StringRef name,
                                         const CompileOptions &opts,
                                         llvm::StringRef passes, bool verify);

/// The default pipeline and the backend: the plan (named \p name) and the
/// weights of \p g (imported, semantic; lowered in place).
llvm::Expected<EmittedPlan>
compileGraph(Graph &g, const CompileOptions &opts, llvm::StringRef name,
             std::vector<std::string> *warnings = nullptr);

/// Runs \p g (imported, semantic) on the sample \p batches (each by graph
/// input name) in the float interpreter and checks every range-limited value
/// against opts.rangeBits and LayerNorm's domain, and the values of every
/// op given a chosen (not default) approximation against its domain;
/// writes a summary (and a warning for values within 4x of their limit) to
/// \p log. The error names the op and the --range-bits that would do, or
/// the op, its values, the approximation and its domain.
/// With opts.autoScales, also records each GeLU's, tanh's, ReLU's and
/// softmax's largest input in \p inputMax (CompileOptions::calibratedInputMax).
llvm::Error checkCalibration(
    const Graph &g, llvm::ArrayRef<std::map<std::string, HostTensor>> batches,
    const CompileOptions &opts, llvm::raw_ostream &log,
    std::map<std::pair<std::string, std::string>, double> *inputMax = nullptr);

/// Warnings for a compile without --calibrate: each chosen approximation
/// whose domain is narrower than its kind's default's, whose domain no
/// sample checks.
std::vector<std::string> uncheckedDomainWarnings(const CompileOptions &opts);

/// Keys \p files (by ONNX input name, as the user gave them) by the graph
/// input each refers to; \p flag names the option in errors.
llvm::Expected<std::map<std::string, HostTensor>>
bindInputFiles(const Graph &g, std::map<std::string, HostTensor> files,
               llvm::StringRef flag);

/// An error naming the first input of \p g that \p bound (bindInputFiles'
/// result) has no file for, and how \p flag (NAME=FILE) gives it.
llvm::Error requireEveryInput(const Graph &g,
                              const std::map<std::string, HostTensor> &bound,
                              llvm::StringRef flag);

/// The --calibrate \p files bound to \p g's inputs (bindInputFiles) as
/// batches of its input shapes: a file whose first axis holds k times the
/// input's (the rest equal) gives k batches, so that a plan compiled for a
/// small batch is calibrated on many samples; every file must give the
/// same k, and every model input needs a file. Errors name the input and
/// the shapes.
llvm::Expected<std::vector<std::map<std::string, HostTensor>>>
bindCalibration(const Graph &g, std::map<std::string, HostTensor> files);

/// Everything `mpcc compile` is asked to do.
struct CompileRequest {
  std::string model;        ///< .onnx or .onnxtext
  std::string output = "-"; ///< "-" or empty: stdout
  EmitKind emit = EmitKind::IR;
  CompileOptions options;
  ImportOptions import; ///< Shapes and patterns; shape hints come from
                        ///< the calibration samples.
  PipelineSettings pipeline;
  /// --calibrate samples by ONNX input name (empty: no check).
  std::map<std::string, HostTensor> calibration;
  bool stats = false; ///< Write the pattern counts to the log.
  /// --approx auto --max-error E: choose each op's approximation on the
  /// calibration samples (driver/ApproxAuto.h), pricing on \p net.
  std::optional<double> autoMaxError;
  /// --approx frontier: write approxFrontier's table at these budgets to
  /// \p output instead of compiling.
  std::vector<double> frontierBudgets;
  /// --frontier-svg: also write the frontier as an SVG plot to this path.
  std::string frontierSvg;
  NetworkModel net;
  /// --work-profile: auto and frontier also price local work (empty:
  /// rounds and bytes only).
  LocalRates workRates;
};

/// Imports the model, checks the calibration samples, compiles and writes
/// what \p req.emit asks for (atomically: nothing unless all succeeded).
/// Pattern counts, the calibration summary, warnings and what was written
/// go to \p log.
llvm::Error compileToFiles(const CompileRequest &req, llvm::raw_ostream &log);

/// Writes \p text to \p path atomically, or to stdout for "" / "-".
llvm::Error writeText(llvm::StringRef path, llvm::StringRef text);

/// "model.plan" -> "model.weights".
std::string weightsPathFor(llvm::StringRef planPath);

} // namespace mpc
