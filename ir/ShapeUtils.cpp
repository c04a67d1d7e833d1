//===- ir/ShapeUtils.cpp - Shape rules shared by inference and evaluation -===//
//
// ONNX semantics throughout: Slice clamps like onnxruntime, Reshape follows
// allowzero=0, reductions accept negative axes.
//
//===----------------------------------------------------------------------===//

#include "ir/ShapeUtils.h"

#include "ir/Type.h"
#include "support/Diag.h"
#include "support/Tensor.h"

#include <algorithm>

using namespace mpc;

llvm::Expected<int64_t> mpc::normalizeAxis(int64_t axis, int64_t rank,
                                           llvm::StringRef what) {
  if (axis < -rank || axis >= rank)
    return error("{} {} out of range for rank {}", what.str(), axis, rank);
  return axis < 0 ? axis + rank : axis;
}

llvm::Expected<llvm::SmallVector<SliceAxis, 4>>
mpc::resolveSlice(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> starts,
                  llvm::ArrayRef<int64_t> ends, llvm::ArrayRef<int64_t> axes,
                  llvm::ArrayRef<int64_t> steps) {
  int64_t rank = static_cast<int64_t>(shape.size());
  if (starts.size() != ends.size())
    return error("starts has {} entries but ends has {}", starts.size(),
                 ends.size());
  if (!axes.empty() && axes.size() != starts.size())
    return error("axes has {} entries but starts has {}", axes.size(),
                 starts.size());
  if (!steps.empty() && steps.size() != starts.size())
    return error("steps has {} entries but starts has {}", steps.size(),
                 starts.size());
  llvm::SmallVector<SliceAxis, 4> res(shape.size());
  for (int64_t d = 0; d < rank; ++d)
    res[d] = {0, 1, shape[d]};
  llvm::SmallVector<bool, 4> seen(shape.size(), false);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t rawAxis = axes.empty() ? static_cast<int64_t>(i) : axes[i];
    auto axis = normalizeAxis(rawAxis, rank, "slice axis");
    if (!axis)
      return axis.takeError();
    if (seen[*axis])
      return error("slice axis {} given twice", rawAxis);
    seen[*axis] = true;
    int64_t dim = shape[*axis];
    int64_t step = steps.empty() ? 1 : steps[i];
    if (step == 0)
      return error("slice step must not be 0 (axis {})", rawAxis);
    int64_t start = starts[i], end = ends[i];
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    int64_t count;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      count = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
    }
    res[*axis] = {start, step, count};
  }
  return res;
}

llvm::Expected<llvm::SmallVector<int64_t, 4>>
mpc::resolveReshape(llvm::ArrayRef<int64_t> in,
                    llvm::ArrayRef<int64_t> target) {
  int64_t inCount = 1;
  for (int64_t d : in)
    inCount *= d;
  llvm::SmallVector<int64_t, 4> out;
  int64_t known = 1;
  int inferAt = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == -1) {
      if (inferAt >= 0)
        return error("shape {} has more than one -1", fmt::join(target, ","));
      inferAt = static_cast<int>(i);
      out.push_back(-1);
      continue;
    }
    if (d == 0) {
      if (i >= in.size())
        return error("shape {} copies dimension {} (0) but the input has "
                     "rank {}",
                     fmt::join(target, ","), i, in.size());
      d = in[i];
    } else if (d < -1) {
      return error("shape {} has a negative dimension {}",
                   fmt::join(target, ","), d);
    }
    out.push_back(d);
    known *= d;
  }
  if (inferAt >= 0) {
    if (known == 0 || inCount % known != 0)
      return error("cannot reshape {} ({} elements) to {}", shapeStr(in),
                   inCount, fmt::join(target, ","));
    out[inferAt] = inCount / known;
    known *= out[inferAt];
  }
  if (known != inCount)
    return error("cannot reshape {} ({} elements) to {} ({} elements)",
                 shapeStr(in), inCount, shapeStr(out), known);
  return out;
}

llvm::Expected<llvm::SmallVector<int64_t, 4>>
mpc::resolveReduceAxes(int64_t rank, llvm::ArrayRef<int64_t> axes) {
  llvm::SmallVector<int64_t, 4> res;
  if (axes.empty()) {
    for (int64_t d = 0; d < rank; ++d)
      res.push_back(d);
    return res;
  }
  for (int64_t a : axes) {
    auto axis = normalizeAxis(a, rank, "reduce axis");
    if (!axis)
      return axis.takeError();
    if (std::find(res.begin(), res.end(), *axis) != res.end())
      return error("reduce axis {} given twice", a);
    res.push_back(*axis);
  }
  std::sort(res.begin(), res.end());
  return res;
}

llvm::SmallVector<int64_t, 4> mpc::reducedShape(llvm::ArrayRef<int64_t> shape,
                                                llvm::ArrayRef<int64_t> axes,
                                                bool keepDims) {
  llvm::SmallVector<int64_t, 4> out;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!reduced)
      out.push_back(shape[d]);
    else if (keepDims)
      out.push_back(1);
  }
  return out;
}

llvm::Expected<llvm::SmallVector<int64_t, 4>>
mpc::matmulShape(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b) {
  if (a.empty() || b.empty())
    return error("operands must have rank >= 1, got {} and {}", shapeStr(a),
                 shapeStr(b));
  llvm::SmallVector<int64_t, 4> pa(a.begin(), a.end());
  llvm::SmallVector<int64_t, 4> pb(b.begin(), b.end());
  if (pa.size() == 1)
    pa.insert(pa.begin(), 1);
  if (pb.size() == 1)
    pb.push_back(1);
  int64_t k1 = pa.back(), k2 = pb[pb.size() - 2];
  if (k1 != k2)
    return error("inner dimensions differ: {} vs {}", shapeStr(a), shapeStr(b));
  llvm::ArrayRef<int64_t> batchA(pa.data(), pa.size() - 2);
  llvm::ArrayRef<int64_t> batchB(pb.data(), pb.size() - 2);
  llvm::SmallVector<int64_t, 4> out;
  if (!broadcastShapes(batchA, batchB, out))
    return error("batch dimensions do not broadcast: {} vs {}", shapeStr(a),
                 shapeStr(b));
  if (a.size() > 1)
    out.push_back(pa[pa.size() - 2]);
  if (b.size() > 1)
    out.push_back(pb.back());
  return out;
}

llvm::SmallVector<int64_t, 4> mpc::stridesOf(llvm::ArrayRef<int64_t> shape) {
  llvm::SmallVector<int64_t, 4> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;)
    s[i - 1] = s[i] * shape[i];
  return s;
}

/// For each element of \p outShape (row-major), the offset into a tensor
/// read with \p strides (one per output dimension) starting at \p base.
std::vector<int64_t> mpc::stridedOffsets(llvm::ArrayRef<int64_t> outShape,
                                         llvm::ArrayRef<int64_t> strides,
                                         int64_t base) {
  int64_t n = 1;
  for (int64_t d : outShape)
    n *= d;
  std::vector<int64_t> res(static_cast<size_t>(n));
  size_t rank = outShape.size();
  llvm::SmallVector<int64_t, 4> ctr(rank, 0);
  int64_t cur = base;
  for (int64_t k = 0; k < n; ++k) {
    res[k] = cur;
    for (size_t d = rank; d-- > 0;) {
      cur += strides[d];
      if (++ctr[d] < outShape[d])
        break;
      cur -= strides[d] * outShape[d];
      ctr[d] = 0;
    }
  }
  return res;
}

/// Offsets into a tensor of shape \p in broadcast (numpy) to \p out.
std::vector<int64_t> mpc::broadcastOffsets(llvm::ArrayRef<int64_t> in,
                                           llvm::ArrayRef<int64_t> out) {
  llvm::SmallVector<int64_t, 4> st(out.size(), 0);
  llvm::SmallVector<int64_t, 4> inStrides = stridesOf(in);
  size_t off = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d)
    st[d + off] = in[d] == 1 ? 0 : inStrides[d];
  return stridedOffsets(out, st);
}
