//===- ir/ValueNames.h - The names values carry in the text form -*- C++
//-*-===//
//
// The printer, the verifier and diagnostics all refer to values the same
// way: graph inputs and constants by their names (sanitised to
// [A-Za-z0-9_.] and made unique), weights with '@', everything else with
// '%', and op results by number in op order (%0, %1, ...).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/DenseMap.h"

#include <string>

namespace mpc {

/// Replaces characters outside [A-Za-z0-9_.] by '_' and prefixes 'v' when
/// the result is empty or starts with a digit (digits name op results).
std::string sanitizeValueName(llvm::StringRef name);

/// Text names ("%3", "%input_ids", "@emb.weight") of every value of a graph.
class ValueNames {
public:
  explicit ValueNames(const Graph &g);
  /// The name of \p v with its sigil; "%<undefined>" for a value that is not
  /// an input, constant or result of an op of the graph.
  std::string operator()(const Value *v) const;
  /// "%3 = gelu" / "%3, %4 = op": how diagnostics name an op.
  std::string opRef(const Op &op) const;

private:
  llvm::DenseMap<const Value *, std::string> names_;
};

} // namespace mpc
