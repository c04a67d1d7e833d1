//===- ir/Builder.h - Creating ops with inferred result types --*- C++ -*-===//
//
// The Builder creates ops at an insertion point, infers their result types
// from operand types and attributes (shape and element type; visibility is
// the "most secret" of the operands, as SPU's computeCommonVisibility), and
// stamps them with the current location. Lowering passes derive names and
// locations from the op they replace (Glow's loweredInfoMap).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/Support/Error.h"

namespace mpc {

/// Infers the result type(s) of an op of \p kind; errors name what does not
/// fit (shapes, ranks, attribute values).
llvm::Expected<llvm::SmallVector<TensorType, 1>>
inferResultTypes(OpKind kind, llvm::ArrayRef<const Value *> operands,
                 const std::map<std::string, Attr> &attrs);

/// Whether ops of \p kind are element-wise: each result element reads the
/// operands' elements at its own index, numpy-broadcast (their Ops.def
/// infer rule is one of the element-wise rules of ir/Builder.cpp).
bool isElementwise(OpKind kind);

/// Common visibility of operands: Shared if any is shared or two owners mix,
/// Private(p) if all non-public operands are private to p, else Public.
void commonVisibility(llvm::ArrayRef<const Value *> operands, Vis &vis,
                      int &owner);

class Builder {
public:
  explicit Builder(Graph &g) : g_(g), pos_(g.end()) {}

  void setInsertionPoint(Graph::iterator pos) { pos_ = pos; }
  void setInsertionPointBefore(Op *op) { pos_ = g_.iteratorOf(op); }
  void setInsertionPointAfter(Op *op) { pos_ = std::next(g_.iteratorOf(op)); }
  void setInsertionPointToEnd() { pos_ = g_.end(); }
  void setLoc(Location loc) { loc_ = std::move(loc); }
  const Location &loc() const { return loc_; }
  Graph &graph() { return g_; }

  /// Creates an op whose result types are inferred; fails with a DiagError
  /// at the current location when the operands do not fit.
  llvm::Expected<Op *> create(OpKind kind, llvm::ArrayRef<Value *> operands,
                              std::map<std::string, Attr> attrs = {});
  /// Creates an op with explicit result types (no inference).
  Op *createWithTypes(OpKind kind, llvm::ArrayRef<Value *> operands,
                      llvm::ArrayRef<TensorType> resultTypes,
                      std::map<std::string, Attr> attrs = {});

  /// A public constant (f32 or i64 by the vector used).
  Value *constF32(llvm::ArrayRef<int64_t> shape, std::vector<double> v,
                  llvm::StringRef hint = "cst");
  Value *constI64(llvm::ArrayRef<int64_t> shape, std::vector<int64_t> v,
                  llvm::StringRef hint = "cst");

private:
  Graph &g_;
  Graph::iterator pos_;
  Location loc_;
};

} // namespace mpc
