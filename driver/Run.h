//===- driver/Run.h - Running a model or a plan on input files -*- C++ -*-===//
//
// `mpcc float` (the float reference interpreter on the imported model) and
// `mpcc simulate` (a plan run by both parties and the dealer in this
// process), with one rule for which output goes to which file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/OnnxImporter.h"
#include "passes/Pass.h"
#include "support/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mpc {

/// Resolves --output arguments against \p outputs (names in the model's or
/// plan's order): "FILE" is the first output, "NAME=FILE" output NAME (its
/// ONNX or IR spelling). \returns (output index, file) in the order given;
/// an unknown name is an error.
llvm::Expected<std::vector<std::pair<size_t, std::string>>>
resolveOutputFiles(llvm::ArrayRef<std::string> outputs,
                   const std::vector<std::string> &specs);

struct FloatRequest {
  std::string model;
  ImportOptions import; ///< Shapes and patterns; hints come from inputs.
  std::map<std::string, HostTensor> inputs; ///< By ONNX input name.
  std::vector<std::string> outputs;         ///< --output specs.
  /// --approx given: simulate each op's approximation with these options
  /// (driver/ApproxSim.h), the secure run's expected answer.
  std::optional<CompileOptions> simulate;
};

/// Imports the model, runs the float interpreter on the inputs and writes
/// the outputs asked for as .npy; a one-line summary goes to \p summary.
llvm::Error runFloat(const FloatRequest &req, llvm::raw_ostream &summary);

struct SimulateRequest {
  std::string plan;
  std::string weights;                      ///< Empty: next to the plan.
  std::map<std::string, HostTensor> inputs; ///< By plan input name.
  std::vector<std::string> outputs;         ///< --output specs.
  std::string profile;                      ///< Profile JSON; empty: none.
};

/// Runs the plan with both parties and the dealer in this process and
/// writes the client's outputs asked for; the summary names every output
/// the client received and where it went.
llvm::Error runSimulate(const SimulateRequest &req, llvm::raw_ostream &summary);

} // namespace mpc
