//===- frontend/ImportContext.h - State shared by ONNX op handlers -*- C++ -*-//
//
// The ImportContext is what every handler in frontend/import/ works with:
// the graph and a Builder positioned at its end, the table from ONNX tensor
// names to IR values, the node being imported (its location, inputs,
// outputs and attributes), and `emit`, which creates an IR op and folds it
// into a constant when all its operands are constants. Folding at import is
// what turns the Shape/Gather/Concat sub-graphs of dynamic exports into
// plain attributes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Builder.h"
#include "ir/Graph.h"
#include "support/Diag.h"
#include "support/Tensor.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <onnx/onnx_pb.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mpc::onnx {

namespace pb = ::ONNX_NAMESPACE;

class ImportContext {
public:
  ImportContext(Graph &g, int opset) : g_(g), b_(g), opset_(opset) {}

  Graph &graph() { return g_; }
  Builder &builder() { return b_; }
  int opset() const { return opset_; }

  /// Starts importing \p node: sets the location ops are stamped with.
  void beginNode(const pb::NodeProto &node);
  const pb::NodeProto &node() const { return *node_; }
  const Location &loc() const { return loc_; }

  /// Binds ONNX tensor name \p name to \p v.
  void define(const std::string &name, Value *v) { values_[name] = v; }
  /// The value bound to \p name, or null.
  Value *lookup(llvm::StringRef name) const;

  /// Number of node inputs, counting omitted optional ones ("").
  unsigned numInputs() const { return node_->input_size(); }
  /// True when input \p i is present and not the empty (omitted) name.
  bool hasInput(unsigned i) const;
  /// Input \p i; an error names it when it is missing or undefined.
  llvm::Expected<Value *> input(unsigned i) const;
  unsigned numOutputs() const { return node_->output_size(); }
  /// True when output \p i is present and not omitted.
  bool hasOutput(unsigned i) const;
  /// Binds output \p i of the current node to \p v.
  void setOutput(unsigned i, Value *v);

  /// The attribute named \p name, or null.
  const pb::AttributeProto *attr(llvm::StringRef name) const;
  int64_t attrInt(llvm::StringRef name, int64_t def) const;
  double attrFloat(llvm::StringRef name, double def) const;
  std::string attrString(llvm::StringRef name, llvm::StringRef def) const;
  std::optional<std::vector<int64_t>> attrInts(llvm::StringRef name) const;

  /// Adds a constant named after \p hint (made unique).
  Value *addConstant(llvm::StringRef hint, TensorType type, ConstData data);
  /// A constant that comes from the model file (initializer, Constant node,
  /// ConstantOfShape fill): private to party 0, whatever its size or type.
  /// It becomes public only where the importer reads it as structure (a
  /// shape, axes, indices, an exponent) or a recognised pattern absorbs it
  /// (README: "What the plan holds").
  Value *addModelConstant(llvm::StringRef name, const HostTensor &data);
  /// A public i64 / f32 constant.
  Value *constI64(llvm::ArrayRef<int64_t> shape, std::vector<int64_t> v,
                  llvm::StringRef hint = "cst");
  Value *constF32(llvm::ArrayRef<int64_t> shape, std::vector<double> v,
                  llvm::StringRef hint = "cst");
  /// The integer data of constant \p v; an error names \p what (e.g. "shape
  /// input of Reshape") when \p v is not a constant integer tensor.
  llvm::Expected<std::vector<int64_t>> constInts(const Value *v,
                                                 llvm::StringRef what) const;
  /// Shorthand: constInts(input(i)).
  llvm::Expected<std::vector<int64_t>> inputInts(unsigned i,
                                                 llvm::StringRef what) const;

  /// Creates an op of \p kind with inferred result types at the current
  /// location. When every operand is a constant, evaluates it instead and
  /// returns a new constant (private to party 0 if an operand was, else
  /// public). A folded constant is named after \p hint, or after the
  /// node's output when \p hint is empty.
  llvm::Expected<Value *> emit(OpKind kind, llvm::ArrayRef<Value *> operands,
                               std::map<std::string, Attr> attrs = {},
                               llvm::StringRef hint = "");

  /// Normalises \p axis into [0, rank); an error names \p what.
  llvm::Expected<int64_t> normAxis(int64_t axis, int64_t rank,
                                   llvm::StringRef what) const;

  /// An error at the current node.
  template <typename... Args>
  llvm::Error fail(fmt::format_string<Args...> f, Args &&...args) const {
    return diag(loc_, f, std::forward<Args>(args)...);
  }

  /// A readable hint for names of values made by the current node.
  std::string nameHint(unsigned output = 0) const;

  /// The Conv node whose output is \p v, if any: BatchNormalization folds
  /// into it (frontend/import/Conv.cpp).
  const pb::NodeProto *convOf(const Value *v) const {
    auto it = convs_.find(v);
    return it == convs_.end() ? nullptr : it->second;
  }
  void setConvOf(const Value *v, const pb::NodeProto *conv) {
    convs_[v] = conv;
  }

private:
  Graph &g_;
  Builder b_;
  int opset_;
  const pb::NodeProto *node_ = nullptr;
  Location loc_;
  llvm::StringMap<Value *> values_;
  std::map<const Value *, const pb::NodeProto *> convs_;
};

} // namespace mpc::onnx
