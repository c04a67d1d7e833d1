//===- ir/Evaluate.cpp - Evaluating one op on host tensors ----------------===//
//
// The float reference semantics of every Semantic/Any op, in double
// precision, following ONNX: numpy broadcasting, numpy matmul, ONNX Slice /
// Gather / Reshape. evaluateOp first checks the operands against the op's
// operand types and re-infers the result types (so the kernels can index
// without bounds checks), then runs one kernel per op kind.
//
//===----------------------------------------------------------------------===//

#include "ir/IR.h"
#include "ir/OpSchema.h"

#include "ir/Builder.h"
#include "ir/ShapeUtils.h"
#include "support/ModelForms.h"

#include <cblas.h>

#include <cmath>
#include <limits>
#include <numbers>

using namespace mpc;

namespace {

using Shape = llvm::SmallVector<int64_t, 4>;
using Results = std::vector<HostTensor>;

int64_t product(llvm::ArrayRef<int64_t> s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

std::vector<double> asDoubles(const HostTensor &t) {
  if (t.isFloat())
    return t.f;
  return std::vector<double>(t.i.begin(), t.i.end());
}

/// A tensor's elements as doubles: its own for a float tensor, converted
/// otherwise (weights are read in place, not copied).
class DoublesView {
public:
  explicit DoublesView(const HostTensor &t) {
    if (t.isFloat()) {
      data_ = t.f.data();
    } else {
      converted_.assign(t.i.begin(), t.i.end());
      data_ = converted_.data();
    }
  }
  const double *data() const { return data_; }

private:
  std::vector<double> converted_;
  const double *data_ = nullptr;
};

/// r[m x n] += a[m x k] b[k x n], row-major, by OpenBLAS (the interpreter
/// runs whole models, many times in --approx auto's search).
void multiplyAdd(const double *a, const double *b, double *r, int64_t m,
                 int64_t k, int64_t n) {
  if (m == 0 || n == 0 || k == 0)
    return;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n),
              blasint(k), 1.0, a, blasint(k), b, blasint(n), 1.0, r,
              blasint(n));
}

std::vector<int64_t> asInts(const HostTensor &t) {
  if (!t.isFloat())
    return t.i;
  std::vector<int64_t> r(t.f.size());
  for (size_t k = 0; k < t.f.size(); ++k)
    r[k] = static_cast<int64_t>(t.f[k]);
  return r;
}

bool isIntElem(ElemType e) { return e == ElemType::I64 || e == ElemType::Bool; }

HostType hostTypeOf(ElemType e) {
  switch (e) {
  case ElemType::F32:
  case ElemType::Fixed:
    return HostType::F32;
  case ElemType::I64:
    return HostType::I64;
  case ElemType::Bool:
    return HostType::Bool;
  }
  return HostType::F32;
}

/// Evaluates one op; `fail` builds errors at the op's location.
class Evaluator {
public:
  Evaluator(const Op &op, llvm::ArrayRef<const HostTensor *> in)
      : op_(op), in_(in) {}

  llvm::Expected<Results> run();

private:
  template <typename... Args>
  llvm::Error fail(fmt::format_string<Args...> f, Args &&...args) const {
    return diag(op_.loc(), "{}: {}", op_.name().str(),
                fmt::format(f, std::forward<Args>(args)...));
  }
  const TensorType &resultType() const { return op_.result(0)->type(); }
  llvm::ArrayRef<int64_t> outShape() const { return resultType().shape; }
  /// A result of the op's result type holding \p v (converted as needed).
  HostTensor make(std::vector<double> v) const;
  HostTensor makeInts(std::vector<int64_t> v) const;
  const HostTensor &in(unsigned k) const { return *in_[k]; }
  llvm::ArrayRef<int64_t> shape(unsigned k) const { return in_[k]->shape; }

  llvm::Expected<Results> unary(double (*fn)(double));
  llvm::Expected<Results> binary();
  llvm::Expected<Results> where();
  llvm::Expected<Results> equal();
  llvm::Expected<Results> cast();
  llvm::Expected<Results> matmul();
  llvm::Expected<Results> linear();
  llvm::Expected<Results> transpose();
  llvm::Expected<Results> slice();
  llvm::Expected<Results> concat();
  llvm::Expected<Results> gather(unsigned dataIdx, unsigned idxIdx,
                                 int64_t axis, bool embedding);
  llvm::Expected<Results> reduce();
  llvm::Expected<Results> cumSum();
  llvm::Expected<Results> layerNorm();
  llvm::Expected<Results> gelu();
  llvm::Expected<Results> softmax();
  llvm::Expected<Results> maskBias();

  const Op &op_;
  llvm::ArrayRef<const HostTensor *> in_;
};

} // namespace

HostTensor Evaluator::make(std::vector<double> v) const {
  std::vector<int64_t> shapeVec(outShape().begin(), outShape().end());
  ElemType e = resultType().elem;
  if (!isIntElem(e))
    return HostTensor::floats(std::move(shapeVec), std::move(v));
  std::vector<int64_t> iv(v.size());
  for (size_t k = 0; k < v.size(); ++k)
    iv[k] = e == ElemType::Bool ? v[k] != 0 : std::llround(v[k]);
  return HostTensor::ints(std::move(shapeVec), std::move(iv), hostTypeOf(e));
}

HostTensor Evaluator::makeInts(std::vector<int64_t> v) const {
  std::vector<int64_t> s(outShape().begin(), outShape().end());
  ElemType e = resultType().elem;
  if (!isIntElem(e))
    return HostTensor::floats(std::move(s),
                              std::vector<double>(v.begin(), v.end()));
  if (e == ElemType::Bool)
    for (int64_t &x : v)
      x = x != 0;
  return HostTensor::ints(std::move(s), std::move(v), hostTypeOf(e));
}

llvm::Expected<Results> Evaluator::unary(double (*fn)(double)) {
  std::vector<double> x = asDoubles(in(0));
  for (double &v : x)
    v = fn(v);
  return Results{make(std::move(x))};
}

llvm::Expected<Results> Evaluator::binary() {
  auto ia = broadcastOffsets(shape(0), outShape());
  auto ib = broadcastOffsets(shape(1), outShape());
  size_t n = ia.size();
  OpKind k = op_.kind();
  // Pow goes through double (its exponent may be a float).
  if (isIntElem(resultType().elem) && k != OpKind::Pow) {
    std::vector<int64_t> a = asInts(in(0)), b = asInts(in(1)), r(n);
    for (size_t j = 0; j < n; ++j) {
      int64_t x = a[ia[j]], y = b[ib[j]];
      switch (k) {
      case OpKind::Add:
        r[j] = static_cast<int64_t>(static_cast<uint64_t>(x) +
                                    static_cast<uint64_t>(y));
        break;
      case OpKind::Sub:
        r[j] = static_cast<int64_t>(static_cast<uint64_t>(x) -
                                    static_cast<uint64_t>(y));
        break;
      case OpKind::Mul:
        r[j] = static_cast<int64_t>(static_cast<uint64_t>(x) *
                                    static_cast<uint64_t>(y));
        break;
      default:
        if (y == 0)
          return fail("integer division by zero");
        r[j] = x / y;
        break;
      }
    }
    return Results{makeInts(std::move(r))};
  }
  std::vector<double> a = asDoubles(in(0)), b = asDoubles(in(1)), r(n);
  for (size_t j = 0; j < n; ++j) {
    double x = a[ia[j]], y = b[ib[j]];
    switch (k) {
    case OpKind::Add:
      r[j] = x + y;
      break;
    case OpKind::Sub:
      r[j] = x - y;
      break;
    case OpKind::Mul:
      r[j] = x * y;
      break;
    case OpKind::Div:
      r[j] = x / y;
      break;
    default:
      r[j] = std::pow(x, y);
      break;
    }
  }
  return Results{make(std::move(r))};
}

llvm::Expected<Results> Evaluator::where() {
  auto ic = broadcastOffsets(shape(0), outShape());
  auto ia = broadcastOffsets(shape(1), outShape());
  auto ib = broadcastOffsets(shape(2), outShape());
  std::vector<int64_t> c = asInts(in(0));
  if (isIntElem(resultType().elem)) {
    std::vector<int64_t> a = asInts(in(1)), b = asInts(in(2));
    std::vector<int64_t> r(ic.size());
    for (size_t j = 0; j < r.size(); ++j)
      r[j] = c[ic[j]] ? a[ia[j]] : b[ib[j]];
    return Results{makeInts(std::move(r))};
  }
  std::vector<double> a = asDoubles(in(1)), b = asDoubles(in(2));
  std::vector<double> r(ic.size());
  for (size_t j = 0; j < r.size(); ++j)
    r[j] = c[ic[j]] ? a[ia[j]] : b[ib[j]];
  return Results{make(std::move(r))};
}

llvm::Expected<Results> Evaluator::equal() {
  auto ia = broadcastOffsets(shape(0), outShape());
  auto ib = broadcastOffsets(shape(1), outShape());
  std::vector<int64_t> r(ia.size());
  if (in(0).isFloat() || in(1).isFloat()) {
    std::vector<double> a = asDoubles(in(0)), b = asDoubles(in(1));
    for (size_t j = 0; j < r.size(); ++j)
      r[j] = a[ia[j]] == b[ib[j]];
  } else {
    for (size_t j = 0; j < r.size(); ++j)
      r[j] = in(0).i[ia[j]] == in(1).i[ib[j]];
  }
  return Results{makeInts(std::move(r))};
}

llvm::Expected<Results> Evaluator::cast() {
  ElemType to = resultType().elem;
  // Integers keep all 64 bits (no detour through double).
  if (!in(0).isFloat())
    return Results{makeInts(in(0).i)};
  if (!isIntElem(to))
    return Results{make(in(0).f)};
  std::vector<int64_t> r(in(0).f.size());
  for (size_t j = 0; j < r.size(); ++j) {
    double v = in(0).f[j];
    if (to == ElemType::Bool) {
      r[j] = v != 0;
      continue;
    }
    // Float to integer truncates toward zero, as onnxruntime does.
    if (!std::isfinite(v) || std::fabs(v) >= 9.2e18)
      return fail("cannot cast {} to i64", v);
    r[j] = static_cast<int64_t>(v);
  }
  return Results{makeInts(std::move(r))};
}

llvm::Expected<Results> Evaluator::matmul() {
  Shape a(shape(0).begin(), shape(0).end());
  Shape b(shape(1).begin(), shape(1).end());
  bool aVec = a.size() == 1, bVec = b.size() == 1;
  if (aVec)
    a.insert(a.begin(), 1);
  if (bVec)
    b.push_back(1);
  int64_t m = a[a.size() - 2], kk = a.back(), n = b.back();
  llvm::ArrayRef<int64_t> batchA(a.data(), a.size() - 2);
  llvm::ArrayRef<int64_t> batchB(b.data(), b.size() - 2);
  Shape batch;
  broadcastShapes(batchA, batchB, batch);
  auto offA = broadcastOffsets(batchA, batch);
  auto offB = broadcastOffsets(batchB, batch);
  DoublesView x(in(0)), y(in(1));
  std::vector<double> r(offA.size() * m * n, 0.0);
  for (size_t bi = 0; bi < offA.size(); ++bi)
    multiplyAdd(x.data() + offA[bi] * m * kk, y.data() + offB[bi] * kk * n,
                r.data() + bi * m * n, m, kk, n);
  return Results{make(std::move(r))};
}

llvm::Expected<Results> Evaluator::linear() {
  DoublesView x(in(0)), w(in(1));
  int64_t kk = shape(1)[0], n = shape(1)[1];
  int64_t rows = product(shape(0).drop_back());
  std::vector<double> r(static_cast<size_t>(rows * n), 0.0);
  if (in_.size() > 2) {
    DoublesView b(in(2));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < n; ++j)
        r[i * n + j] = b.data()[j];
  }
  multiplyAdd(x.data(), w.data(), r.data(), rows, kk, n);
  return Results{make(std::move(r))};
}

/// Copies the elements of \p t at \p offsets into a tensor of \p shape.
static HostTensor gatherOffsets(const HostTensor &t,
                                const std::vector<int64_t> &offsets,
                                llvm::ArrayRef<int64_t> shape, HostType type) {
  std::vector<int64_t> s(shape.begin(), shape.end());
  if (t.isFloat()) {
    std::vector<double> r(offsets.size());
    for (size_t j = 0; j < r.size(); ++j)
      r[j] = t.f[offsets[j]];
    return HostTensor::floats(std::move(s), std::move(r), type);
  }
  std::vector<int64_t> r(offsets.size());
  for (size_t j = 0; j < r.size(); ++j)
    r[j] = t.i[offsets[j]];
  return HostTensor::ints(std::move(s), std::move(r), type);
}

llvm::Expected<Results> Evaluator::transpose() {
  std::vector<int64_t> perm = op_.getInts("perm");
  Shape inStrides = stridesOf(shape(0)), st;
  for (int64_t p : perm)
    st.push_back(inStrides[p]);
  return Results{gatherOffsets(in(0), stridedOffsets(outShape(), st),
                               outShape(), hostTypeOf(resultType().elem))};
}

llvm::Expected<Results> Evaluator::slice() {
  auto axes = resolveSlice(shape(0), op_.getInts("starts"), op_.getInts("ends"),
                           op_.getInts("axes"), op_.getInts("steps"));
  if (!axes)
    return axes.takeError();
  Shape inStrides = stridesOf(shape(0)), st;
  int64_t base = 0;
  for (size_t d = 0; d < axes->size(); ++d) {
    base += (*axes)[d].start * inStrides[d];
    st.push_back((*axes)[d].step * inStrides[d]);
  }
  return Results{gatherOffsets(in(0), stridedOffsets(outShape(), st, base),
                               outShape(), hostTypeOf(resultType().elem))};
}

llvm::Expected<Results> Evaluator::concat() {
  int64_t rank = static_cast<int64_t>(outShape().size());
  int64_t axis = op_.getInt("axis");
  if (axis < 0)
    axis += rank;
  int64_t outer = product(outShape().take_front(axis));
  int64_t inner = product(outShape().drop_front(axis + 1));
  std::vector<int64_t> offsets;
  std::vector<unsigned> source;
  offsets.reserve(product(outShape()));
  for (int64_t o = 0; o < outer; ++o)
    for (unsigned k = 0; k < in_.size(); ++k) {
      int64_t chunk = shape(k)[axis] * inner;
      for (int64_t j = 0; j < chunk; ++j) {
        offsets.push_back(o * chunk + j);
        source.push_back(k);
      }
    }
  if (isIntElem(resultType().elem)) {
    std::vector<int64_t> r(offsets.size());
    for (size_t j = 0; j < r.size(); ++j)
      r[j] = in(source[j]).i[offsets[j]];
    return Results{makeInts(std::move(r))};
  }
  std::vector<double> r(offsets.size());
  for (size_t j = 0; j < r.size(); ++j)
    r[j] = in(source[j]).f[offsets[j]];
  return Results{make(std::move(r))};
}

llvm::Expected<Results> Evaluator::gather(unsigned dataIdx, unsigned idxIdx,
                                          int64_t axis, bool embedding) {
  llvm::ArrayRef<int64_t> ds = shape(dataIdx);
  if (axis < 0)
    axis += static_cast<int64_t>(ds.size());
  int64_t outer = product(ds.take_front(axis));
  int64_t dim = ds[axis];
  int64_t inner = product(ds.drop_front(axis + 1));
  const std::vector<int64_t> &ids = in(idxIdx).i;
  std::vector<int64_t> offsets;
  offsets.reserve(outer * ids.size() * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t id : ids) {
      int64_t j = id;
      if (embedding ? (j < 0 || j >= dim) : (j < -dim || j >= dim))
        return fail("{} {} out of range [{}, {})", embedding ? "id" : "index",
                    id, embedding ? 0 : -dim, dim);
      if (j < 0)
        j += dim;
      for (int64_t q = 0; q < inner; ++q)
        offsets.push_back((o * dim + j) * inner + q);
    }
  return Results{gatherOffsets(in(dataIdx), offsets, outShape(),
                               hostTypeOf(resultType().elem))};
}

llvm::Expected<Results> Evaluator::reduce() {
  llvm::ArrayRef<int64_t> s = shape(0);
  auto axes =
      resolveReduceAxes(static_cast<int64_t>(s.size()), op_.getInts("axes"));
  if (!axes)
    return axes.takeError();
  // Map every input element to its output slot.
  Shape kept = reducedShape(s, *axes, /*keepDims=*/true);
  Shape st = stridesOf(kept);
  for (int64_t a : *axes)
    st[a] = 0;
  auto slot = stridedOffsets(s, st);
  int64_t outCount = product(kept);
  std::vector<double> x = asDoubles(in(0));
  OpKind k = op_.kind();
  double init =
      k == OpKind::ReduceMax ? -std::numeric_limits<double>::infinity() : 0.0;
  std::vector<double> r(static_cast<size_t>(outCount), init);
  for (size_t j = 0; j < x.size(); ++j) {
    double &acc = r[slot[j]];
    acc = k == OpKind::ReduceMax ? std::max(acc, x[j]) : acc + x[j];
  }
  if (k == OpKind::ReduceMean) {
    int64_t count = outCount ? static_cast<int64_t>(x.size()) / outCount : 0;
    for (double &v : r)
      v /= static_cast<double>(count);
  }
  return Results{make(std::move(r))};
}

llvm::Expected<Results> Evaluator::cumSum() {
  llvm::ArrayRef<int64_t> s = shape(0);
  int64_t rank = static_cast<int64_t>(s.size());
  int64_t axis = op_.getInt("axis", 0);
  if (axis < 0)
    axis += rank;
  bool exclusive = op_.getInt("exclusive", 0) != 0;
  bool reverse = op_.getInt("reverse", 0) != 0;
  std::vector<double> x = asDoubles(in(0)), r(x.size(), 0.0);
  int64_t len = s[axis], stride = stridesOf(s)[axis];
  for (int64_t base = 0; base < static_cast<int64_t>(x.size()); ++base) {
    if ((base / stride) % len != 0)
      continue; // not the first element of its line along the axis
    double acc = 0;
    for (int64_t t = 0; t < len; ++t) {
      int64_t k = base + (reverse ? len - 1 - t : t) * stride;
      if (!exclusive)
        acc += x[k];
      r[k] = acc;
      if (exclusive)
        acc += x[k];
    }
  }
  return Results{make(std::move(r))};
}

llvm::Expected<Results> Evaluator::layerNorm() {
  llvm::ArrayRef<int64_t> s = shape(0);
  int64_t rank = static_cast<int64_t>(s.size());
  int64_t axis = op_.getInt("axis", -1);
  if (axis < 0)
    axis += rank;
  double eps = op_.getFloat("eps", kLayerNormDefaultEps);
  llvm::ArrayRef<int64_t> norm = s.drop_front(axis);
  int64_t size = product(norm);
  int64_t groups = size ? product(s) / size : 0;
  auto gOff = broadcastOffsets(shape(1), norm);
  auto bOff = broadcastOffsets(shape(2), norm);
  std::vector<double> x = asDoubles(in(0)), gamma = asDoubles(in(1)),
                      beta = asDoubles(in(2));
  std::vector<double> r(x.size());
  for (int64_t gi = 0; gi < groups; ++gi) {
    const double *px = x.data() + gi * size;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < size; ++j)
      mean += px[j];
    mean /= static_cast<double>(size);
    for (int64_t j = 0; j < size; ++j)
      var += (px[j] - mean) * (px[j] - mean);
    var /= static_cast<double>(size);
    double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < size; ++j)
      r[gi * size + j] = (px[j] - mean) * inv * gamma[gOff[j]] + beta[bOff[j]];
  }
  return Results{make(std::move(r))};
}

llvm::Expected<Results> Evaluator::gelu() {
  GeluForm form = geluForm(op_);
  std::vector<double> x = asDoubles(in(0));
  const double k = std::sqrt(2.0 / std::numbers::pi);
  for (double &v : x) {
    if (form == GeluForm::Erf)
      v = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    else if (form == GeluForm::Tanh)
      v = 0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v)));
    else
      v = 0.125 * v * v + 0.25 * v + 0.5;
  }
  return Results{make(std::move(x))};
}

llvm::Expected<Results> Evaluator::softmax() {
  llvm::ArrayRef<int64_t> s = shape(0);
  int64_t axis = op_.getInt("axis", -1);
  if (axis < 0)
    axis += static_cast<int64_t>(s.size());
  int64_t outer = product(s.take_front(axis)), len = s[axis];
  int64_t inner = product(s.drop_front(axis + 1));
  bool quad = softmaxForm(op_) == SoftmaxForm::TwoQuad;
  double c = op_.getFloat("c", kTwoQuadC);
  std::vector<double> x = asDoubles(in(0));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t q = 0; q < inner; ++q) {
      double *p = x.data() + o * len * inner + q;
      double mx = -std::numeric_limits<double>::infinity(), sum = 0;
      for (int64_t j = 0; j < len; ++j)
        mx = std::max(mx, p[j * inner]);
      for (int64_t j = 0; j < len; ++j) {
        double &v = p[j * inner];
        v = quad ? (v + c) * (v + c) : std::exp(v - mx);
        sum += v;
      }
      for (int64_t j = 0; j < len; ++j)
        p[j * inner] /= sum;
    }
  return Results{make(std::move(x))};
}

llvm::Expected<Results> Evaluator::maskBias() {
  std::vector<double> m = asDoubles(in(0));
  double value = op_.getFloat("value");
  for (double &v : m)
    v = (1.0 - v) * value;
  return Results{make(std::move(m))};
}

static double relu(double v) { return v > 0 ? v : 0.0; }
static double neg(double v) { return -v; }

llvm::Expected<Results> Evaluator::run() {
  switch (op_.kind()) {
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Pow:
    return binary();
  case OpKind::Neg:
    if (isIntElem(resultType().elem)) {
      std::vector<int64_t> r = asInts(in(0));
      for (int64_t &v : r)
        v = static_cast<int64_t>(0 - static_cast<uint64_t>(v));
      return Results{makeInts(std::move(r))};
    }
    return unary(neg);
  case OpKind::Relu:
    if (isIntElem(resultType().elem)) {
      std::vector<int64_t> r = asInts(in(0));
      for (int64_t &v : r)
        v = std::max<int64_t>(v, 0);
      return Results{makeInts(std::move(r))};
    }
    return unary(relu);
  case OpKind::Sqrt:
    return unary([](double v) { return std::sqrt(v); });
  case OpKind::Erf:
    return unary([](double v) { return std::erf(v); });
  case OpKind::Tanh:
    return unary([](double v) { return std::tanh(v); });
  case OpKind::Exp:
    return unary([](double v) { return std::exp(v); });
  case OpKind::Where:
    return where();
  case OpKind::Equal:
    return equal();
  case OpKind::Cast:
    return cast();
  case OpKind::CumSum:
    return cumSum();
  case OpKind::MatMul:
    return matmul();
  case OpKind::Linear:
    return linear();
  case OpKind::Reshape: {
    HostTensor r = in(0);
    r.type = hostTypeOf(resultType().elem);
    r.shape.assign(outShape().begin(), outShape().end());
    return Results{std::move(r)};
  }
  case OpKind::Transpose:
    return transpose();
  case OpKind::Slice:
    return slice();
  case OpKind::Concat:
    return concat();
  case OpKind::Gather:
    return gather(0, 1, op_.getInt("axis", 0), /*embedding=*/false);
  case OpKind::ReduceSum:
  case OpKind::ReduceMean:
  case OpKind::ReduceMax:
    return reduce();
  case OpKind::Embedding:
    return gather(0, 1, 0, /*embedding=*/true);
  case OpKind::LayerNorm:
    return layerNorm();
  case OpKind::Gelu:
    return gelu();
  case OpKind::Softmax:
    return softmax();
  case OpKind::MaskBias:
    return maskBias();
    // Every protocol op (Ops.def's Lowered stage), from the table: a new
    // one needs nothing here.
#define MPC_LOWERED_CASE_Lowered(Enum) case OpKind::Enum:
#define MPC_LOWERED_CASE_Semantic(Enum)
#define MPC_LOWERED_CASE_Any(Enum)
#define MPC_OP(Enum, Text, Stage, ...) MPC_LOWERED_CASE_##Stage(Enum)
#include "ir/Ops.def"
#undef MPC_LOWERED_CASE_Lowered
#undef MPC_LOWERED_CASE_Semantic
#undef MPC_LOWERED_CASE_Any
    return fail("a protocol op has no float semantics; run the plan with "
                "`mpcc simulate` or `mpc-run`");
  }
  return fail("no reference semantics for this op");
}

llvm::Error mpc::checkOperands(const Op &op,
                               llvm::ArrayRef<const HostTensor *> operands) {
  auto fail = [&](const std::string &msg) {
    return diag(op.loc(), "{}: {}", op.name().str(), msg);
  };
  if (operands.size() != op.numOperands())
    return fail(fmt::format("given {} operand tensors, the op has {} "
                            "operands",
                            operands.size(), op.numOperands()));
  for (unsigned k = 0; k < op.numOperands(); ++k) {
    const HostTensor *t = operands[k];
    const TensorType &ty = op.operand(k)->type();
    if (!t)
      return fail(fmt::format("operand {} has no value", k));
    if (llvm::ArrayRef<int64_t>(t->shape) != llvm::ArrayRef<int64_t>(ty.shape))
      return fail(fmt::format("operand {} is {} but its type is {}", k,
                              shapeStr(t->shape), ty.str()));
    size_t have = t->isFloat() ? t->f.size() : t->i.size();
    if (static_cast<int64_t>(have) != t->numElements())
      return fail(fmt::format("operand {} has {} values for shape {}", k, have,
                              shapeStr(t->shape)));
    if (t->isFloat() == isIntElem(ty.elem))
      return fail(fmt::format("operand {} holds {} data but its type is {}", k,
                              hostTypeName(t->type).str(), ty.str()));
  }
  // Re-infer: the kernels rely on the result types matching the operands.
  llvm::SmallVector<const Value *, 4> ops(op.operands().begin(),
                                          op.operands().end());
  auto types = inferResultTypes(op.kind(), ops, op.attrs());
  if (!types)
    return diag(op.loc(), "{}", llvm::toString(types.takeError()));
  if (types->size() != op.numResults())
    return fail("wrong number of results");
  for (unsigned k = 0; k < op.numResults(); ++k)
    if ((*types)[k].shape != op.result(k)->type().shape ||
        isIntElem((*types)[k].elem) != isIntElem(op.result(k)->type().elem))
      return fail(fmt::format("result {} has type {} but its operands give "
                              "{}",
                              k, op.result(k)->type().str(),
                              (*types)[k].str()));
  return llvm::Error::success();
}

llvm::Expected<std::vector<HostTensor>>
mpc::evaluateOp(const Op &op, llvm::ArrayRef<const HostTensor *> operands) {
  if (llvm::Error e = checkOperands(op, operands))
    return e;
  return Evaluator(op, operands).run();
}
