//===- frontend/patterns/Match.cpp - Helpers for pattern matching ---------===//
//
// Structural helpers and the polynomial reader used by the patterns.
//
//===----------------------------------------------------------------------===//

#include "frontend/patterns/Match.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <set>

using namespace mpc;
using namespace mpc::onnx;

Op *mpc::onnx::defOf(const Value *v, OpKind kind) {
  Op *op = v->definingOp();
  return op && op->kind() == kind ? op : nullptr;
}

bool mpc::onnx::scalarConst(const Value *v, double &out) {
  if (!v->isConstant() || v->type().numElements() != 1)
    return false;
  const ConstData &d = v->constData();
  if (!d.f.empty())
    out = d.f[0];
  else if (!d.i.empty())
    out = static_cast<double>(d.i[0]);
  else
    return false;
  return true;
}

bool mpc::onnx::near(double a, double b, double tol) {
  return std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b));
}

bool mpc::onnx::isScalar(const Value *v, double expected, double tol) {
  double x;
  return scalarConst(v, x) && near(x, expected, tol);
}

bool mpc::onnx::isOutput(const Graph &g, const Value *v) {
  return llvm::is_contained(g.outputs(), v);
}

bool mpc::onnx::hasOneUse(const Graph &g, const Value *v) {
  return v->users().size() == 1 && !isOutput(g, v);
}

Op *mpc::onnx::singleUser(const Graph &g, const Value *v) {
  return hasOneUse(g, v) ? v->users()[0] : nullptr;
}

bool mpc::onnx::reducesLastAxisKeepDims(const Op *op) {
  int64_t rank = op->operand(0)->type().rank();
  std::vector<int64_t> axes = op->getInts("axes");
  return axes.size() == 1 && (axes[0] == rank - 1 || axes[0] == -1) &&
         op->getInt("keepdims", 1) == 1;
}

Poly Poly::constant(double v) {
  Poly p;
  if (v != 0)
    p.c[{0, 0}] = v;
  return p;
}

Poly Poly::var(int i, int j) {
  Poly p;
  p.c[{i, j}] = 1.0;
  return p;
}

Poly Poly::operator+(const Poly &o) const {
  Poly r = *this;
  for (const auto &[k, v] : o.c)
    r.c[k] += v;
  return r;
}

Poly Poly::operator*(const Poly &o) const {
  Poly r;
  for (const auto &[ka, va] : c)
    for (const auto &[kb, vb] : o.c)
      r.c[{ka.first + kb.first, ka.second + kb.second}] += va * vb;
  return r;
}

Poly Poly::scaled(double s) const {
  Poly r = *this;
  for (auto &[k, v] : r.c)
    v *= s;
  return r;
}

double Poly::at(int i, int j) const {
  auto it = c.find({i, j});
  return it == c.end() ? 0.0 : it->second;
}

bool Poly::near(const Poly &expected, double tol) const {
  std::set<std::pair<int, int>> keys;
  for (const auto &[k, v] : c)
    keys.insert(k);
  for (const auto &[k, v] : expected.c)
    keys.insert(k);
  for (const auto &k : keys)
    if (!mpc::onnx::near(at(k.first, k.second), expected.at(k.first, k.second),
                         tol))
      return false;
  return true;
}

/// Ops the polynomial reader walks through.
static bool isPolyOp(OpKind k) {
  return k == OpKind::Add || k == OpKind::Sub || k == OpKind::Mul ||
         k == OpKind::Div || k == OpKind::Pow || k == OpKind::Neg;
}

namespace {
/// Shared walk of polyOf and polyLeaf. With \p x set it builds the
/// polynomial; without, it only collects leaves.
struct PolyWalk {
  const Graph &g;
  const Value *x;
  const Value *e;
  std::set<Value *> leaves;
  int budget = 64; ///< Ops visited at most (bounds the work).

  std::optional<Poly> walk(Value *v, bool isRoot) {
    if (--budget < 0)
      return std::nullopt;
    if (x && v == x)
      return Poly::var(1, 0);
    if (e && v == e)
      return Poly::var(0, 1);
    double c;
    if (scalarConst(v, c))
      return Poly::constant(c);
    Op *op = v->definingOp();
    bool interior = op && isPolyOp(op->kind()) &&
                    v->type().elem == ElemType::F32 &&
                    (isRoot || hasOneUse(g, v));
    if (!interior) {
      if (x) // Building: an unexpected leaf.
        return std::nullopt;
      leaves.insert(v);
      return Poly();
    }
    switch (op->kind()) {
    case OpKind::Neg: {
      auto a = walk(op->operand(0), false);
      return a ? std::optional<Poly>(a->scaled(-1)) : std::nullopt;
    }
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul: {
      auto a = walk(op->operand(0), false);
      auto b = walk(op->operand(1), false);
      if (!a || !b)
        return std::nullopt;
      if (op->kind() == OpKind::Add)
        return *a + *b;
      if (op->kind() == OpKind::Sub)
        return *a + b->scaled(-1);
      return *a * *b;
    }
    case OpKind::Div: {
      double d;
      if (!scalarConst(op->operand(1), d) || d == 0)
        return stop(v);
      auto a = walk(op->operand(0), false);
      return a ? std::optional<Poly>(a->scaled(1.0 / d)) : std::nullopt;
    }
    case OpKind::Pow: {
      double p;
      if (!scalarConst(op->operand(1), p) || p != std::floor(p) || p < 0 ||
          p > 4)
        return stop(v);
      auto a = walk(op->operand(0), false);
      if (!a)
        return std::nullopt;
      Poly r = Poly::constant(1.0);
      for (int k = 0; k < static_cast<int>(p); ++k)
        r = r * *a;
      return r;
    }
    default:
      llvm_unreachable("filtered by isPolyOp");
    }
  }

  /// A polynomial-looking op that is not one (e.g. Div by a tensor).
  std::optional<Poly> stop(Value *v) {
    if (x)
      return std::nullopt;
    leaves.insert(v);
    return Poly();
  }
};
} // namespace

std::optional<Poly> mpc::onnx::polyOf(const Graph &g, const Value *v,
                                      const Value *x, const Value *e) {
  assert(x && "polyOf needs the variable");
  PolyWalk w{g, x, e, {}};
  return w.walk(const_cast<Value *>(v), /*isRoot=*/true);
}

Value *mpc::onnx::polyLeaf(const Graph &g, Value *v) {
  PolyWalk w{g, nullptr, nullptr, {}};
  if (!w.walk(v, /*isRoot=*/true) || w.leaves.size() != 1)
    return nullptr;
  Value *leaf = *w.leaves.begin();
  return leaf == v ? nullptr : leaf;
}

Value *mpc::onnx::asVectorConst(Graph &g, Value *c, int64_t n) {
  const TensorType &t = c->type();
  if (!c->isConstant() || t.elem != ElemType::F32)
    return nullptr;
  if (t.rank() == 1 && t.shape[0] == n)
    return c;
  ConstData d = c->constData();
  if (t.numElements() == 1)
    d.f.assign(n, d.f.empty() ? 0.0 : d.f[0]);
  else if (t.numElements() != n || t.shape.back() != n)
    return nullptr;
  return g.addConstant(g.uniqueName(c->name()), t.withShape({n}), std::move(d));
}

void mpc::onnx::replaceValue(Graph &g, Value *from, Value *to) {
  if (isOutput(g, from))
    to->setName(from->name());
  g.replaceAllUsesWith(from, to);
}
