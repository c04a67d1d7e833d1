//===- runtime/plan/Weights.h - Party 0's weights file ---------*- C++ -*-===//
//
// The weights file holds party 0's weights as ring words, bound to one plan
// by the plan file's SHA-256. A raw binary format (not protobuf) so that
// BERT-base's 110M parameters stream in and out without a message limit or
// a second copy in memory. Layout, all integers little-endian:
//
//   "MPCCWGT1"                      8 bytes magic
//   u32 format_version              = kPlanFormatVersion
//   u32 tensor count
//   u8[32] plan digest              SHA-256 of the plan file's bytes
//   per tensor:
//     i32 value id, u32 rank, i64 dims[rank], u64 data[prod(dims)]
//
// The reader checks the digest, that every tensor is a weight of the plan
// with the declared shape, that none is missing or repeated and that the
// file ends exactly after the last tensor.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Ring.h"
#include "runtime/plan/PlanReader.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

namespace mpc::rt {

/// Weight value id -> ring tensor (party 0's weights).
using WeightMap = std::map<int32_t, RingTensor>;

/// Writes \p weights for the plan whose file bytes are \p planBytes, to
/// \p path atomically (a temporary file renamed on success).
llvm::Error writeWeightsFile(llvm::StringRef path,
                             llvm::ArrayRef<uint8_t> planBytes,
                             const WeightMap &weights);

/// Streams a weights file out one tensor at a time (for models whose
/// weights should not all sit in memory at once).
class WeightsWriter {
public:
  /// Starts \p path (written as path.tmp until finish()) for \p count
  /// tensors.
  static llvm::Expected<std::unique_ptr<WeightsWriter>>
  create(llvm::StringRef path, const PlanDigest &planDigest, uint32_t count);
  ~WeightsWriter();
  llvm::Error add(int32_t valueId, const RingTensor &t);
  /// Checks the count, flushes and renames into place.
  llvm::Error finish();

private:
  WeightsWriter() = default;
  std::string path_, tmp_;
  std::FILE *f_ = nullptr;
  uint32_t expected_ = 0, written_ = 0;
};

/// Reads and checks the weights file of \p plan (see above). Errors name
/// the file and what is wrong ("missing weight 12 'enc.0.q.weight'").
llvm::Expected<WeightMap> readWeightsFile(llvm::StringRef path,
                                          const LoadedPlan &plan);
/// The same checks on a weights file's bytes; \p name is the file in
/// errors.
llvm::Expected<WeightMap> parseWeights(llvm::ArrayRef<uint8_t> bytes,
                                       llvm::StringRef name,
                                       const LoadedPlan &plan);

} // namespace mpc::rt
