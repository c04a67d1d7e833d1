//===- frontend/patterns/Match.h - Helpers for pattern matching -*- C++ -*-===//
//
// Small structural matchers over the IR (defining op of a kind, scalar
// constants within tolerance, commutative operand orders, single-use
// checks) and a polynomial reader: it expresses a value as a polynomial in
// one variable x and one extra symbol e (e.g. the output of an Erf) by
// walking back through single-use Add/Sub/Mul/Neg/Div-by-constant/
// Pow-by-integer ops. Elementwise patterns (GeLU forms, Quad) compare
// polynomial coefficients instead of enumerating every operand order.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/SmallVector.h"

#include <map>
#include <optional>
#include <utility>

namespace mpc::onnx {

/// The op defining \p v when it is of \p kind, else null.
Op *defOf(const Value *v, OpKind kind);

/// True when \p v is a constant with exactly one element; stores it.
bool scalarConst(const Value *v, double &out);
/// True when \p v is a one-element constant within \p tol (absolute, and
/// relative for large values) of \p expected.
bool isScalar(const Value *v, double expected, double tol = 1e-4);
/// |a - b| <= tol * max(1, |b|).
bool near(double a, double b, double tol = 1e-4);

/// True when \p v is a graph output of \p g.
bool isOutput(const Graph &g, const Value *v);
/// True when \p v has exactly one use and is not a graph output.
bool hasOneUse(const Graph &g, const Value *v);

/// For a binary op \p op, finds the operand order (a, b) for which \p first
/// accepts a; stores the other operand in \p other. Commutative matching.
template <typename Pred>
bool matchEither(const Op *op, Pred first, Value *&matched, Value *&other) {
  if (op->numOperands() != 2)
    return false;
  for (unsigned i = 0; i < 2; ++i) {
    if (first(op->operand(i))) {
      matched = op->operand(i);
      other = op->operand(1 - i);
      return true;
    }
  }
  return false;
}

/// True when the reduction \p op reduces exactly the last axis with
/// keepdims = 1.
bool reducesLastAxisKeepDims(const Op *op);

/// The one use of \p v (an op), or null when \p v has no or several uses or
/// is a graph output.
Op *singleUser(const Graph &g, const Value *v);

/// A polynomial in x and e: coefficient of x^i e^j at key (i, j).
struct Poly {
  std::map<std::pair<int, int>, double> c;

  static Poly constant(double v);
  static Poly var(int i, int j);
  Poly operator+(const Poly &o) const;
  Poly operator*(const Poly &o) const;
  Poly scaled(double s) const;
  /// True when every coefficient equals \p expected's (missing = 0) within
  /// \p tol.
  bool near(const Poly &expected, double tol = 1e-4) const;
  double at(int i, int j = 0) const;
};

/// Reads \p v as a polynomial in \p x and \p e (e may be null). Interior
/// values must be single-use (so the matched ops can all be removed);
/// leaves must be x, e or one-element constants. nullopt when \p v is not
/// such a polynomial. \p v itself may have any number of uses.
std::optional<Poly> polyOf(const Graph &g, const Value *v, const Value *x,
                           const Value *e = nullptr);

/// Walks back from \p v as polyOf does and collects the non-constant leaves
/// (values with several uses, graph inputs, outputs of non-polynomial ops).
/// \returns the leaf when there is exactly one, else null.
Value *polyLeaf(const Graph &g, Value *v);

/// Constant \p c as a [n] vector: itself when it already is one, else a
/// new constant with the same visibility ([1, n] reshaped, a scalar
/// repeated). Null when \p c is not a float constant of that kind.
Value *asVectorConst(Graph &g, Value *c, int64_t n);

/// Makes every use of \p from use \p to (keeping an output name on \p to);
/// the ops left without uses are removed by Graph::removeDeadCode later.
void replaceValue(Graph &g, Value *from, Value *to);

} // namespace mpc::onnx
