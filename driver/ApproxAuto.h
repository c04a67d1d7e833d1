//===- driver/ApproxAuto.h - --approx auto --max-error E -------*- C++ -*-===//
//
// Chooses per IR op the cheapest approximation such that the model's
// simulated output (driver/ApproxSim.h) on the calibration samples stays
// within E of its float output. Each op starts at its kind's default. Every
// other entry of its kind is an alternative, except one that needs a model
// trained with it (an op the model computes in such a form, a distilled
// Quad GeLU or 2Quad softmax, keeps it) or that the protocols refuse on the
// op's shape; each alternative is simulated alone, giving the model's
// error with it and its predicted online seconds on the op's shape (the
// protocols' cost formulas, rt::approxCost, on --net: rounds and bytes;
// and, with --work-profile, local work as a profiled run measured it per
// kernel (backend/CostReport.h), but never this machine's speed measured
// now, so that a plan does not depend on when it was compiled). The
// samples may not show an entry at its worst: its error can depend on
// where the inputs fall in its domain (a Goldschmidt reciprocal's on the
// row sum's mantissa). So each alternative also gets a reserve: the error
// its swap adds on the samples, times how much larger the registry allows
// the op's own error to be than the samples show it (at least 1, see
// Search::headroom), minus that error once. And the secure run's
// truncations add a random ulp here and there, which the
// simulation (rounding them to nearest) leaves out: the noise they make
// in the output is estimated once, at the defaults, by simulating them
// drawn as the protocol draws them. Then, greedily, while the whole
// choice's simulated error plus the noise plus its entries' reserves
// stays within E (every alternative tried has its op's calibrated float
// inputs, which no choice changes, within its domain):
//   1. if the defaults exceed E, the alternatives that lower the error,
//      cheapest first, until within E (an error names the best error
//      reached when all of them do not bring it within E);
//   2. the alternatives cheaper than the op's current entry, by seconds
//      saved per unit of error added.
// The choice becomes one --approx rule per op (its ONNX node name), so
// lowering uses it and the plan records it (its options).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "backend/CostReport.h"
#include "ir/Graph.h"
#include "passes/Pass.h"
#include "support/Tensor.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mpc {

/// One alternative tried for an op, and what became of it.
struct AutoAlternative {
  rt::Approximation approx;
  double error = 0;   ///< The model's error with this swap alone.
  double seconds = 0; ///< Predicted online seconds of the op with it.
  /// What the swap could add to the model's error on inputs other than the
  /// samples (see above).
  double reserve = 0;
  bool simulated = false; ///< Whether error and seconds were computed.
  std::string verdict;
};

struct AutoOpChoice {
  std::string node; ///< ONNX node name.
  rt::ApproxKind kind;
  rt::Approximation approx;
  rt::Approximation base; ///< Its kind's default (or the model's form).
  /// The model's error with this op's swap alone, minus the error at the
  /// defaults (0 for an op left at its default).
  double errorAdded = 0;
  double reserve = 0;     ///< The chosen alternative's reserve (0: default).
  double seconds = 0;     ///< Predicted online seconds of the op.
  double baseSeconds = 0; ///< The same at its default.
  std::vector<AutoAlternative> alternatives;
  std::string fixed; ///< Why no alternative was tried (empty: they were).
};

struct AutoChoice {
  std::vector<AutoOpChoice> ops;
  double error = 0;   ///< Simulated output error of the whole choice.
  double reserve = 0; ///< The sum of the chosen alternatives' reserves.
  /// The secure run's rounding noise at the defaults, estimated (see
  /// above).
  double noise = 0;
  double seconds = 0;     ///< Predicted online seconds of the chosen ops.
  double baseSeconds = 0; ///< The same ops at their defaults.
  double baseError = 0;   ///< The error at the defaults.
  std::string pricedOn;   ///< What the seconds are priced on (pricingName).

  /// What the choice keeps within E: error + noise + reserve.
  double bound() const { return error + noise + reserve; }
};

/// The calibration samples: batches of a graph's inputs, by input name.
using SampleBatches = llvm::ArrayRef<std::map<std::string, HostTensor>>;

/// Chooses (see above) for \p g with \p samples the calibration batches
/// (the error is the largest over all of them); \p base gives the
/// fixed-point options. An error when no choice meets \p maxError, naming
/// the best error reached.
/// \p rates prices local work (empty: rounds and bytes only).
llvm::Expected<AutoChoice>
chooseApproxAuto(const Graph &g, SampleBatches samples,
                 const CompileOptions &base, double maxError,
                 const NetworkModel &net, const LocalRates &rates = {});

/// Adds \p c's choices to \p opts as per-node rules, and names the choice
/// as the options' preset (the plan records both).
void applyAutoChoice(const AutoChoice &c, double maxError,
                     CompileOptions &opts);

/// The table: per op its entry, the error it adds and its cost, and the
/// alternatives tried with their error, cost and verdict.
void printAutoChoice(const AutoChoice &c, double maxError,
                     llvm::raw_ostream &os);

/// One point of the frontier: a preset or auto at a budget, its
/// approximated ops' predicted online seconds and the model's simulated
/// error (either absent when it could not be computed), and a note (why a
/// preset does not apply, or how many ops auto moved).
struct FrontierPoint {
  std::string name;
  bool isAuto = false;
  std::optional<double> seconds, error;
  std::string note;
};
struct Frontier {
  std::string netName; ///< What the times are priced on (pricingName).
  std::vector<FrontierPoint> points;
};

/// `--approx frontier`: for each preset, and for auto at each of
/// \p budgets, the approximated ops' predicted online time on \p net and
/// the model's simulated error on \p samples; a preset whose entry needs a
/// trained model or whose domain the samples leave is noted so, an
/// unreachable budget by its error.
llvm::Expected<Frontier> approxFrontier(const Graph &g, SampleBatches samples,
                                        const CompileOptions &base,
                                        const NetworkModel &net,
                                        llvm::ArrayRef<double> budgets,
                                        const LocalRates &rates = {});

/// The frontier as a text table, one row per point.
std::string frontierTable(const Frontier &f);

/// The frontier as a self-contained SVG plot (driver/FrontierPlot.cpp):
/// predicted online ms across, simulated error on a log scale up, one
/// labelled marker per point with both numbers (circles for presets,
/// diamonds for auto; hollow where the note says the point does not
/// apply); points without both numbers are listed under the plot.
std::string frontierSvg(const Frontier &f);

} // namespace mpc
