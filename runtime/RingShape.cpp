//===- runtime/RingShape.cpp - Data movement on ring tensors --------------===//
//
// Transpose, Slice, Concat, Gather and ReduceSum with ONNX semantics. All
// indices are public (they come from the plan). Each kernel walks the output
// (or input) with an odometer over the outer dimensions and a tight loop over
// the innermost one, reading through per-dimension strides.
//
//===----------------------------------------------------------------------===//

#include "runtime/Ring.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <numeric>

using namespace mpc::rt;

namespace {

/// Row-major element strides of \p shape.
Shape stridesOf(llvm::ArrayRef<int64_t> shape) {
  Shape s(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

int64_t normAxis(int64_t axis, int64_t rank) {
  if (axis < 0)
    axis += rank;
  assert(axis >= 0 && axis < std::max<int64_t>(rank, 1) && "axis out of range");
  return axis;
}

/// Writes out[i] = in[base + sum_d idx_d * inStride[d]] for every index of
/// \p dims in row-major order: the common loop of transpose and slice.
void stridedGather(const u64 *in, int64_t base, llvm::ArrayRef<int64_t> dims,
                   llvm::ArrayRef<int64_t> inStride, u64 *out) {
  int64_t r = dims.size();
  if (r == 0) {
    out[0] = in[base];
    return;
  }
  if (numElements(dims) == 0)
    return;
  int64_t inner = dims[r - 1], innerStride = inStride[r - 1];
  Shape idx(r, 0);
  int64_t off = base;
  for (;;) {
    if (innerStride == 1) {
      std::memcpy(out, in + off, inner * sizeof(u64));
    } else {
      for (int64_t j = 0; j < inner; ++j)
        out[j] = in[off + j * innerStride];
    }
    out += inner;
    // Advance the odometer over dims [0, r-1).
    int64_t d = r - 2;
    for (; d >= 0; --d) {
      off += inStride[d];
      if (++idx[d] < dims[d])
        break;
      off -= idx[d] * inStride[d];
      idx[d] = 0;
    }
    if (d < 0)
      return;
  }
}

} // namespace

RingTensor mpc::rt::transpose(const RingTensor &a,
                              llvm::ArrayRef<int64_t> perm) {
  int64_t r = a.rank();
  Shape p(perm.begin(), perm.end());
  if (p.empty()) {
    p.resize(r);
    std::iota(p.rbegin(), p.rend(), 0); // ONNX default: reverse the dims.
  }
  assert(int64_t(p.size()) == r && "permutation has the wrong length");
  Shape inStrides = stridesOf(a.shape());
  Shape outShape(r), strides(r);
  for (int64_t i = 0; i < r; ++i) {
    outShape[i] = a.shape()[p[i]];
    strides[i] = inStrides[p[i]];
  }
  RingTensor out(outShape);
  stridedGather(a.data(), 0, outShape, strides, out.data());
  return out;
}

RingTensor mpc::rt::slice(const RingTensor &a, llvm::ArrayRef<int64_t> starts,
                          llvm::ArrayRef<int64_t> ends,
                          llvm::ArrayRef<int64_t> axes,
                          llvm::ArrayRef<int64_t> steps) {
  int64_t r = a.rank();
  assert(starts.size() == ends.size() && "slice starts/ends differ in length");
  Shape inStrides = stridesOf(a.shape());
  Shape outShape(a.shape().begin(), a.shape().end());
  Shape strides = inStrides;
  int64_t base = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t axis = axes.empty() ? int64_t(i) : normAxis(axes[i], r);
    int64_t step = steps.empty() ? 1 : steps[i];
    assert(step != 0 && "slice step is zero");
    int64_t start = starts[i], end = ends[i];
    int64_t count = step > 0 ? (end - start + step - 1) / step
                             : (start - end + (-step) - 1) / (-step);
    count = std::max<int64_t>(0, count);
    outShape[axis] = count;
    strides[axis] = inStrides[axis] * step;
    if (count > 0)
      base += start * inStrides[axis];
  }
  RingTensor out(outShape);
  stridedGather(a.data(), base, outShape, strides, out.data());
  return out;
}

RingTensor mpc::rt::concat(llvm::ArrayRef<const RingTensor *> parts,
                           int64_t axis) {
  assert(!parts.empty() && "concat of nothing");
  int64_t r = parts[0]->rank();
  axis = normAxis(axis, r);
  Shape outShape(parts[0]->shape().begin(), parts[0]->shape().end());
  outShape[axis] = 0;
  for (const RingTensor *t : parts) {
    assert(t->rank() == r && "concat operands differ in rank");
    outShape[axis] += t->dim(axis);
  }
  int64_t outer =
      numElements(llvm::ArrayRef<int64_t>(outShape).take_front(axis));
  int64_t inner =
      numElements(llvm::ArrayRef<int64_t>(outShape).drop_front(axis + 1));
  RingTensor out(outShape);
  u64 *dst = out.data();
  for (int64_t o = 0; o < outer; ++o)
    for (const RingTensor *t : parts) {
      int64_t block = t->dim(axis) * inner;
      std::memcpy(dst, t->data() + o * block, block * sizeof(u64));
      dst += block;
    }
  return out;
}

RingTensor mpc::rt::gather(const RingTensor &a, llvm::ArrayRef<int64_t> indices,
                           llvm::ArrayRef<int64_t> indicesShape, int64_t axis) {
  int64_t r = a.rank();
  axis = normAxis(axis, r);
  assert(int64_t(indices.size()) == numElements(indicesShape) &&
         "indices do not match their shape");
  Shape outShape(a.shape().begin(), a.shape().begin() + axis);
  outShape.append(indicesShape.begin(), indicesShape.end());
  outShape.append(a.shape().begin() + axis + 1, a.shape().end());
  int64_t outer =
      numElements(llvm::ArrayRef<int64_t>(a.shape()).take_front(axis));
  int64_t inner =
      numElements(llvm::ArrayRef<int64_t>(a.shape()).drop_front(axis + 1));
  int64_t dim = a.dim(axis);
  RingTensor out(outShape);
  u64 *dst = out.data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t idx : indices) {
      if (idx < 0)
        idx += dim; // ONNX: negative indices count from the end.
      assert(idx >= 0 && idx < dim && "gather index out of range");
      std::memcpy(dst, a.data() + (o * dim + idx) * inner, inner * sizeof(u64));
      dst += inner;
    }
  return out;
}

RingTensor mpc::rt::reduceSum(const RingTensor &a, llvm::ArrayRef<int64_t> axes,
                              bool keepDims) {
  int64_t r = a.rank();
  assert(std::is_sorted(axes.begin(), axes.end()) && "axes must be sorted");
  // The kept shape (reduced dims set to 1) addresses the output.
  Shape kept(a.shape().begin(), a.shape().end());
  for (int64_t ax : axes) {
    assert(ax >= 0 && ax < r && "reduce axis out of range");
    kept[ax] = 1;
  }
  Shape outStrides = stridesOf(kept);
  for (int64_t ax : axes)
    outStrides[ax] = 0;
  Shape outShape;
  for (int64_t i = 0; i < r; ++i)
    if (keepDims || !std::binary_search(axes.begin(), axes.end(), i))
      outShape.push_back(kept[i]);
  RingTensor out(outShape);
  if (a.empty())
    return out;
  if (r == 0) {
    out[0] = a[0];
    return out;
  }
  // Walk the input in order; the innermost loop either sums a contiguous
  // row into one output element or adds it to a contiguous output row.
  int64_t inner = a.dim(r - 1), innerOut = outStrides[r - 1];
  const u64 *src = a.data();
  u64 *dst = out.data();
  Shape idx(r, 0);
  int64_t off = 0;
  for (;;) {
    if (innerOut == 0) {
      u64 s = 0;
      for (int64_t j = 0; j < inner; ++j)
        s += src[j];
      dst[off] += s;
    } else {
      for (int64_t j = 0; j < inner; ++j)
        dst[off + j] += src[j];
    }
    src += inner;
    int64_t d = r - 2;
    for (; d >= 0; --d) {
      off += outStrides[d];
      if (++idx[d] < a.dim(d))
        break;
      off -= idx[d] * outStrides[d];
      idx[d] = 0;
    }
    if (d < 0)
      return out;
  }
}
