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
#include "runtime/plan/PlanReader.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

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
struct LocalRates {
  double macsPerSecond = 0;
  double elemOpsPerSecond = 0;
};
LocalRates measureLocalRates();

/// Rates given as the report prints them, "GMACS,GOPS": matrix GMAC/s and
/// element-wise G ops/s, both positive (mpcc report --work-rates: the same
/// rates for every report, so that two plans' predictions compare without
/// this machine's load moving them).
llvm::Expected<LocalRates> parseLocalRates(llvm::StringRef spec);

/// Predicted seconds of \p c: its rounds and its busier direction's bytes
/// on \p net, and its local work at \p rates (a zero rate: not counted).
double predictSeconds(const rt::Cost &c, const NetworkModel &net,
                      const LocalRates &rates = {});

enum class ReportFormat { Text, Json, Csv };
llvm::Expected<ReportFormat> parseReportFormat(llvm::StringRef s);

/// Prints the report of \p plan.
void printCostReport(const rt::LoadedPlan &plan, const NetworkModel &net,
                     const LocalRates &rates, ReportFormat format,
                     llvm::raw_ostream &os);

} // namespace mpc
