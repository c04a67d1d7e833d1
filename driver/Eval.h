//===- driver/Eval.h - Accuracy of a plan on a labelled set ----*- C++ -*-===//
//
// `mpcc eval`: a compiled plan run over a labelled data set through the
// real protocol, as `mpc-run local` runs it (rt::runLocal: the dealer and
// both parties as three processes on loopback, over TLS), one run per
// batch of the plan's batch size. It counts correct predictions per class,
// optionally compares each prediction with the float model's (the
// compiler's interpreter, as `mpcc float` runs it), and sums the measured
// online cost of the runs.
//
// The plan's input shapes fix its batch: the data are cut into batches of
// that size and the last batch is padded with copies of its first row;
// padding rows are computed (their cost is in the totals) but never
// counted in the accuracy.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/OnnxImporter.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mpc {

struct EvalRequest {
  std::string plan;
  std::string weights; ///< Empty: next to the plan.
  /// .npz: one array per plan input (by input name, [N, rest of the input
  /// shape]) and `labels` ([N], integers in 0..classes-1).
  std::string data;
  std::string model;    ///< The float model to compare with; empty: none.
  ImportOptions import; ///< How to import it (shapes come from the data).
  std::string mpcRun;   ///< The mpc-run executable the runs start.
  int64_t limit = 0;    ///< Evaluate only the first N examples; 0: all.
  int threads = 0;      ///< mpc-run --threads (0: all cores).
  /// mpc-run local --insecure: the three roles (all on this machine) talk
  /// over plaintext loopback TCP instead of TLS; the warning is printed
  /// once.
  bool insecure = false;
  double timeoutSeconds = 60;
};

struct EvalResult {
  std::string plan, data, output; ///< output: the plan output read.
  int64_t examples = 0, batch = 0, runs = 0, paddingRows = 0, classes = 0;
  int64_t correct = 0;
  /// confusion[label][predicted class].
  std::vector<std::vector<int64_t>> confusion;
  struct Float {
    std::string model;
    int64_t correct = 0;
    int64_t agree = 0; ///< Same argmax as the two-party run.
  };
  std::optional<Float> floatModel;
  /// Measured over all runs (party 1's bytes and rounds; the slower
  /// party's seconds), set-up excluded, padding rows included.
  double onlineSeconds = 0;
  uint64_t onlineBytes = 0, onlineRounds = 0;
  /// All runs, in sessions of three processes running several batches
  /// each (kRunsPerSession, driver/Eval.cpp).
  double wallSeconds = 0;
};

/// Checks the plan against the data (every error before the first run),
/// then runs every batch, writing a progress line with an ETA to
/// \p progress after each.
llvm::Expected<EvalResult> runEval(const EvalRequest &req,
                                   llvm::raw_ostream &progress);

/// The result as text (accuracy, the confusion matrix, the float
/// comparison, cost per example).
void printEval(const EvalResult &r, llvm::raw_ostream &os);
/// The result as JSON (the fields of printEval).
llvm::json::Value evalToJson(const EvalResult &r);

} // namespace mpc
