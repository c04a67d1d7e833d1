//===- ir/OpSchema.h - Operand counts and attributes of each op -*- C++ -*-===//
//
// Ops.def's operand counts and attribute lists, as data: how many operands
// each op kind takes and which attributes it accepts (name, kind, required
// or not). The builder, parser and verifier all check against this table.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/ArrayRef.h"

#include <climits>
#include <string>
#include <vector>

namespace mpc {

/// The eps of a layernorm without one: ONNX LayerNormalization's default.
constexpr double kLayerNormDefaultEps = 1e-5;

/// MaxOperands of an op without an upper bound (Ops.def).
constexpr unsigned kVariadic = UINT_MAX;

/// The kind of value an attribute holds (the alternatives of Attr).
enum class AttrKind : uint8_t { Int, Float, String, Ints, Floats };

/// "int", "float", "string", "int list", "float list".
llvm::StringRef attrKindName(AttrKind k);

/// One attribute an op kind accepts.
struct AttrSpec {
  const char *name;
  AttrKind kind;
  bool required;
};

/// Operand count range and attributes of an op kind.
struct OpSchema {
  unsigned minOperands;
  unsigned maxOperands; ///< kVariadic when unbounded (concat).
  llvm::ArrayRef<AttrSpec> attrs;
};

/// The schema of \p k.
const OpSchema &opSchema(OpKind k);

/// \returns true when \p a can be read as \p kind. Integers widen to floats
/// and an empty integer list reads as an empty float list.
bool attrHasKind(const Attr &a, AttrKind kind);

/// Checks \p attrs against the schema of \p k; one message per problem
/// (unknown attribute, missing required attribute, wrong kind), empty when
/// all is well.
std::vector<std::string> checkAttrs(OpKind k,
                                    const std::map<std::string, Attr> &attrs);

} // namespace mpc
