//===- backend/CostReport.h - Predicted cost of a plan ---------*- C++ -*-===//
//
// `mpcc report`: per-op rows (ONNX node, kernel, protocol, rounds, bytes each
// way, dealer bytes, local multiply-accumulates, predicted seconds) and
// totals split into online, offline (dealer) and per-session set-up, for a
// network model. Costs come from the runtime's kernel formulas (the same
// ones mpc-run's profile is tested against); only the time is a model.
// JSON uses the schema mpc-run --profile writes, so a script can put
// prediction and measurement side by side.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Channel.h"
#include "runtime/plan/Executor.h"
#include "runtime/plan/PlanReader.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>

namespace mpc {

/// The link model and its parser are the runtime's (mpc-run
/// --emulate-net emulates the same links).
using rt::NetworkModel;
using rt::parseNetworkModel;

/// Local work rates of this machine: matrix products (a short ring matmul)
/// and element-wise protocol work (a loop shaped like a premasked
/// program's term: public factor, selected mask candidate, accumulate, over
/// arrays larger than the caches).
///
/// Those rates are one process's, in a loop in the caches' favour; a run
/// shares the cores among three processes, allocates and fills fresh
/// tensors, and moves its messages through TLS. calibrateRates measures
/// that difference per kernel from a profiled run (mpc-run --profile):
/// the run's local seconds over what the rates predict for the same ops.
struct LocalRates {
  double macsPerSecond = 0;
  double elemOpsPerSecond = 0;
  /// Kernel name (plan) -> measured local seconds / predicted; kernels the
  /// profile lacks take otherKernels. Empty: not calibrated (factor 1).
  std::map<std::string, double> kernelFactor;
  double otherKernels = 1;
  /// The parties' offline seconds per dealer byte, per kernel (making and
  /// taking in the material; the link's transfer overlaps it), and the
  /// set-up's per byte of W - B. Zero: only the transfer is counted.
  std::map<std::string, double> kernelOfflinePerByte;
  double otherOfflinePerByte = 0, setupPerByte = 0;
  std::string calibratedBy; ///< The profile's file, for the report.
  std::string calibratedOn; ///< The network the profile was measured on.
};
LocalRates measureLocalRates();

/// Calibrates \p rates (both rates set) by \p measured, a profile that
/// carries each op's work counts and its network (mpc-run --profile): per
/// kernel, its ops' measured seconds less their share of their step's
/// rounds and bytes on that network, over their local work at \p rates;
/// all factors scaled together so that the profile's own plan on its own
/// network is predicted at its online time (refused where that time is
/// nearly all network). Likewise the offline seconds per dealer byte and
/// the set-up's per byte, read as local work: calibrate from a run whose
/// links were not the bottleneck (loopback), of a model whose ops are not
/// much smaller than the predicted one's (README). \p source names the
/// profile in errors and in the report.
llvm::Error calibrateRates(LocalRates &rates, const rt::RunProfile &measured,
                           llvm::StringRef source);
/// calibrateRates by the profile in file \p path (--work-profile).
llvm::Error calibrateByProfile(LocalRates &rates, llvm::StringRef path);
/// The rates a calibration is taken against where none are measured
/// (`mpcc compile`: a plan must not depend on the machine's load). A
/// calibrated kernel's prediction does not depend on them, but for the
/// weight of matrix against element work within one kernel.
LocalRates referenceRates();
/// "NET" or "NET; local work calibrated by PROFILE": what a prediction was
/// priced on, for tables.
std::string pricingName(const NetworkModel &net, const LocalRates &rates);

/// Rates given as the report prints them, "GMACS,GOPS": matrix GMAC/s and
/// element-wise G ops/s, both positive (mpcc report --work-rates: the same
/// rates for every report, so that two plans' predictions compare without
/// this machine's load moving them).
llvm::Expected<LocalRates> parseLocalRates(llvm::StringRef spec);

/// Seconds of \p c's rounds and its busier direction's bytes on \p net.
double networkSeconds(const rt::Cost &c, const NetworkModel &net);
/// Seconds of \p c's local work at \p rates (a zero rate: not counted),
/// times the calibration factor of \p kernel where one is set.
double localSeconds(const rt::Cost &c, const LocalRates &rates,
                    llvm::StringRef kernel = "");
/// Predicted offline seconds of \p c (one op of \p kernel): its dealer
/// bytes over the link, or the calibrated time to make and take them in,
/// whichever is longer.
double offlineSeconds(const rt::Cost &c, const NetworkModel &net,
                      const LocalRates &rates, llvm::StringRef kernel);
/// Predicted seconds of \p c (one op of \p kernel, or uncalibrated
/// work): networkSeconds + localSeconds.
double predictSeconds(const rt::Cost &c, const NetworkModel &net,
                      const LocalRates &rates = {},
                      llvm::StringRef kernel = "");

enum class ReportFormat { Text, Json, Csv };
llvm::Expected<ReportFormat> parseReportFormat(llvm::StringRef s);

/// Prints the report of \p plan.
void printCostReport(const rt::LoadedPlan &plan, const NetworkModel &net,
                     const LocalRates &rates, ReportFormat format,
                     llvm::raw_ostream &os);

} // namespace mpc
