//===- ir/OpSchema.cpp - Operand counts and attributes of each op ---------===//
//
// One switch over OpKind (no default: a new op in Ops.def must be given a
// schema here, -Wswitch says so) returning static schema tables.
//
//===----------------------------------------------------------------------===//

#include "ir/OpSchema.h"

#include <fmt/format.h>

using namespace mpc;

llvm::StringRef mpc::attrKindName(AttrKind k) {
  switch (k) {
  case AttrKind::Int:
    return "int";
  case AttrKind::Float:
    return "float";
  case AttrKind::String:
    return "string";
  case AttrKind::Ints:
    return "int list";
  case AttrKind::Floats:
    return "float list";
  }
  return "?";
}

namespace {
constexpr AttrKind kInt = AttrKind::Int;
constexpr AttrKind kFloat = AttrKind::Float;
constexpr AttrKind kString = AttrKind::String;
constexpr AttrKind kInts = AttrKind::Ints;
} // namespace

static const AttrSpec kCastAttrs[] = {{"to", kString, true}};
static const AttrSpec kReshapeAttrs[] = {{"shape", kInts, true}};
static const AttrSpec kTransposeAttrs[] = {{"perm", kInts, true}};
static const AttrSpec kSliceAttrs[] = {{"axes", kInts, false},
                                       {"ends", kInts, true},
                                       {"starts", kInts, true},
                                       {"steps", kInts, false}};
static const AttrSpec kConcatAttrs[] = {{"axis", kInt, true}};
static const AttrSpec kGatherAttrs[] = {{"axis", kInt, false}};
static const AttrSpec kReduceAttrs[] = {{"axes", kInts, false},
                                        {"keepdims", kInt, false}};
static const AttrSpec kLayerNormAttrs[] = {{"axis", kInt, false},
                                           {"eps", kFloat, false}};
static const AttrSpec kGeluAttrs[] = {{"form", kString, false}};
static const AttrSpec kSoftmaxAttrs[] = {
    {"axis", kInt, false}, {"c", kFloat, false}, {"form", kString, false}};
static const AttrSpec kMaskBiasAttrs[] = {{"frac", kInt, false},
                                          {"value", kFloat, true}};
static const AttrSpec kTruncAttrs[] = {{"bits", kInt, true},
                                       {"ring_bits", kInt, false}};
static const AttrSpec kRingAttrs[] = {{"ring_bits", kInt, false}};
static const AttrSpec kOneHotAttrs[] = {{"depth", kInt, true}};
static const AttrSpec kRevealAttrs[] = {{"to", kInt, true}};
static const AttrSpec kPiecewiseMpcAttrs[] = {{"approx", kString, true},
                                              {"compare_bits", kInt, false}};
static const AttrSpec kGeluMpcAttrs[] = {{"approx", kString, true},
                                         {"compare_bits", kInt, false},
                                         {"trunc_bits", kInt, false}};
static const AttrSpec kSoftmaxMpcAttrs[] = {{"approx", kString, true},
                                            {"c", kFloat, false},
                                            {"input_bits", kInt, false}};
static const AttrSpec kLayerNormMpcAttrs[] = {{"approx", kString, true},
                                              {"eps", kFloat, true}};

const OpSchema &mpc::opSchema(OpKind k) {
  static const OpSchema unary{1, 1, {}};
  static const OpSchema binary{2, 2, {}};
  static const OpSchema where{3, 3, {}};
  static const OpSchema cast{1, 1, kCastAttrs};
  static const OpSchema linear{2, 3, {}};
  static const OpSchema reshape{1, 1, kReshapeAttrs};
  static const OpSchema transpose{1, 1, kTransposeAttrs};
  static const OpSchema slice{1, 1, kSliceAttrs};
  static const OpSchema concat{1, UINT_MAX, kConcatAttrs};
  static const OpSchema gather{2, 2, kGatherAttrs};
  static const OpSchema reduce{1, 1, kReduceAttrs};
  static const OpSchema layerNorm{3, 3, kLayerNormAttrs};
  static const OpSchema gelu{1, 1, kGeluAttrs};
  static const OpSchema softmax{1, 1, kSoftmaxAttrs};
  static const OpSchema maskBias{1, 1, kMaskBiasAttrs};
  static const OpSchema linearPw{2, UINT_MAX, kRingAttrs};
  static const OpSchema matmulBeaver{2, 2, kRingAttrs};
  static const OpSchema trunc{1, 1, kTruncAttrs};
  static const OpSchema oneHot{1, 1, kOneHotAttrs};
  static const OpSchema reveal{1, 1, kRevealAttrs};
  static const OpSchema piecewiseMpc{1, 1, kPiecewiseMpcAttrs};
  static const OpSchema geluMpc{1, 1, kGeluMpcAttrs};
  static const OpSchema softmaxMpc{1, 1, kSoftmaxMpcAttrs};
  static const OpSchema layerNormMpc{3, 3, kLayerNormMpcAttrs};
  switch (k) {
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Pow:
  case OpKind::Equal:
  case OpKind::MatMul:
  case OpKind::Embedding:
    return binary;
  case OpKind::Neg:
  case OpKind::Sqrt:
  case OpKind::Erf:
  case OpKind::Tanh:
  case OpKind::Exp:
  case OpKind::Relu:
    return unary;
  case OpKind::Where:
    return where;
  case OpKind::Cast:
    return cast;
  case OpKind::Linear:
    return linear;
  case OpKind::Reshape:
    return reshape;
  case OpKind::Transpose:
    return transpose;
  case OpKind::Slice:
    return slice;
  case OpKind::Concat:
    return concat;
  case OpKind::Gather:
    return gather;
  case OpKind::ReduceSum:
  case OpKind::ReduceMean:
  case OpKind::ReduceMax:
    return reduce;
  case OpKind::LayerNorm:
    return layerNorm;
  case OpKind::Gelu:
    return gelu;
  case OpKind::Softmax:
    return softmax;
  case OpKind::MaskBias:
    return maskBias;
  case OpKind::LinearPw:
    return linearPw;
  case OpKind::MatMulBeaver:
    return matmulBeaver;
  case OpKind::MulPw:
  case OpKind::MulBeaver:
  case OpKind::MulPublic:
    return binary;
  case OpKind::Trunc:
    return trunc;
  case OpKind::OneHot:
    return oneHot;
  case OpKind::Reveal:
    return reveal;
  case OpKind::GeluMpc:
    return geluMpc;
  case OpKind::TanhMpc:
    return piecewiseMpc;
  case OpKind::SoftmaxMpc:
    return softmaxMpc;
  case OpKind::LayerNormMpc:
    return layerNormMpc;
  }
  return unary;
}

bool mpc::attrHasKind(const Attr &a, AttrKind kind) {
  switch (kind) {
  case AttrKind::Int:
    return std::holds_alternative<int64_t>(a);
  case AttrKind::Float:
    return std::holds_alternative<double>(a) ||
           std::holds_alternative<int64_t>(a);
  case AttrKind::String:
    return std::holds_alternative<std::string>(a);
  case AttrKind::Ints:
    return std::holds_alternative<std::vector<int64_t>>(a);
  case AttrKind::Floats:
    if (auto *v = std::get_if<std::vector<int64_t>>(&a))
      return v->empty();
    return std::holds_alternative<std::vector<double>>(a);
  }
  return false;
}

std::vector<std::string>
mpc::checkAttrs(OpKind k, const std::map<std::string, Attr> &attrs) {
  std::vector<std::string> problems;
  const OpSchema &s = opSchema(k);
  for (const auto &[name, value] : attrs) {
    // Every op may carry its schedule step (schedule-rounds).
    if (name == "step") {
      if (!attrHasKind(value, AttrKind::Int))
        problems.push_back("attribute 'step' must be a int");
      continue;
    }
    const AttrSpec *spec = nullptr;
    for (const AttrSpec &a : s.attrs)
      if (name == a.name)
        spec = &a;
    if (!spec) {
      problems.push_back(fmt::format("unknown attribute '{}'", name));
      continue;
    }
    if (!attrHasKind(value, spec->kind))
      problems.push_back(fmt::format("attribute '{}' must be a {}", name,
                                     attrKindName(spec->kind).str()));
  }
  for (const AttrSpec &a : s.attrs)
    if (a.required && !attrs.count(a.name))
      problems.push_back(fmt::format("missing attribute '{}'", a.name));
  return problems;
}
