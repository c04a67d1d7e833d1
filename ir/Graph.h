//===- ir/Graph.h - Values, ops, attributes and the graph ------*- C++ -*-===//
//
// The MPC IR: SSA values with TensorTypes, generic ops (kind from Ops.def,
// operands, one or more results, sorted attributes, the ONNX location they
// came from), and a Graph holding them in topological order. Constants
// (weights and public constants) are values with attached data.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Type.h"
#include "support/Diag.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mpc {

enum class OpKind : uint16_t {
#define MPC_OP(Enum, Text, Stage, ...) Enum,
#include "ir/Ops.def"
};

/// Stage at which an op kind is valid (see Ops.def).
enum class OpStage : uint8_t { Semantic, Lowered, Any };

llvm::StringRef opKindName(OpKind k);
OpStage opKindStage(OpKind k);
/// Looks up an op kind by mnemonic; nullopt when unknown.
std::optional<OpKind> opKindFromName(llvm::StringRef name);

/// An attribute value: integer, float, string, integer list or float list.
using Attr = std::variant<int64_t, double, std::string, std::vector<int64_t>,
                          std::vector<double>>;

class Op;
class Graph;

/// Data of a constant value. Weights are private to party 0 and their data
/// never goes into the plan; `elided` marks data dropped by the text form.
struct ConstData {
  std::vector<double> f;  ///< For F32 constants.
  std::vector<int64_t> i; ///< For I64 / Bool constants.
  bool elided = false;
};

class Value {
public:
  const TensorType &type() const { return type_; }
  TensorType &mutableType() { return type_; }
  void setType(TensorType t) { type_ = std::move(t); }
  const std::string &name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }

  /// The defining op, or null for graph inputs and constants.
  Op *definingOp() const { return def_; }
  bool isInput() const { return isInput_; }
  bool isConstant() const { return constant_.has_value(); }
  /// A weight: a constant private to party 0 (printed as @name).
  bool isWeight() const { return isConstant() && type_.isPrivateTo(0); }
  const ConstData &constData() const { return *constant_; }
  ConstData &mutableConstData() { return *constant_; }

  llvm::ArrayRef<Op *> users() const { return users_; }
  bool hasUses() const { return !users_.empty(); }

private:
  friend class Graph;
  friend class Op;
  TensorType type_;
  std::string name_;
  Op *def_ = nullptr;
  bool isInput_ = false;
  std::optional<ConstData> constant_;
  llvm::SmallVector<Op *, 2> users_; ///< One entry per use (may repeat).
};

class Op {
public:
  OpKind kind() const { return kind_; }
  llvm::StringRef name() const { return opKindName(kind_); }
  llvm::ArrayRef<Value *> operands() const { return operands_; }
  Value *operand(unsigned i) const { return operands_[i]; }
  unsigned numOperands() const { return operands_.size(); }
  llvm::ArrayRef<Value *> results() const { return results_; }
  Value *result(unsigned i = 0) const { return results_[i]; }
  unsigned numResults() const { return results_.size(); }

  /// Replaces operand \p i, keeping use lists right.
  void setOperand(unsigned i, Value *v);

  const std::map<std::string, Attr> &attrs() const { return attrs_; }
  bool hasAttr(llvm::StringRef n) const { return attrs_.count(n.str()) != 0; }
  void setAttr(llvm::StringRef n, Attr a) { attrs_[n.str()] = std::move(a); }
  void removeAttr(llvm::StringRef n) { attrs_.erase(n.str()); }
  /// Typed getters; return \p def when absent or of another type.
  int64_t getInt(llvm::StringRef n, int64_t def = 0) const;
  double getFloat(llvm::StringRef n, double def = 0) const;
  std::string getString(llvm::StringRef n, llvm::StringRef def = "") const;
  std::vector<int64_t> getInts(llvm::StringRef n) const;
  std::vector<double> getFloats(llvm::StringRef n) const;

  const Location &loc() const { return loc_; }
  void setLoc(Location l) { loc_ = std::move(l); }
  /// The ONNX node the op came from, or its mnemonic when it has none: what
  /// messages name and what calibration keys its figures by.
  std::string sourceNode() const {
    return loc_.onnxNode.empty() ? name().str() : loc_.onnxNode;
  }

private:
  friend class Graph;
  OpKind kind_;
  llvm::SmallVector<Value *, 3> operands_;
  llvm::SmallVector<Value *, 1> results_;
  std::map<std::string, Attr> attrs_; ///< Sorted: printing is deterministic.
  Location loc_;
};

/// The function being compiled: inputs, constants, ops in topological order,
/// outputs. Owns every value and op.
class Graph {
public:
  using OpList = std::list<std::unique_ptr<Op>>;
  using iterator = OpList::iterator;

  Graph() = default;
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  std::string name = "main";
  int opset = 0;

  Value *addInput(llvm::StringRef name, TensorType type);
  Value *addConstant(llvm::StringRef name, TensorType type, ConstData data);
  /// Creates an op before \p pos (end() appends) with results of \p types.
  Op *createOp(iterator pos, OpKind kind, llvm::ArrayRef<Value *> operands,
               llvm::ArrayRef<TensorType> resultTypes, Location loc = {});
  /// Removes \p op; its results must have no uses.
  void eraseOp(Op *op);
  /// Makes every use of \p from (including graph outputs) use \p to.
  void replaceAllUsesWith(Value *from, Value *to);
  /// Removes constants nobody uses.
  void removeDeadConstants();
  /// Removes every op none of whose results is used or a graph output (ops
  /// have no side effects), consumers first so a dead chain goes in one
  /// sweep, then the constants nobody uses. \returns whether anything was
  /// removed. The one dead-code removal: the importer, the patterns and the
  /// `dce` pass call it.
  bool removeDeadCode();

  llvm::ArrayRef<Value *> inputs() const { return inputs_; }
  llvm::ArrayRef<Value *> constants() const { return constants_; }
  llvm::ArrayRef<Value *> outputs() const { return outputs_; }
  /// Sets the outputs; output i is called \p names[i] where given and not
  /// empty, else by its value's name. An output's name is its own, not its
  /// value's: one value may be two outputs (y = Identity(t), z = t), or a
  /// graph input or constant of another name, and lowering replaces the
  /// values behind outputs.
  void setOutputs(llvm::ArrayRef<Value *> outs,
                  llvm::ArrayRef<std::string> names = {});
  /// Makes output \p i \p v, keeping its name.
  void setOutput(unsigned i, Value *v);
  /// The name output \p i is read by (the ONNX graph output's).
  llvm::StringRef outputName(unsigned i) const;

  OpList &ops() { return ops_; }
  const OpList &ops() const { return ops_; }
  /// The ops of kind \p k, in order, as a list that stays valid while a
  /// rewrite creates and erases ops (patterns and passes iterate it).
  std::vector<Op *> opsOfKind(OpKind k) const;
  iterator begin() { return ops_.begin(); }
  iterator end() { return ops_.end(); }
  iterator iteratorOf(Op *op);
  Value *findConstant(llvm::StringRef name) const;
  Value *findInput(llvm::StringRef name) const;

  /// A fresh value name with prefix \p hint, unique in this graph.
  std::string uniqueName(llvm::StringRef hint);

private:
  Value *newValue(llvm::StringRef name, TensorType type);
  std::vector<std::unique_ptr<Value>> values_;
  std::vector<Value *> inputs_, constants_, outputs_;
  std::vector<std::string> outputNames_; ///< "": the value's name.
  OpList ops_;
  std::map<std::string, int> nameCounts_;
};

/// Counts ops of \p kind (tests).
unsigned countOps(const Graph &g, OpKind kind);

} // namespace mpc
