//===- frontend/OnnxImporter.cpp - ONNX models to MPC IR ------------------===//
//
// Loading (protobuf or ONNX text, exceptions caught here and nowhere else),
// checking (onnx::checker), input shape binding, the node loop that
// dispatches through OnnxOps.def, and the post-import clean-up: dead code
// removal and pattern recognition.
//
//===----------------------------------------------------------------------===//

#include "frontend/OnnxImporter.h"

#include "frontend/ConstEval.h"
#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"
#include "frontend/TensorProto.h"
#include "ir/IR.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"

#include <onnx/checker.h>
#include <onnx/defs/parser.h>

#include <exception>
#include <map>
#include <optional>
#include <set>

using namespace mpc;
using namespace mpc::onnx;

llvm::Expected<std::vector<int64_t>> mpc::parseShape(llvm::StringRef text,
                                                     llvm::StringRef what) {
  std::vector<int64_t> dims;
  llvm::SmallVector<llvm::StringRef, 4> parts;
  text.trim().split(parts, text.contains(',') ? ',' : 'x');
  for (llvm::StringRef p : parts) {
    int64_t d;
    if (p.trim().getAsInteger(10, d) || d < 0)
      return error("{}: '{}' is not a shape like 1x128", what, text);
    dims.push_back(d);
  }
  return dims;
}

llvm::Error
mpc::parseInputShapeArg(llvm::StringRef arg,
                        std::map<std::string, std::vector<int64_t>> &shapes) {
  auto kv = parseNameEqualsValue(arg, "--input-shape", "DIMS");
  if (!kv)
    return kv.takeError();
  auto dims = parseShape(kv->second, "--input-shape " + kv->first);
  if (!dims)
    return dims.takeError();
  // A 0 would make an empty input (and ONNX's Reshape reads 0 as "copy
  // this dimension", which then fails far from the flag).
  for (size_t d = 0; d < dims->size(); ++d)
    if ((*dims)[d] == 0)
      return error("--input-shape {}: dimension {} is 0; an input needs at "
                   "least one element per dimension",
                   arg.str(), d);
  if (!shapes.emplace(kv->first, std::move(*dims)).second)
    return error("--input-shape: input '{}' is bound twice", kv->first);
  return llvm::Error::success();
}

/// The opset of the default domain.
static llvm::Expected<int> defaultOpset(const pb::ModelProto &model) {
  for (const pb::OperatorSetIdProto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      return static_cast<int>(o.version());
  return error("the model imports no opset of the default ONNX domain");
}

/// Graph input \p vi's type of shape \p shape, party 1's; an error when no
/// int64 counts its elements.
static llvm::Expected<TensorType>
inputTypeOfShape(const pb::ValueInfoProto &vi, llvm::ArrayRef<int64_t> shape,
                 ElemType elem) {
  if (!checkedNumElements(shape))
    return error("graph input '{}' has shape {}: a negative dimension, or "
                 "more elements than int64 counts",
                 vi.name(), shapeStr(shape));
  return TensorType(shape, elem, Vis::Private, 1);
}

/// A named dynamic dimension ('batch', 'seq') and the --input-shape that
/// bound it.
struct NamedDim {
  int64_t size;
  std::string boundBy; ///< The input whose --input-shape gave it.
};
using NamedDims = std::map<std::string, NamedDim>;

/// The named dynamic dimensions that ImportOptions::inputShapes bind. One
/// name is one size throughout an ONNX graph, so binding input_ids=4x64
/// binds every input of shape [batch, seq]; two bindings that give one
/// name different sizes are an error naming both.
static llvm::Expected<NamedDims> namedDims(const pb::GraphProto &graph,
                                           const ImportOptions &opts) {
  NamedDims named;
  for (const pb::ValueInfoProto &vi : graph.input()) {
    auto bound = opts.inputShapes.find(vi.name());
    if (bound == opts.inputShapes.end() || !vi.type().has_tensor_type() ||
        !vi.type().tensor_type().has_shape())
      continue;
    const pb::TensorShapeProto &shape = vi.type().tensor_type().shape();
    if (shape.dim_size() != static_cast<int>(bound->second.size()))
      continue; // inputType reports the rank.
    for (int d = 0; d < shape.dim_size(); ++d) {
      const pb::TensorShapeProto::Dimension &dim = shape.dim(d);
      if (dim.has_dim_value() || dim.dim_param().empty())
        continue;
      int64_t size = bound->second[d];
      auto [it, fresh] =
          named.emplace(dim.dim_param(), NamedDim{size, vi.name()});
      if (!fresh && it->second.size != size)
        return error("--input-shape {}={} binds dimension '{}' to {}, but "
                     "--input-shape {}={} binds it to {}",
                     vi.name(), shapeStr(bound->second), dim.dim_param(), size,
                     it->second.boundBy,
                     shapeStr(opts.inputShapes.at(it->second.boundBy)),
                     it->second.size);
    }
  }
  return named;
}

/// The shape of graph input \p vi when every dynamic dimension it has is
/// named and bound by another input's --input-shape (\p named); else none.
static std::optional<std::vector<int64_t>>
shapeFromNamedDims(const pb::TypeProto::Tensor &tt, const NamedDims &named) {
  std::vector<int64_t> shape;
  for (const pb::TensorShapeProto::Dimension &dim : tt.shape().dim()) {
    if (dim.has_dim_value()) {
      shape.push_back(dim.dim_value());
      continue;
    }
    auto it = named.find(dim.dim_param());
    if (dim.dim_param().empty() || it == named.end())
      return std::nullopt;
    shape.push_back(it->second.size);
  }
  return shape;
}

/// The static type of graph input \p vi, with dynamic dimensions bound from
/// \p opts: its own --input-shape, else the sizes other inputs' bindings
/// give its named dimensions (\p named), else its sample file's shape.
static llvm::Expected<TensorType> inputType(const pb::ValueInfoProto &vi,
                                            const ImportOptions &opts,
                                            const NamedDims &named = {}) {
  if (!vi.type().has_tensor_type())
    return error("graph input '{}' is not a tensor", vi.name());
  const pb::TypeProto::Tensor &tt = vi.type().tensor_type();
  auto elem = elemFromOnnx(tt.elem_type());
  if (!elem)
    return addContext(elem.takeError(), "graph input '" + vi.name() + "': ");
  auto bound = opts.inputShapes.find(vi.name());
  auto hint = opts.shapeHints.find(vi.name());
  std::optional<std::vector<int64_t>> fromNames;
  if (bound == opts.inputShapes.end() && tt.has_shape())
    fromNames = shapeFromNamedDims(tt, named);
  const std::vector<int64_t> *binding =
      bound != opts.inputShapes.end() ? &bound->second
      : fromNames                     ? &*fromNames
      : hint != opts.shapeHints.end() ? &hint->second
                                      : nullptr;
  // A sample file's shape only fills the dimensions the model leaves
  // dynamic: a file of several batches of a static input is the caller's
  // to cut (or to refuse, in terms of its own flag).
  bool fromHint = binding && bound == opts.inputShapes.end() && !fromNames;
  if (!tt.has_shape()) {
    if (!binding)
      return error("graph input '{}' has no shape in the model; bind one with "
                   "--input-shape {}=DIMS",
                   vi.name(), vi.name());
    return inputTypeOfShape(vi, *binding, *elem);
  }
  int rank = tt.shape().dim_size();
  if (fromHint && static_cast<int>(binding->size()) != rank)
    binding = nullptr;
  if (binding && static_cast<int>(binding->size()) != rank)
    return error("--input-shape {}={} has rank {}, but the model's input has "
                 "rank {}",
                 vi.name(), shapeStr(*binding), binding->size(), rank);
  std::vector<int64_t> shape;
  for (int d = 0; d < rank; ++d) {
    const pb::TensorShapeProto::Dimension &dim = tt.shape().dim(d);
    if (dim.has_dim_value()) {
      if (binding && !fromHint && (*binding)[d] != dim.dim_value())
        return error("--input-shape {}={} disagrees with the model's static "
                     "dimension {} = {}",
                     vi.name(), shapeStr(*binding), d, dim.dim_value());
      shape.push_back(dim.dim_value());
      continue;
    }
    // Name the first dimension no other input's binding gives.
    if (!binding && named.count(dim.dim_param()))
      continue;
    if (!binding)
      return error("graph input '{}' has dynamic dimension {} ('{}'); bind it "
                   "with --input-shape {}=DIMS",
                   vi.name(), d,
                   dim.has_dim_param() ? dim.dim_param() : std::string("?"),
                   vi.name());
    shape.push_back((*binding)[d]);
  }
  return inputTypeOfShape(vi, shape, *elem);
}

/// Graph input \p vi bound by --constant to \p data: a public constant of
/// the input's type (the value's shape binds its dynamic dimensions).
static llvm::Expected<Value *> constantInput(ImportContext &ctx,
                                             const pb::ValueInfoProto &vi,
                                             const HostTensor &data,
                                             const ImportOptions &opts) {
  const pb::TypeProto::Tensor &tt = vi.type().tensor_type();
  if (tt.has_shape()) {
    bool fits = tt.shape().dim_size() == static_cast<int>(data.shape.size());
    std::string declared;
    for (int d = 0; d < tt.shape().dim_size(); ++d) {
      const pb::TensorShapeProto::Dimension &dim = tt.shape().dim(d);
      declared += (d ? "x" : "") + (dim.has_dim_value()
                                        ? std::to_string(dim.dim_value())
                                        : std::string("?"));
      fits &=
          !dim.has_dim_value() || (fits && dim.dim_value() == data.shape[d]);
    }
    if (!fits)
      return error("--constant {}: the value has shape {}, the input {}",
                   vi.name(), shapeStr(data.shape),
                   declared.empty() ? "scalar" : declared);
  }
  ImportOptions bound;
  bound.shapeHints[vi.name()] = data.shape;
  auto type = inputType(vi, bound);
  if (!type)
    return type.takeError();
  if (type->elem != elemOf(data.type))
    return error("--constant {}: the value is {}, the input {}", vi.name(),
                 hostTypeName(data.type), elemTypeStr(type->elem, 0));
  return ctx.addConstant(vi.name(), TensorType(type->shape, type->elem),
                         fromHost(data));
}

/// Imports every node of \p graph in order.
static llvm::Error importNodes(ImportContext &ctx,
                               const pb::GraphProto &graph) {
  for (const pb::NodeProto &node : graph.node()) {
    ctx.beginNode(node);
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      return ctx.fail("unsupported operator '{}' of domain '{}'",
                      node.op_type(), node.domain());
    const OnnxOpEntry *other = nullptr;
    const OnnxOpEntry *entry = findOnnxOp(node.op_type(), ctx.opset(), &other);
    if (!entry && other)
      return ctx.fail("unsupported operator '{}' at opset {} (mpcc imports "
                      "it at opsets {} to {})",
                      node.op_type(), ctx.opset(), other->minOpset,
                      other->maxOpset);
    if (!entry)
      for (const OnnxUnsupportedEntry &u : onnxUnsupportedOps())
        if (u.opType == node.op_type())
          return ctx.fail("unsupported operator '{}': {}", node.op_type(),
                          u.reason.str());
    if (!entry)
      return ctx.fail("unsupported operator '{}'", node.op_type());
    if (llvm::Error e = entry->handler(ctx))
      return e;
    for (unsigned i = 0; i < ctx.numOutputs(); ++i)
      if (ctx.hasOutput(i) && !ctx.lookup(node.output(i)))
        return ctx.fail("output {} ('{}') is not supported", i, node.output(i));
  }
  return llvm::Error::success();
}

/// Imports a parsed model; \p source names it in errors.
static llvm::Expected<std::unique_ptr<Graph>>
importModel(const pb::ModelProto &model, const ImportOptions &opts,
            llvm::StringRef source) {
  try {
    pb::checker::check_model(model);
  } catch (const std::exception &e) {
    llvm::StringRef why = llvm::StringRef(e.what()).trim();
    return error("{}: not a valid ONNX model: {}", source,
                 why.split("\n\n==> Context").first);
  }
  auto opset = defaultOpset(model);
  if (!opset)
    return addContext(opset.takeError(), (source + ": ").str());

  auto g = std::make_unique<Graph>();
  g->opset = *opset;
  ImportContext ctx(*g, *opset);
  const pb::GraphProto &graph = model.graph();

  std::set<std::string> initNames;
  for (const pb::TensorProto &t : graph.initializer()) {
    auto data = tensorFromProto(t);
    if (!data)
      return addContext(data.takeError(), (source + ": ").str());
    ctx.define(t.name(), ctx.addModelConstant(t.name(), *data));
    initNames.insert(t.name());
  }
  // A misspelt --input-shape or --constant first: the errors about unbound
  // inputs that follow from it would hide it.
  std::set<std::string> inputNames;
  for (const pb::ValueInfoProto &vi : graph.input())
    if (!initNames.count(vi.name())) // IR < 4 lists initializers as inputs.
      inputNames.insert(vi.name());
  for (const auto &[name, dims] : opts.inputShapes)
    if (!inputNames.count(name))
      return error("{}: --input-shape names '{}', which is not an input of "
                   "the model",
                   source, name);
  for (const auto &[name, value] : opts.constantInputs)
    if (!inputNames.count(name))
      return error("{}: --constant names '{}', which is not an input of the "
                   "model",
                   source, name);
  auto named = namedDims(graph, opts);
  if (!named)
    return addContext(named.takeError(), (source + ": ").str());
  for (const pb::ValueInfoProto &vi : graph.input()) {
    if (!inputNames.count(vi.name()))
      continue;
    if (auto c = opts.constantInputs.find(vi.name());
        c != opts.constantInputs.end()) {
      auto v = constantInput(ctx, vi, c->second, opts);
      if (!v)
        return addContext(v.takeError(), (source + ": ").str());
      ctx.define(vi.name(), *v);
      continue;
    }
    auto type = inputType(vi, opts, *named);
    if (!type)
      return addContext(type.takeError(), (source + ": ").str());
    ctx.define(vi.name(), g->addInput(sanitizeOnnxName(vi.name()), *type));
  }

  if (llvm::Error e = importNodes(ctx, graph))
    return e;

  // Each output keeps its ONNX name, also where its value is a graph input,
  // a constant or another output (Identity, Dropout, Cast, Split).
  std::vector<Value *> outs;
  std::vector<std::string> names;
  std::map<std::string, std::string> outputNamed; // Sanitized -> ONNX name.
  for (const pb::ValueInfoProto &vi : graph.output()) {
    Value *v = ctx.lookup(vi.name());
    if (!v)
      return error("{}: graph output '{}' is never computed", source,
                   vi.name());
    std::string name = sanitizeOnnxName(vi.name());
    auto [it, fresh] = outputNamed.emplace(name, vi.name());
    if (!fresh && it->second == vi.name())
      return error("{}: graph output '{}' is listed twice", source, vi.name());
    if (!fresh)
      return error("{}: graph outputs '{}' and '{}' would both be named "
                   "'{}' (names are sanitized for the plan); rename one",
                   source, it->second, vi.name(), name);
    if (v->definingOp())
      v->setName(name);
    outs.push_back(v);
    names.push_back(std::move(name));
  }
  g->setOutputs(outs, names);

  g->removeDeadCode();
  PatternStats stats;
  if (opts.recognisePatterns)
    stats = recognisePatterns(*g);
  if (opts.stats)
    *opts.stats = std::move(stats);
  if (llvm::Error e = verifyGraph(*g, OpStage::Semantic))
    return addContext(std::move(e),
                      (source + ": internal error: the imported graph does "
                                "not verify: ")
                          .str());
  return g;
}

llvm::Expected<std::unique_ptr<Graph>>
mpc::importOnnxBytes(llvm::StringRef bytes, const ImportOptions &opts,
                     llvm::StringRef bufferName) {
  pb::ModelProto model;
  bool ok = false;
  try {
    ok = bytes.size() <= static_cast<size_t>(INT32_MAX) &&
         model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  } catch (const std::exception &e) {
    ok = false;
  }
  if (!ok)
    return error("{}: not a valid ONNX model: the file is not a readable "
                 "ModelProto (corrupt, truncated or not ONNX)",
                 bufferName);
  return importModel(model, opts, bufferName);
}

llvm::Expected<std::unique_ptr<Graph>>
mpc::importOnnxText(llvm::StringRef text, const ImportOptions &opts,
                    llvm::StringRef bufferName) {
  // Blank out `//` comment lines (lit RUN/CHECK lines), keeping line numbers.
  std::string clean;
  llvm::SmallVector<llvm::StringRef, 64> lines;
  text.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    if (!line.ltrim().startswith("//"))
      clean += line.str();
    clean += '\n';
  }
  pb::ModelProto model;
  std::string why;
  try {
    pb::Common::Status st = pb::OnnxParser::Parse(model, clean.c_str());
    if (!st.IsOK())
      why = st.ErrorMessage();
  } catch (const std::exception &e) {
    why = e.what();
  }
  if (!why.empty())
    return error("{}: not a valid ONNX text model: {}", bufferName,
                 llvm::StringRef(why).trim());
  return importModel(model, opts, bufferName);
}

llvm::Expected<std::unique_ptr<Graph>>
mpc::importOnnxFile(llvm::StringRef path, const ImportOptions &opts) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return error("cannot read '{}': {}", path, buf.getError().message());
  llvm::StringRef bytes = (*buf)->getBuffer();
  if (path.endswith(".onnxtext"))
    return importOnnxText(bytes, opts, path);
  return importOnnxBytes(bytes, opts, path);
}
