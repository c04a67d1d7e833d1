//===- ir/ValueNames.cpp - The names values carry in the text form --------===//

#include "ir/ValueNames.h"

#include "llvm/ADT/StringSet.h"

using namespace mpc;

std::string mpc::sanitizeValueName(llvm::StringRef name) {
  std::string s;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.';
    s += ok ? c : '_';
  }
  if (s.empty() || (s[0] >= '0' && s[0] <= '9'))
    s.insert(s.begin(), 'v');
  return s;
}

/// Sanitises \p name and makes it unique in \p taken ("x", "x.1", ...).
static std::string uniqueIn(llvm::StringSet<> &taken, llvm::StringRef name) {
  std::string base = sanitizeValueName(name);
  std::string cand = base;
  for (int n = 1; taken.count(cand); ++n)
    cand = base + "." + std::to_string(n);
  taken.insert(cand);
  return cand;
}

ValueNames::ValueNames(const Graph &g) {
  llvm::StringSet<> percent, at;
  for (const Value *v : g.inputs())
    names_[v] = "%" + uniqueIn(percent, v->name());
  for (const Value *c : g.constants()) {
    if (c->isWeight())
      names_[c] = "@" + uniqueIn(at, c->name());
    else
      names_[c] = "%" + uniqueIn(percent, c->name());
  }
  unsigned next = 0;
  for (const auto &op : g.ops())
    for (const Value *r : op->results())
      names_[r] = "%" + std::to_string(next++);
}

std::string ValueNames::operator()(const Value *v) const {
  auto it = names_.find(v);
  return it == names_.end() ? "%<undefined>" : it->second;
}

std::string ValueNames::opRef(const Op &op) const {
  std::string s;
  for (unsigned i = 0; i < op.numResults(); ++i)
    s += (i ? ", " : "") + (*this)(op.result(i));
  return s + (s.empty() ? "" : " = ") + op.name().str();
}
