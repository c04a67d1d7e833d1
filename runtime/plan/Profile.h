//===- runtime/plan/Profile.h - Measured profiles: JSON and table -*- C++ -*-//
//
// The measured per-op profile of a run in the rows of the cost report, as
// JSON (mpc-run --profile) and as a text table. The JSON schema (extra
// fields may be added, never removed):
//
//   {"ops": [{"node", "op", "protocol", "rounds", "bytes_p0_to_p1",
//             "bytes_p1_to_p0", "dealer_bytes", "seconds", "macs",
//             "element_ops", ...}],
//    "total": {"rounds", "bytes_p0_to_p1", "bytes_p1_to_p0", "dealer_bytes",
//              "online_seconds", "offline_seconds", "network", ...}}
//
// "op" is the ONNX op type, "protocol" the runtime kernel. Online totals
// exclude the per-session set-up (reported as setup_*), dealer bytes are
// offline bytes from the dealer to party 1.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Cost.h"
#include "runtime/plan/Executor.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>

namespace mpc::rt {

/// Peak resident memory of each process of a run (0 when unknown).
struct PeakRss {
  uint64_t party0 = 0, party1 = 0, dealer = 0;
};

/// One process's profile, or a merged one, as JSON. \p predicted (the
/// plan's cost formulas) and \p rss are added when given.
llvm::json::Value profileToJson(const RunProfile &p,
                                const Cost *predicted = nullptr,
                                const PeakRss *rss = nullptr);
/// Reads profileToJson's output back.
llvm::Expected<RunProfile> profileFromJson(llvm::StringRef text);

/// One profile of a whole run: party 1's rows (bytes and rounds are
/// measured identically on both sides), seconds and offline seconds the
/// larger of the two parties'. Not the dealer's offline time: party 1's
/// offline phase already waits for the dealer's material, while the
/// dealer's own time, blocked on a full link, also runs through the
/// parties' online phases whenever material windows alternate with them
/// (so it would count those twice).
RunProfile mergeProfiles(const RunProfile &p0, const RunProfile &p1);

/// The line under a table of per-op rounds whose rows add up to
/// \p rowRounds, more than the run's \p totalRounds (ops of one step share
/// their rounds); empty where they agree. The measured table and `mpcc
/// report` print it.
std::string sharedRoundsNote(uint64_t rowRounds, uint64_t totalRounds);

/// The per-op table and the totals, with the prediction next to the
/// measurement when \p predicted is given.
void printProfile(llvm::raw_ostream &os, const RunProfile &p,
                  const Cost *predicted = nullptr,
                  const PeakRss *rss = nullptr);

} // namespace mpc::rt
