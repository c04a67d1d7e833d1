//===- runtime/Ring.h - Tensors over Z_2^64 and fixed point ----*- C++ -*-===//
//
// RingTensor is a dense row-major tensor of uint64 ring elements: wrap-around
// arithmetic is the ring Z_2^64. Fixed-point reals x are encoded as
// round(x * 2^f) in two's complement. Local kernels here are the hot loops of
// the runtime: element-wise ops and the blocked, vectorised, multi-threaded
// ring matrix multiply.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mpc::rt {

using u64 = uint64_t;
using i64 = int64_t;
using Shape = llvm::SmallVector<int64_t, 4>;

int64_t numElements(llvm::ArrayRef<int64_t> shape);
std::string shapeString(llvm::ArrayRef<int64_t> shape);

class RingTensor {
public:
  RingTensor() = default;
  /// Zero-filled tensor of \p shape.
  explicit RingTensor(llvm::ArrayRef<int64_t> shape);
  RingTensor(llvm::ArrayRef<int64_t> shape, std::vector<u64> data);

  const Shape &shape() const { return shape_; }
  int64_t rank() const { return shape_.size(); }
  int64_t dim(int i) const { return shape_[i < 0 ? i + rank() : i]; }
  int64_t size() const { return static_cast<int64_t>(data_.size()); }
  bool empty() const { return data_.empty(); }

  u64 *data() { return data_.data(); }
  const u64 *data() const { return data_.data(); }
  std::vector<u64> &vec() { return data_; }
  const std::vector<u64> &vec() const { return data_; }
  u64 &operator[](int64_t i) { return data_[i]; }
  u64 operator[](int64_t i) const { return data_[i]; }

  /// Same data, new shape with the same number of elements.
  RingTensor reshaped(llvm::ArrayRef<int64_t> shape) const;

private:
  Shape shape_;
  std::vector<u64> data_;
};

// --- Fixed point ---------------------------------------------------------

/// round(x * 2^frac) as a ring element (two's complement).
u64 encodeFixed(double x, int frac);
/// The signed value of \p v divided by 2^frac.
double decodeFixed(u64 v, int frac);
RingTensor encodeTensor(llvm::ArrayRef<double> xs,
                        llvm::ArrayRef<int64_t> shape, int frac);
std::vector<double> decodeTensor(const RingTensor &t, int frac);

// --- Element-wise (same shape unless stated) -----------------------------

RingTensor add(const RingTensor &a, const RingTensor &b);
RingTensor sub(const RingTensor &a, const RingTensor &b);
RingTensor neg(const RingTensor &a);
RingTensor mul(const RingTensor &a, const RingTensor &b); ///< wrap-around
RingTensor mulScalar(const RingTensor &a, u64 s);
RingTensor addScalar(const RingTensor &a, u64 s);
void addInPlace(RingTensor &a, const RingTensor &b);
void subInPlace(RingTensor &a, const RingTensor &b);
/// Arithmetic (sign-extending) shift right by \p bits: plaintext truncation.
RingTensor shiftRightArith(const RingTensor &a, int bits);

/// Numpy broadcasting of \p a to \p shape (a's shape must broadcast).
RingTensor broadcastTo(const RingTensor &a, llvm::ArrayRef<int64_t> shape);
/// Element-wise op with numpy broadcasting on both sides.
RingTensor addBroadcast(const RingTensor &a, const RingTensor &b);
RingTensor subBroadcast(const RingTensor &a, const RingTensor &b);
RingTensor mulBroadcast(const RingTensor &a, const RingTensor &b);

// --- Matrix multiply -----------------------------------------------------

/// C = A.B over Z_2^64. A is [..., m, k]; B is [..., k, n] with the same
/// batch dims, or [k, n] shared by every batch. Blocked and vectorised,
/// split across threads (see setRingThreads).
RingTensor matmul(const RingTensor &a, const RingTensor &b);
/// Raw kernel: C[m,n] (+)= A[m,k] . B[k,n], row-major with leading dims.
void matmulRaw(const u64 *a, const u64 *b, u64 *c, int64_t m, int64_t k,
               int64_t n, bool accumulate = false);
/// Threads used by matmul and large element-wise kernels (default: cores).
void setRingThreads(int n);
int ringThreads();

// --- Data movement ---------------------------------------------------------

RingTensor transpose(const RingTensor &a, llvm::ArrayRef<int64_t> perm);
/// Slices along axes with steps (ONNX Slice semantics, bounds pre-clamped).
RingTensor slice(const RingTensor &a, llvm::ArrayRef<int64_t> starts,
                 llvm::ArrayRef<int64_t> ends, llvm::ArrayRef<int64_t> axes,
                 llvm::ArrayRef<int64_t> steps);
RingTensor concat(llvm::ArrayRef<const RingTensor *> parts, int64_t axis);
/// Gathers along \p axis with public indices (ONNX Gather).
RingTensor gather(const RingTensor &a, llvm::ArrayRef<int64_t> indices,
                  llvm::ArrayRef<int64_t> indicesShape, int64_t axis);
/// Sums over \p axes (sorted, non-negative).
RingTensor reduceSum(const RingTensor &a, llvm::ArrayRef<int64_t> axes,
                     bool keepDims);

} // namespace mpc::rt
