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

#include "runtime/plan/PlanReader.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mpc {

/// Link between the parties: bandwidth (each direction) and round-trip time.
struct NetworkModel {
  std::string name;
  double bytesPerSecond = 0;
  double rttSeconds = 0;
};

/// "lan" (10 Gbit/s, 0.2 ms), "wan" (400 Mbit/s, 40 ms), "loopback"
/// (measured-like: 20 Gbit/s, 0.02 ms) or "bw=GBIT,rtt=MS".
llvm::Expected<NetworkModel> parseNetworkModel(llvm::StringRef spec);

/// Local work rates of this machine: matrix products (a short ring matmul)
/// and element-wise protocol work (a loop shaped like a premasked
/// program's term: public factor, selected mask candidate, accumulate, over
/// arrays larger than the caches).
struct LocalRates {
  double macsPerSecond = 0;
  double elemOpsPerSecond = 0;
};
LocalRates measureLocalRates();

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
