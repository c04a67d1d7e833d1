//===- ir/ShapeUtils.h - Shape rules shared by inference and evaluation -*-===//
//
// The shape arithmetic of the ops whose attributes need resolving (ONNX
// Slice clamping, Reshape's -1 and 0, reduce axes, numpy matmul), written
// once so that type inference and the interpreter agree. Errors carry the
// message only; callers add the op and its location.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace mpc {

/// Maps \p axis in [-rank, rank) to [0, rank); \p what names the attribute
/// in the error ("axis 3 out of range for rank 2").
llvm::Expected<int64_t> normalizeAxis(int64_t axis, int64_t rank,
                                      llvm::StringRef what = "axis");

/// How one input axis is sliced: elements start, start+step, ... (count).
struct SliceAxis {
  int64_t start = 0;
  int64_t step = 1;
  int64_t count = 0;
};

/// Resolves ONNX Slice (negative indices, clamping, negative steps) for
/// every axis of \p shape; axes not named keep all elements. Empty \p axes
/// means 0..n-1, empty \p steps means all ones.
llvm::Expected<llvm::SmallVector<SliceAxis, 4>>
resolveSlice(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> starts,
             llvm::ArrayRef<int64_t> ends, llvm::ArrayRef<int64_t> axes,
             llvm::ArrayRef<int64_t> steps);

/// Resolves a Reshape target (at most one -1; 0 copies the input dimension
/// at the same index, ONNX allowzero=0) against \p in.
llvm::Expected<llvm::SmallVector<int64_t, 4>>
resolveReshape(llvm::ArrayRef<int64_t> in, llvm::ArrayRef<int64_t> target);

/// Normalised, sorted, duplicate-free reduction axes; empty \p axes means
/// every axis.
llvm::Expected<llvm::SmallVector<int64_t, 4>>
resolveReduceAxes(int64_t rank, llvm::ArrayRef<int64_t> axes);

/// Shape after reducing \p axes (as resolved) with or without keepdims.
llvm::SmallVector<int64_t, 4> reducedShape(llvm::ArrayRef<int64_t> shape,
                                           llvm::ArrayRef<int64_t> axes,
                                           bool keepDims);

/// numpy matmul result shape: 1-D operands are promoted and the promoted
/// axis dropped again, batch dimensions broadcast.
llvm::Expected<llvm::SmallVector<int64_t, 4>>
matmulShape(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

/// Row-major strides of \p shape.
llvm::SmallVector<int64_t, 4> stridesOf(llvm::ArrayRef<int64_t> shape);

/// For each element of \p outShape (row-major), the offset into a tensor
/// read with \p strides (one per output dimension) starting at \p base.
/// Strided views (transpose, slice, broadcast) are all this.
std::vector<int64_t> stridedOffsets(llvm::ArrayRef<int64_t> outShape,
                                    llvm::ArrayRef<int64_t> strides,
                                    int64_t base = 0);

/// For each element of \p out, the offset of the element of a tensor of
/// shape \p in that numpy broadcasting reads there.
std::vector<int64_t> broadcastOffsets(llvm::ArrayRef<int64_t> in,
                                      llvm::ArrayRef<int64_t> out);

} // namespace mpc
