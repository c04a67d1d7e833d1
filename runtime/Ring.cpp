//===- runtime/Ring.cpp - Tensors over Z_2^64 and fixed point -------------===//
//
// RingTensor itself, fixed-point encoding, and the element-wise kernels
// (plain and with numpy broadcasting). Arithmetic is on uint64_t, whose
// wrap-around is exactly the ring Z_2^64. Large element-wise loops are split
// over the ring thread pool. The matmul lives in RingMatmul.cpp and the
// data-movement ops in RingShape.cpp.
//
//===----------------------------------------------------------------------===//

#include "runtime/Ring.h"
#include "runtime/Parallel.h"

#include <cassert>
#include <cmath>
#include <limits>

using namespace mpc::rt;

int64_t mpc::rt::numElements(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string mpc::rt::shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

RingTensor::RingTensor(llvm::ArrayRef<int64_t> shape)
    : shape_(shape.begin(), shape.end()), data_(numElements(shape), 0) {}

RingTensor::RingTensor(llvm::ArrayRef<int64_t> shape, std::vector<u64> data)
    : shape_(shape.begin(), shape.end()), data_(std::move(data)) {
  assert(int64_t(data_.size()) == numElements(shape) &&
         "data does not match the shape");
}

RingTensor RingTensor::reshaped(llvm::ArrayRef<int64_t> shape) const {
  assert(numElements(shape) == size() && "reshape changes the element count");
  return RingTensor(shape, data_);
}

// --- Fixed point -----------------------------------------------------------

u64 mpc::rt::encodeFixed(double x, int frac) {
  double scaled = std::round(std::ldexp(x, frac));
  // Saturate instead of invoking undefined behaviour on out-of-range values;
  // the scale pass keeps real values far from these bounds.
  if (std::isnan(scaled))
    return 0;
  if (scaled >= 0x1p63)
    return u64(std::numeric_limits<i64>::max());
  if (scaled < -0x1p63)
    return u64(std::numeric_limits<i64>::min());
  return u64(i64(scaled));
}

double mpc::rt::decodeFixed(u64 v, int frac) {
  return std::ldexp(double(i64(v)), -frac);
}

RingTensor mpc::rt::encodeTensor(llvm::ArrayRef<double> xs,
                                 llvm::ArrayRef<int64_t> shape, int frac) {
  assert(int64_t(xs.size()) == numElements(shape));
  RingTensor t(shape);
  for (size_t i = 0; i < xs.size(); ++i)
    t[i] = encodeFixed(xs[i], frac);
  return t;
}

std::vector<double> mpc::rt::decodeTensor(const RingTensor &t, int frac) {
  std::vector<double> out(t.size());
  for (int64_t i = 0; i < t.size(); ++i)
    out[i] = decodeFixed(t[i], frac);
  return out;
}

// --- Element-wise ----------------------------------------------------------

namespace {

/// Below this many elements an element-wise loop stays on one thread.
constexpr int64_t kParallelGrain = 1 << 17;

template <typename F> void forEachChunk(int64_t n, F f) {
  parallelRange(n, kParallelGrain, [&](int64_t b, int64_t e) { f(b, e); });
}

template <typename Op>
RingTensor binary(const RingTensor &a, const RingTensor &b, Op op) {
  assert(a.shape() == b.shape() && "element-wise operands differ in shape");
  RingTensor c(a.shape());
  const u64 *pa = a.data(), *pb = b.data();
  u64 *pc = c.data();
  forEachChunk(a.size(), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      pc[i] = op(pa[i], pb[i]);
  });
  return c;
}

template <typename Op> RingTensor unary(const RingTensor &a, Op op) {
  RingTensor c(a.shape());
  const u64 *pa = a.data();
  u64 *pc = c.data();
  forEachChunk(a.size(), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      pc[i] = op(pa[i]);
  });
  return c;
}

} // namespace

RingTensor mpc::rt::add(const RingTensor &a, const RingTensor &b) {
  return binary(a, b, [](u64 x, u64 y) { return x + y; });
}

RingTensor mpc::rt::sub(const RingTensor &a, const RingTensor &b) {
  return binary(a, b, [](u64 x, u64 y) { return x - y; });
}

RingTensor mpc::rt::mul(const RingTensor &a, const RingTensor &b) {
  return binary(a, b, [](u64 x, u64 y) { return x * y; });
}

RingTensor mpc::rt::neg(const RingTensor &a) {
  return unary(a, [](u64 x) { return u64(0) - x; });
}

RingTensor mpc::rt::mulScalar(const RingTensor &a, u64 s) {
  return unary(a, [s](u64 x) { return x * s; });
}

RingTensor mpc::rt::addScalar(const RingTensor &a, u64 s) {
  return unary(a, [s](u64 x) { return x + s; });
}

void mpc::rt::addInPlace(RingTensor &a, const RingTensor &b) {
  assert(a.shape() == b.shape() && "element-wise operands differ in shape");
  u64 *pa = a.data();
  const u64 *pb = b.data();
  forEachChunk(a.size(), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      pa[i] += pb[i];
  });
}

void mpc::rt::subInPlace(RingTensor &a, const RingTensor &b) {
  assert(a.shape() == b.shape() && "element-wise operands differ in shape");
  u64 *pa = a.data();
  const u64 *pb = b.data();
  forEachChunk(a.size(), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      pa[i] -= pb[i];
  });
}

RingTensor mpc::rt::shiftRightArith(const RingTensor &a, int bits) {
  assert(bits >= 0 && bits < 64 && "shift out of range");
  return unary(a, [bits](u64 x) { return u64(i64(x) >> bits); });
}

// --- Broadcasting ------------------------------------------------------------

namespace {

/// The numpy broadcast of two shapes (asserting they are compatible).
Shape broadcastShape(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    assert((da == db || da == 1 || db == 1) && "shapes do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// Copies \p src (dims \p sdims, right-aligned to \p odims) into \p dst of
/// dims odims[d..], repeating along broadcast dims.
void broadcastCopy(const u64 *src, llvm::ArrayRef<int64_t> sdims,
                   llvm::ArrayRef<int64_t> odims, u64 *dst) {
  if (odims.empty()) {
    *dst = *src;
    return;
  }
  int64_t outer = odims[0];
  int64_t sOuter = sdims[0];
  int64_t oInner = numElements(odims.drop_front());
  int64_t sInner = numElements(sdims.drop_front());
  if (odims.size() == 1) {
    if (sOuter == 1)
      std::fill(dst, dst + outer, *src);
    else
      std::copy(src, src + outer, dst);
    return;
  }
  if (sOuter == 1) {
    broadcastCopy(src, sdims.drop_front(), odims.drop_front(), dst);
    for (int64_t i = 1; i < outer; ++i)
      std::copy(dst, dst + oInner, dst + i * oInner);
    return;
  }
  for (int64_t i = 0; i < outer; ++i)
    broadcastCopy(src + i * sInner, sdims.drop_front(), odims.drop_front(),
                  dst + i * oInner);
}

template <typename Op>
RingTensor broadcastBinary(const RingTensor &a, const RingTensor &b, Op op) {
  if (a.shape() == b.shape())
    return binary(a, b, op);
  Shape out = broadcastShape(a.shape(), b.shape());
  // A scalar operand needs no materialised copy.
  if (b.size() == 1 && a.shape() == out) {
    u64 s = b[0];
    return unary(a, [&](u64 x) { return op(x, s); });
  }
  if (a.size() == 1 && b.shape() == out) {
    u64 s = a[0];
    return unary(b, [&](u64 y) { return op(s, y); });
  }
  RingTensor ea = a.shape() == out ? a : broadcastTo(a, out);
  RingTensor eb = b.shape() == out ? b : broadcastTo(b, out);
  return binary(ea, eb, op);
}

} // namespace

RingTensor mpc::rt::broadcastTo(const RingTensor &a,
                                llvm::ArrayRef<int64_t> shape) {
  assert(a.rank() <= int64_t(shape.size()) && "broadcast to a lower rank");
  Shape sdims(shape.size() - a.rank(), 1);
  sdims.append(a.shape().begin(), a.shape().end());
  for (size_t i = 0; i < shape.size(); ++i)
    assert((sdims[i] == shape[i] || sdims[i] == 1) && "shape does not "
                                                      "broadcast");
  RingTensor out(shape);
  if (out.empty())
    return out;
  broadcastCopy(a.data(), sdims, shape, out.data());
  return out;
}

RingTensor mpc::rt::addBroadcast(const RingTensor &a, const RingTensor &b) {
  return broadcastBinary(a, b, [](u64 x, u64 y) { return x + y; });
}

RingTensor mpc::rt::subBroadcast(const RingTensor &a, const RingTensor &b) {
  return broadcastBinary(a, b, [](u64 x, u64 y) { return x - y; });
}

RingTensor mpc::rt::mulBroadcast(const RingTensor &a, const RingTensor &b) {
  return broadcastBinary(a, b, [](u64 x, u64 y) { return x * y; });
}
