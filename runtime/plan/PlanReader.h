//===- runtime/plan/PlanReader.h - Load and validate a plan ----*- C++ -*-===//
//
// A plan is read and checked completely before any network I/O: the format
// version, that every op names a kernel of this runtime, value ids, the
// topological order and schedule steps, each kernel's own check (shapes,
// scales, visibilities, attributes), inputs and outputs. What passes is a
// LoadedPlan: the protobuf plus resolved value and op descriptions that the
// executor, the cost functions and the compiler's report share.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Cost.h"
#include "runtime/plan/Kernel.h"
#include "runtime/plan/Plan.pb.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mpc::rt {

/// The plan format this runtime reads (Plan.format_version).
/// Largest tensor a plan may declare (2^40 ring words = 8 TiB): a guard
/// against overflow from corrupt shapes, far above any real model. The
/// compiler refuses to emit a larger value (an --input-shape too large).
constexpr int64_t kMaxPlanElements = int64_t(1) << 40;
constexpr uint32_t kPlanFormatVersion = 2;
/// Plan.end_marker ("MPCP" little-endian): serializePlan sets it; a file
/// without it is truncated.
constexpr uint32_t kPlanEndMarker = 0x5043504d;

/// SHA-256 of the plan file's bytes: identifies a plan in the handshake
/// and in the weights file.
using PlanDigest = std::array<uint8_t, 32>;
PlanDigest sha256(llvm::ArrayRef<uint8_t> bytes);
/// Lower-case hex.
std::string digestHex(const PlanDigest &d);

/// A validated plan. Move-only: ops point into values and the protobuf.
struct LoadedPlan {
  std::string name; ///< File path (or a label) for messages.
  PlanDigest digest{};
  std::unique_ptr<plan::Plan> proto;
  std::vector<ValueDesc> values; ///< Indexed by value id.
  std::vector<OpDesc> ops;       ///< In execution order.
  /// Op index ranges [first, last) of each schedule step, in order.
  std::vector<std::pair<size_t, size_t>> steps;
  /// Weights read through private-weight protocols, distinct, in order of
  /// first use: each is sent once per session as W - B.
  std::vector<const ValueDesc *> setupWeights;
  /// Per value: index of the last op that reads it (-1 if none).
  std::vector<int> lastUse;

  LoadedPlan();
  LoadedPlan(LoadedPlan &&) noexcept;
  LoadedPlan &operator=(LoadedPlan &&) noexcept;
  ~LoadedPlan();

  const ValueDesc &value(int id) const { return values[id]; }
  /// Value ids of every weight (ValueSource::Weight), ascending.
  std::vector<int> weightIds() const;
};

/// Reads and validates the plan at \p path.
llvm::Expected<LoadedPlan> readPlan(llvm::StringRef path);
/// Parses and validates plan bytes; \p name is used in messages.
llvm::Expected<LoadedPlan> parsePlan(llvm::ArrayRef<uint8_t> bytes,
                                     llvm::StringRef name);
/// Validates an in-memory plan (the compiler's report). Its digest is that
/// of serializePlan(\p p).
llvm::Expected<LoadedPlan> loadPlan(plan::Plan p, llvm::StringRef name);

/// The bytes of \p p as written to a plan file: deterministic, with
/// end_marker set. Plans must be written this way (readers reject a plan
/// without the end marker).
std::string serializePlan(const plan::Plan &p);
/// Writes serializePlan(\p p) to \p path atomically; returns the bytes
/// written (their SHA-256 is what the weights file must record).
llvm::Expected<std::string> writePlanFile(llvm::StringRef path,
                                          const plan::Plan &p);

// --- Costs (shared with the compiler's `mpcc report`) ----------------------

/// Kernel cost of op \p i (online and dealer traffic; no set-up bytes).
Cost opCost(const LoadedPlan &plan, size_t i);
/// opCost of every op, in plan order.
std::vector<Cost> opCosts(const LoadedPlan &plan);
/// The per-session W - B set-up: one round, setupWeights' sizes as
/// bytes01 and setupBytes01.
Cost setupCost(const LoadedPlan &plan);
/// One inference: rounds = sum over steps of the largest op's rounds (ops
/// of a step share rounds), plus one round shared by all embed_lookup ops
/// (they run together before the offline phase); bytes and macs summed over
/// ops, plus the set-up volume in setupBytes01 only (not in bytes01 or
/// rounds).
Cost planCost(const LoadedPlan &plan);
/// The same from the ops' costs already computed (opCosts).
Cost planCost(const LoadedPlan &plan, llvm::ArrayRef<Cost> ops);

} // namespace mpc::rt
