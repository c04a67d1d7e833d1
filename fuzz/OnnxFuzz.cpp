//===- fuzz/OnnxFuzz.cpp - Fuzz target: the ONNX importer -----------------===//
//
// Bytes -> importOnnxBytes, the whole frontend (protobuf decoding, the ONNX
// checker, shape binding, every node handler with its constant folding,
// pattern recognition, dead-code removal, the IR verifier), with every
// dynamic input dimension bound to 2 as `--input-shape` would, so that
// mutated models get past shape binding. Inputs over kMaxModelBytes are
// skipped: libonnx's checker and shape inference are not ours, and the
// frontend's own work is what this target is for.
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzTarget.h"

#include "frontend/OnnxImporter.h"

#include <onnx/onnx_pb.h>

#include <set>

using namespace mpc;

static constexpr size_t kMaxModelBytes = 256 << 10;
static constexpr int64_t kBoundDim = 2;

/// --input-shape bindings for every graph input with a dynamic dimension.
static std::map<std::string, std::vector<int64_t>>
bindDynamicInputs(const uint8_t *data, size_t size) {
  std::map<std::string, std::vector<int64_t>> shapes;
  ::onnx::ModelProto model;
  if (!model.ParseFromArray(data, static_cast<int>(size)))
    return shapes;
  std::set<std::string> inits;
  for (const auto &t : model.graph().initializer())
    inits.insert(t.name());
  for (const auto &vi : model.graph().input()) {
    if (inits.count(vi.name()) || !vi.type().has_tensor_type() ||
        !vi.type().tensor_type().has_shape())
      continue;
    std::vector<int64_t> dims;
    bool dynamic = false;
    for (const auto &d : vi.type().tensor_type().shape().dim()) {
      dynamic |= !d.has_dim_value();
      dims.push_back(d.has_dim_value() ? d.dim_value() : kBoundDim);
    }
    if (dynamic)
      shapes[vi.name()] = std::move(dims);
  }
  return shapes;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > kMaxModelBytes)
    return 0;
  ImportOptions opts;
  opts.inputShapes = bindDynamicInputs(data, size);
  auto g = importOnnxBytes(fuzz::asString(data, size), opts, "fuzz.onnx");
  fuzz::accepted(g, fuzz::asString(data, size));
  return 0;
}
