//===- ir/IR.h - Printing, parsing, verifying and interpreting -*- C++ -*-===//
//
// Entry points over a whole Graph: the deterministic textual printer and
// its parser (one grammar; golden tests start from text), the verifier that
// reports every violation, and the float reference interpreter.
//
// Text form (grammar at the top of ir/Printer.cpp):
//   func @main(%input_ids: private1<1x8, i64>) opset=17 {
//     const @emb.weight : private0<100x16, f32> = dense<elided>
//     const %cst : public<2, f32> = dense<[1.0, 2.0]>
//     %0 = embedding @emb.weight, %input_ids : shared<1x8x16, f32>
//          loc("/emb/Gather" Gather)     (same line in real output)
//     %1 = gelu %0 {form = "erf"} : shared<1x8x16, f32>
//     return %1 as "logits"
//   }
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "support/Tensor.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <memory>

namespace mpc {

struct PrintOptions {
  /// Constants with at most this many elements print their values inline;
  /// larger ones print as `dense<elided>` (their data stays in memory).
  int64_t maxInlineElements = 16;
  bool printLocations = true;
};

/// Prints \p g deterministically: values are renamed %0, %1, ... in op order
/// (inputs and constants keep their names), attributes sorted.
void printGraph(const Graph &g, llvm::raw_ostream &os,
                const PrintOptions &opts = {});
std::string printGraphToString(const Graph &g, const PrintOptions &opts = {});

/// Parses the text form. Errors carry "<buffer>:line:col: message".
llvm::Expected<std::unique_ptr<Graph>>
parseGraph(llvm::StringRef text, llvm::StringRef bufferName = "<text>");

/// Checks operand counts, attributes, shapes against inferResultTypes,
/// topological order, use lists, and that every op is valid at \p stage
/// (Semantic allows Semantic+Any; Lowered allows Lowered+Any). Reports all
/// violations, joined.
llvm::Error verifyGraph(const Graph &g, OpStage stage = OpStage::Semantic);

/// Sees each op's operands just before the op runs (range checks).
using OpObserver =
    llvm::function_ref<void(const Op &, llvm::ArrayRef<const HostTensor *>)>;

/// Computes some ops in place of their float semantics: the compiler's
/// simulation of the secure run (driver/ApproxSim.h fills it from the
/// runtime's simulation of each op's approximation; ir/ cannot see the
/// runtime). The interpreter checks the operands as for evaluateOp first.
class OpSimulator {
public:
  virtual ~OpSimulator() = default;
  /// Whether simulate() computes \p op (else evaluateOp does).
  virtual bool handles(const Op &op) const = 0;
  /// \p op's results; errors name the op.
  virtual llvm::Expected<std::vector<HostTensor>>
  simulate(const Op &op, llvm::ArrayRef<const HostTensor *> operands) const = 0;
};

/// A graph's constants in host form, converted once for many
/// interpretations of that graph (--approx auto runs a model hundreds of
/// times; converting its weights each time cost as much as running it).
class ConstantCache {
public:
  /// \p c's host form (constantToHost), converted on first use.
  llvm::Expected<const HostTensor *> get(const Value &c);

private:
  std::map<const Value *, HostTensor> host_;
};

/// Runs \p g in double precision on host tensors keyed by input name;
/// returns outputs in graph output order. Used to check the frontend against
/// PyTorch (`mpcc float`). Errors name the op that failed. With \p sim,
/// the ops it handles are simulated instead. With \p constants, the
/// graph's constants are read from (and converted once into) it.
llvm::Expected<std::vector<HostTensor>>
interpretGraph(const Graph &g, const std::map<std::string, HostTensor> &inputs,
               OpObserver observe = {}, const OpSimulator *sim = nullptr,
               ConstantCache *constants = nullptr);

/// Evaluates one op of a Semantic/Any kind on host tensors, in double
/// precision with ONNX semantics (the frontend folds constants with it).
/// Operands must match the op's operand types (shape; float vs integer);
/// results follow the op's result types: F32/Fixed results are
/// HostType::F32 in `f`, I64 and Bool results are in `i`. Errors (operands
/// that do not fit, out-of-range indices) name the op and carry its
/// location.
llvm::Expected<std::vector<HostTensor>>
evaluateOp(const Op &op, llvm::ArrayRef<const HostTensor *> operands);

/// evaluateOp's checks alone: the operands fit the op's operand types and
/// the op's result types follow from them.
llvm::Error checkOperands(const Op &op,
                          llvm::ArrayRef<const HostTensor *> operands);

/// The host form of constant \p c (F32: `f`; I64/Bool: `i`); errors when its
/// data is elided or does not match its type.
llvm::Expected<HostTensor> constantToHost(const Value &c);

} // namespace mpc
