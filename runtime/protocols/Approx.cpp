//===- runtime/protocols/Approx.cpp - The approximation registry ----------===//
//
// The table of Approximations.def as ApproxInfo entries, and the lookups.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Approx.h"

#include "support/Diag.h"

#include <cassert>

namespace mpc::rt {

namespace {

struct KindRow {
  ApproxKind kind;
  const char *name;
  bool perOp;
};

constexpr KindRow kKinds[] = {
#define MPC_APPROX_KIND(Kind, Name, PerOp) {ApproxKind::Kind, Name, PerOp},
#include "runtime/protocols/Approximations.def"
};

const KindRow &kindRow(ApproxKind k) {
  const KindRow &r = kKinds[size_t(k)];
  assert(r.kind == k && "kind table out of order");
  return r;
}

} // namespace

llvm::StringRef approxKindName(ApproxKind k) { return kindRow(k).name; }

std::optional<ApproxKind> approxKindFromName(llvm::StringRef name) {
  for (const KindRow &r : kKinds)
    if (name == r.name)
      return r.kind;
  return std::nullopt;
}

llvm::ArrayRef<ApproxKind> perOpApproxKinds() {
  static const std::vector<ApproxKind> kinds = [] {
    std::vector<ApproxKind> v;
    for (const KindRow &r : kKinds)
      if (r.perOp)
        v.push_back(r.kind);
    return v;
  }();
  return kinds;
}

const std::vector<ApproxInfo> &approxCatalog() {
  static const std::vector<ApproxInfo> catalog = [] {
    std::vector<ApproxInfo> v;
#define MPC_APPROX(Kind, Id, Name, Lo, Hi, MaxAbsErr, MaxRelErr, Flags,        \
                   Source, Description)                                        \
  v.push_back(                                                                 \
      {Approximation::Kind##Id, ApproxKind::Kind, Name,                        \
       approxKindName(ApproxKind::Kind).str() + "." + Name, Lo, Hi, MaxAbsErr, \
       MaxRelErr, ApproxFlags::Flags == ApproxFlags::Default,                  \
       ApproxFlags::Flags == ApproxFlags::Training, Source, Description});
#include "runtime/protocols/Approximations.def"
    return v;
  }();
  return catalog;
}

const ApproxInfo &approxInfo(Approximation a) {
  const ApproxInfo &info = approxCatalog()[size_t(a)];
  assert(info.id == a && "approximation table out of order");
  return info;
}

const ApproxInfo *approxInfo(std::string_view name) {
  for (const ApproxInfo &a : approxCatalog())
    if (a.name == name)
      return &a;
  if (std::optional<ApproxKind> k =
          approxKindFromName(llvm::StringRef(name.data(), name.size())))
    return &approxInfo(defaultApprox(*k));
  return nullptr;
}

std::vector<const ApproxInfo *> approxesOf(ApproxKind kind) {
  std::vector<const ApproxInfo *> v;
  for (const ApproxInfo &a : approxCatalog())
    if (a.kind == kind)
      v.push_back(&a);
  return v;
}

Approximation defaultApprox(ApproxKind kind) {
  for (const ApproxInfo &a : approxCatalog())
    if (a.kind == kind && a.isDefault)
      return a.id;
  llvm_unreachable("every kind has a default approximation");
}

std::optional<Approximation> findApprox(ApproxKind kind, llvm::StringRef name) {
  for (const ApproxInfo &a : approxCatalog())
    if (a.kind == kind && a.shortName == name)
      return a.id;
  return std::nullopt;
}

std::string approxNames(ApproxKind kind) {
  std::string all;
  for (const ApproxInfo *a : approxesOf(kind))
    all += (all.empty() ? "" : ", ") + a->shortName;
  return all;
}

llvm::Expected<Approximation> parseApprox(ApproxKind kind,
                                          llvm::StringRef name) {
  if (std::optional<Approximation> a = findApprox(kind, name))
    return *a;
  return mpc::error("{}: unknown form '{}' ({})", approxKindName(kind).str(),
                    name.str(), approxNames(kind));
}

} // namespace mpc::rt
