//===- runtime/protocols/Approx.h - The approximation registry --*- C++ -*-===//
//
// Typed access to Approximations.def: every approximation is an Approximation
// value of one ApproxKind, with its name, domain, error bound, flags and
// source. Plans name approximations by "<name>" in the attribute `approx`
// of their kind's kernel; reports and tests use "<kind>.<name>".
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mpc::rt {

/// The function an approximation computes.
enum class ApproxKind : uint8_t {
#define MPC_APPROX_KIND(Kind, Name, PerOp) Kind,
#include "runtime/protocols/Approximations.def"
};

/// One approximation: Approximation::<Kind><Id> (Approximations.def).
enum class Approximation : uint8_t {
#define MPC_APPROX(Kind, Id, ...) Kind##Id,
#include "runtime/protocols/Approximations.def"
};

/// Flags of an entry (Approximations.def).
enum class ApproxFlags : uint8_t { None, Default, Training };

/// What an approximation promises: for inputs in [lo, hi] the result r
/// satisfies |r - ref| <= maxAbsErr + maxRelErr |ref| against the
/// double-precision reference, at frac = 16 with default parameters.
struct ApproxInfo {
  Approximation id;
  ApproxKind kind;
  std::string shortName; ///< "puma": the plan's `approx` attribute.
  std::string name;      ///< "gelu.puma".
  double lo = 0, hi = 0;
  double maxAbsErr = 0;
  double maxRelErr = 0;
  bool isDefault = false;
  /// Only right for a model trained (distilled) with this formula.
  bool needsTraining = false;
  std::string source;      ///< Where the formula comes from.
  std::string description; ///< Formula, reference and outside behaviour.
};

/// "gelu", "softmax", ... (also the compiler's --approx KIND).
llvm::StringRef approxKindName(ApproxKind k);
/// The kind called \p name, if any.
std::optional<ApproxKind> approxKindFromName(llvm::StringRef name);
/// Kinds the compiler chooses per IR op (gelu, softmax, layernorm, tanh),
/// in table order.
llvm::ArrayRef<ApproxKind> perOpApproxKinds();

/// The entry of \p a.
const ApproxInfo &approxInfo(Approximation a);
/// The entry called "<kind>.<name>", or "<kind>" for the kind's default;
/// nullptr when there is none.
const ApproxInfo *approxInfo(std::string_view name);
/// Every entry, in table order.
const std::vector<ApproxInfo> &approxCatalog();
/// The entries of \p kind, in table order.
std::vector<const ApproxInfo *> approxesOf(ApproxKind kind);

/// The default entry of \p kind.
Approximation defaultApprox(ApproxKind kind);
/// The entry of \p kind called \p name, if any.
std::optional<Approximation> findApprox(ApproxKind kind, llvm::StringRef name);
/// As findApprox, or an error "<kind>: unknown form '<name>' (a, b, c)".
llvm::Expected<Approximation> parseApprox(ApproxKind kind,
                                          llvm::StringRef name);
/// "accurate, puma, quad".
std::string approxNames(ApproxKind kind);

} // namespace mpc::rt
