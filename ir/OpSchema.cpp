//===- ir/OpSchema.cpp - Operand counts and attributes of each op ---------===//
//
// The schemas expanded from Ops.def, and attribute checking against them.
//
//===----------------------------------------------------------------------===//

#include "ir/OpSchema.h"

#include "ir/IR.h"
#include "support/Diag.h"

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
enum Presence : bool { Optional = false, Required = true };
} // namespace

// One attribute array per op kind, ending in a null sentinel (an op without
// attributes still has an array).
#define MPC_ATTR(Name, Kind, Req) AttrSpec{#Name, AttrKind::Kind, Req},
#define MPC_UNPACK(...) __VA_ARGS__
#define MPC_OP(Enum, Text, Stage, Min, Max, AttrList, ...)                     \
  static const AttrSpec k##Enum##Attrs[] = {                                   \
      MPC_UNPACK AttrList AttrSpec{nullptr, AttrKind::Int, false}};
#include "ir/Ops.def"
#undef MPC_ATTR

static const OpSchema kSchemas[] = {
#define MPC_OP(Enum, Text, Stage, Min, Max, AttrList, ...)                     \
  {Min, Max, llvm::ArrayRef<AttrSpec>(k##Enum##Attrs).drop_back()},
#include "ir/Ops.def"
};
#undef MPC_UNPACK

const OpSchema &mpc::opSchema(OpKind k) {
  return kSchemas[static_cast<size_t>(k)];
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

static constexpr std::pair<GeluForm, const char *> kGeluForms[] = {
    {GeluForm::Erf, "erf"}, {GeluForm::Tanh, "tanh"}, {GeluForm::Quad, "quad"}};
static constexpr std::pair<SoftmaxForm, const char *> kSoftmaxForms[] = {
    {SoftmaxForm::Exp, "exp"}, {SoftmaxForm::TwoQuad, "2quad"}};

template <typename E, size_t N>
static llvm::StringRef formName(const std::pair<E, const char *> (&t)[N], E f) {
  for (const auto &[e, n] : t)
    if (e == f)
      return n;
  llvm_unreachable("form missing from its table");
}

template <typename E, size_t N>
static llvm::Expected<E> parseForm(const std::pair<E, const char *> (&t)[N],
                                   llvm::StringRef name) {
  std::string all;
  for (size_t k = 0; k < N; ++k) {
    if (name == t[k].second)
      return t[k].first;
    all += fmt::format("{}\"{}\"",
                       k == 0       ? ""
                       : k + 1 == N ? " or "
                                    : ", ",
                       t[k].second);
  }
  return mpc::error("unknown form \"{}\" (expected {})", name.str(), all);
}

llvm::StringRef mpc::geluFormName(GeluForm f) {
  return formName(kGeluForms, f);
}
llvm::StringRef mpc::softmaxFormName(SoftmaxForm f) {
  return formName(kSoftmaxForms, f);
}
llvm::Expected<GeluForm> mpc::parseGeluForm(llvm::StringRef name) {
  return parseForm(kGeluForms, name);
}
llvm::Expected<SoftmaxForm> mpc::parseSoftmaxForm(llvm::StringRef name) {
  return parseForm(kSoftmaxForms, name);
}

GeluForm mpc::geluForm(const Op &op) {
  auto f = parseGeluForm(op.getString("form", geluFormName(GeluForm::Erf)));
  if (!f) {
    llvm::consumeError(f.takeError());
    llvm_unreachable("the verifier checks gelu's form");
  }
  return *f;
}

SoftmaxForm mpc::softmaxForm(const Op &op) {
  auto f =
      parseSoftmaxForm(op.getString("form", softmaxFormName(SoftmaxForm::Exp)));
  if (!f) {
    llvm::consumeError(f.takeError());
    llvm_unreachable("the verifier checks softmax's form");
  }
  return *f;
}
