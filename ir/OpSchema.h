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
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <climits>
#include <string>
#include <vector>

namespace mpc {

/// The eps of a layernorm without one: ONNX LayerNormalization's default.
constexpr double kLayerNormDefaultEps = 1e-5;

/// The function a semantic gelu computes, its `form` attribute: erf (the
/// default) or tanh as exported, or MPCFormer's quad in a model distilled
/// with it.
enum class GeluForm : uint8_t { Erf, Tanh, Quad };
/// The function a semantic softmax computes, its `form` attribute: exp (the
/// default) or MPCFormer's 2quad.
enum class SoftmaxForm : uint8_t { Exp, TwoQuad };

/// "erf", "tanh", "quad": the attribute's values, written here only.
llvm::StringRef geluFormName(GeluForm f);
/// "exp", "2quad".
llvm::StringRef softmaxFormName(SoftmaxForm f);
/// The form \p name names, or an error listing the forms.
llvm::Expected<GeluForm> parseGeluForm(llvm::StringRef name);
llvm::Expected<SoftmaxForm> parseSoftmaxForm(llvm::StringRef name);
/// The form of a verified gelu / softmax op (its default when absent).
GeluForm geluForm(const Op &op);
SoftmaxForm softmaxForm(const Op &op);
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
