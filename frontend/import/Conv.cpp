//===- frontend/import/Conv.cpp - Convolution as a private-weight product -===//
//
// A convolution is a linear layer with the model's weights: mpcc imports it
// as data movement (local, free under 2PC) followed by the `linear` the
// private-weight product lowers, so no new protocol is involved.
//
//  - kernel = stride, no padding, one group (ViT's patch embedding, 1x1
//    convolutions): the image is cut into patches exactly by a reshape and
//    a transpose, each patch is a row, the weight [O, C*kh*kw] a matrix;
//  - anything else (stride < kernel, padding, dilation): im2col, with one
//    strided slice of the zero-padded input per kernel offset; groups take
//    their channels' columns each, and a depthwise convolution (one input
//    channel per group) is an elementwise product with the weight summed
//    over the kernel offsets (the same private-weight product, elementwise).
//
// BatchNormalization after a Conv folds into the Conv's weight and bias at
// compile time (the first Conv import is left dead); elsewhere it is a
// per-channel product and sum with the model's values.
//
// 1-D convolutions are 2-D ones of height 1. The weights are normally
// constants of the model file (party 0's); a computed weight makes the
// product a `matmul` (or `mul`) of two tensors instead. The bias is added
// after the product.
//
//===----------------------------------------------------------------------===//

#include "frontend/ConstEval.h"
#include "frontend/ImportContext.h"
#include "frontend/OnnxOps.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mpc;
using namespace mpc::onnx;

namespace {

using Ints = std::vector<int64_t>;

/// The geometry of one 2-D convolution, every field resolved.
struct ConvGeometry {
  int64_t n, c, h, w;   // input
  int64_t o, cPerGroup; // weight [o, cPerGroup, kh, kw]
  int64_t kh, kw, sh, sw, dh, dw;
  int64_t padTop, padLeft, padBottom, padRight;
  int64_t group;
  int64_t oh, ow; // output
};

class ConvImporter {
public:
  explicit ConvImporter(ImportContext &ctx) : ctx_(ctx) {}
  /// Imports the current Conv node; \p w and \p b (when given) replace its
  /// weight and bias (a folded BatchNormalization's).
  llvm::Expected<Value *> run(Value *w = nullptr, Value *b = nullptr);
  /// As run(), for a pooling node: \p w [C, 1, k...] in groups of one
  /// channel.
  llvm::Expected<Value *> runDepthwise(Value *x, Value *w) {
    pooling_ = true;
    x_ = x;
    return run(w);
  }
  const ConvGeometry &geometry() const { return g_; }

private:
  llvm::Expected<Value *> reshape(Value *v, Ints shape,
                                  llvm::StringRef hint = "") {
    if (llvm::ArrayRef<int64_t>(v->type().shape) == llvm::ArrayRef(shape))
      return v;
    return ctx_.emit(OpKind::Reshape, {v}, {{"shape", std::move(shape)}}, hint);
  }
  llvm::Expected<Value *> transpose(Value *v, Ints perm,
                                    llvm::StringRef hint = "") {
    return ctx_.emit(OpKind::Transpose, {v}, {{"perm", std::move(perm)}}, hint);
  }
  llvm::Expected<Value *> slice(Value *v, Ints starts, Ints ends, Ints axes,
                                Ints steps) {
    return ctx_.emit(OpKind::Slice, {v},
                     {{"starts", std::move(starts)},
                      {"ends", std::move(ends)},
                      {"axes", std::move(axes)},
                      {"steps", std::move(steps)}});
  }
  llvm::Error resolveGeometry(const TensorType &x, const TensorType &w);
  llvm::Expected<Value *> pad(Value *x);
  llvm::Expected<Value *> patches(Value *x);
  llvm::Expected<Value *> im2col(Value *x);
  /// [n, p, k] rows times the weight rows of output channels [o0, o1),
  /// columns [k0, k1) of the flattened [o, cPerGroup*kh*kw] weight.
  llvm::Expected<Value *> linear(Value *rows, Value *w2d, int64_t o0,
                                 int64_t o1);

  ImportContext &ctx_;
  ConvGeometry g_{};
  bool pooling_ = false; ///< group = channels; no bias input.
  Value *x_ = nullptr;
};

} // namespace

llvm::Error ConvImporter::resolveGeometry(const TensorType &x,
                                          const TensorType &w) {
  int64_t spatial = x.rank() - 2;
  auto ints = [&](llvm::StringRef name, int64_t def) {
    Ints v = ctx_.attrInts(name).value_or(Ints{});
    if (v.empty())
      v.assign(spatial, def);
    return v;
  };
  Ints kernel = ctx_.attrInts("kernel_shape").value_or(Ints{});
  if (kernel.empty())
    kernel.assign(w.shape.begin() + 2, w.shape.end());
  Ints strides = ints("strides", 1), dilations = ints("dilations", 1);
  Ints pads = ctx_.attrInts("pads").value_or(Ints{});
  if (pads.empty())
    pads.assign(2 * spatial, 0);
  if (int64_t(kernel.size()) != spatial || int64_t(strides.size()) != spatial ||
      int64_t(dilations.size()) != spatial ||
      int64_t(pads.size()) != 2 * spatial)
    return ctx_.fail("kernel_shape, strides, dilations and pads must have {} "
                     "entries ({} for pads) for a {}-D input",
                     spatial, 2 * spatial, x.rank());
  for (int64_t d = 0; d < spatial; ++d) {
    if (kernel[d] != w.shape[2 + d])
      return ctx_.fail("kernel_shape {} does not match the weight {}",
                       shapeStr(kernel), w.str());
    if (strides[d] < 1 || dilations[d] < 1 || pads[d] < 0 ||
        pads[spatial + d] < 0)
      return ctx_.fail("strides and dilations must be positive and pads "
                       "non-negative (strides {}, dilations {}, pads {})",
                       shapeStr(strides), shapeStr(dilations), shapeStr(pads));
  }
  std::string autoPad = ctx_.attrString("auto_pad", "NOTSET");
  Ints in(x.shape.begin() + 2, x.shape.end());
  for (int64_t d = 0; d < spatial; ++d) {
    int64_t extent = (kernel[d] - 1) * dilations[d] + 1;
    if (autoPad == "VALID") {
      pads[d] = pads[spatial + d] = 0;
    } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t out = (in[d] + strides[d] - 1) / strides[d];
      int64_t total =
          std::max<int64_t>(0, (out - 1) * strides[d] + extent - in[d]);
      int64_t small = total / 2, large = total - small;
      pads[d] = autoPad == "SAME_UPPER" ? small : large;
      pads[spatial + d] = autoPad == "SAME_UPPER" ? large : small;
    } else if (autoPad != "NOTSET") {
      return ctx_.fail("unsupported auto_pad '{}'", autoPad);
    }
  }
  // A 1-D convolution is a 2-D one of height 1.
  auto at = [&](const Ints &v, int64_t d, int64_t def) {
    return spatial == 1 ? (d == 0 ? def : v[0]) : v[d];
  };
  g_.n = x.shape[0];
  g_.c = x.shape[1];
  g_.h = spatial == 1 ? 1 : x.shape[2];
  g_.w = x.shape.back();
  g_.o = w.shape[0];
  g_.cPerGroup = w.shape[1];
  g_.kh = at(kernel, 0, 1);
  g_.kw = at(kernel, 1, 1);
  g_.sh = at(strides, 0, 1);
  g_.sw = at(strides, 1, 1);
  g_.dh = at(dilations, 0, 1);
  g_.dw = at(dilations, 1, 1);
  Ints begin(pads.begin(), pads.begin() + spatial);
  Ints end(pads.begin() + spatial, pads.end());
  g_.padTop = at(begin, 0, 0);
  g_.padLeft = at(begin, 1, 0);
  g_.padBottom = at(end, 0, 0);
  g_.padRight = at(end, 1, 0);
  g_.group = pooling_ ? g_.c : ctx_.attrInt("group", 1);
  if (g_.group < 1 || g_.c % g_.group != 0 || g_.o % g_.group != 0 ||
      g_.c / g_.group != g_.cPerGroup)
    return ctx_.fail("group {} does not divide the {} input channels and {} "
                     "output channels into the weight's {} per group",
                     g_.group, g_.c, g_.o, g_.cPerGroup);
  int64_t ph = g_.h + g_.padTop + g_.padBottom;
  int64_t pw = g_.w + g_.padLeft + g_.padRight;
  int64_t eh = (g_.kh - 1) * g_.dh + 1, ew = (g_.kw - 1) * g_.dw + 1;
  if (ph < eh || pw < ew)
    return ctx_.fail("the kernel {} is larger than the padded input {}",
                     shapeStr(kernel), x.str());
  g_.oh = (ph - eh) / g_.sh + 1;
  g_.ow = (pw - ew) / g_.sw + 1;
  return llvm::Error::success();
}

llvm::Expected<Value *> ConvImporter::pad(Value *x) {
  // Zero padding is a concatenation with public zeros: local.
  auto side = [&](Value *v, int64_t axis, int64_t before,
                  int64_t after) -> llvm::Expected<Value *> {
    if (before == 0 && after == 0)
      return v;
    llvm::SmallVector<Value *, 3> parts;
    for (int64_t count : {before, int64_t(-1), after}) {
      if (count == -1) {
        parts.push_back(v);
        continue;
      }
      if (count == 0)
        continue;
      Ints shape(v->type().shape.begin(), v->type().shape.end());
      shape[axis] = count;
      int64_t n = 1;
      for (int64_t d : shape)
        n *= d;
      parts.push_back(
          ctx_.constF32(shape, std::vector<double>(n, 0.0), "conv_pad"));
    }
    return ctx_.emit(OpKind::Concat, parts, {{"axis", axis}});
  };
  auto h = side(x, 2, g_.padTop, g_.padBottom);
  if (!h)
    return h.takeError();
  return side(*h, 3, g_.padLeft, g_.padRight);
}

llvm::Expected<Value *> ConvImporter::patches(Value *x) {
  // [n, c, oh*kh, ow*kw] -> [n, oh*ow, c*kh*kw], a patch per row in the
  // weight's (c, kh, kw) order. Rows and columns past the last whole patch
  // are not read (ONNX drops them too).
  if (g_.h != g_.oh * g_.kh || g_.w != g_.ow * g_.kw) {
    auto s = slice(x, {0, 0}, {g_.oh * g_.kh, g_.ow * g_.kw}, {2, 3}, {1, 1});
    if (!s)
      return s.takeError();
    x = *s;
  }
  auto r = reshape(x, {g_.n, g_.c, g_.oh, g_.kh, g_.ow, g_.kw});
  if (!r)
    return r.takeError();
  auto t = transpose(*r, {0, 2, 4, 1, 3, 5});
  if (!t)
    return t.takeError();
  return reshape(*t, {g_.n, g_.oh * g_.ow, g_.c * g_.kh * g_.kw});
}

llvm::Expected<Value *> ConvImporter::im2col(Value *x) {
  // [n, c, h', w'] (padded) -> [n, c, kh*kw, oh*ow]: for each kernel offset
  // the strided slice of the input its weight multiplies.
  auto padded = pad(x);
  if (!padded)
    return padded.takeError();
  llvm::SmallVector<Value *, 16> cols;
  for (int64_t i = 0; i < g_.kh; ++i)
    for (int64_t j = 0; j < g_.kw; ++j) {
      int64_t r0 = i * g_.dh, c0 = j * g_.dw;
      auto s =
          slice(*padded, {r0, c0},
                {r0 + (g_.oh - 1) * g_.sh + 1, c0 + (g_.ow - 1) * g_.sw + 1},
                {2, 3}, {g_.sh, g_.sw});
      if (!s)
        return s.takeError();
      auto r = reshape(*s, {g_.n, g_.c, 1, g_.oh * g_.ow});
      if (!r)
        return r.takeError();
      cols.push_back(*r);
    }
  if (cols.size() == 1)
    return cols[0];
  return ctx_.emit(OpKind::Concat, cols, {{"axis", int64_t(2)}});
}

llvm::Expected<Value *> ConvImporter::linear(Value *rows, Value *w2d,
                                             int64_t o0, int64_t o1) {
  Value *w = w2d;
  if (o0 != 0 || o1 != g_.o) {
    auto s = slice(w, {o0}, {o1}, {0}, {1});
    if (!s)
      return s.takeError();
    w = *s;
  }
  auto wt = transpose(w, {1, 0}, w2d->name() + ".T");
  if (!wt)
    return wt.takeError();
  // A weight computed in the graph (not a model constant) is a product of
  // two tensors, which `matmul` lowers as such.
  return ctx_.emit((*wt)->isConstant() ? OpKind::Linear : OpKind::MatMul,
                   {rows, *wt});
}

llvm::Expected<Value *> ConvImporter::run(Value *wOverride, Value *bOverride) {
  llvm::Expected<Value *> xv = x_ ? x_ : ctx_.input(0);
  if (!xv)
    return xv.takeError();
  llvm::Expected<Value *> wv = wOverride ? wOverride : ctx_.input(1);
  if (!wv)
    return wv.takeError();
  Value *x = *xv, *w = *wv;
  const TensorType &xt = x->type();
  const TensorType &wt = w->type();
  if (xt.elem != ElemType::F32 || wt.elem != ElemType::F32)
    return ctx_.fail("expects float input and weight, got {} and {}", xt.str(),
                     wt.str());
  if (xt.rank() != 3 && xt.rank() != 4)
    return ctx_.fail("only 1-D and 2-D convolutions are supported (input {})",
                     xt.str());
  if (wt.rank() != xt.rank())
    return ctx_.fail("the weight {} must have the input's rank {}", wt.str(),
                     xt.rank());
  if (llvm::Error e = resolveGeometry(xt, wt))
    return e;
  bool oneD = xt.rank() == 3;
  if (oneD) {
    auto r = reshape(x, {g_.n, g_.c, 1, g_.w});
    if (!r)
      return r.takeError();
    x = *r;
  }
  int64_t kk = g_.kh * g_.kw;
  auto w2d = reshape(w, {g_.o, g_.cPerGroup * kk}, w->name() + ".2d");
  if (!w2d)
    return w2d.takeError();

  // y: [n, o, oh*ow]
  Value *y;
  bool patchwise = !pooling_ && g_.group == 1 && g_.sh == g_.kh &&
                   g_.sw == g_.kw && g_.padTop == 0 && g_.padLeft == 0 &&
                   g_.padBottom == 0 && g_.padRight == 0 &&
                   (g_.kh == 1 || g_.dh == 1) && (g_.kw == 1 || g_.dw == 1);
  if (patchwise) {
    auto rows = patches(x);
    if (!rows)
      return rows.takeError();
    auto p = linear(*rows, *w2d, 0, g_.o);
    if (!p)
      return p.takeError();
    auto t = transpose(*p, {0, 2, 1});
    if (!t)
      return t.takeError();
    y = *t;
  } else {
    auto cols = im2col(x);
    if (!cols)
      return cols.takeError();
    int64_t p = g_.oh * g_.ow;
    if ((g_.group > 1 || pooling_) && g_.cPerGroup == 1) {
      // Depthwise: output channel oc reads input channel oc / m only, so
      // the product is elementwise: [n, c, 1, kk, p] * [c, m, kk, 1],
      // summed over the kernel offsets.
      int64_t m = g_.o / g_.c;
      auto c5 = reshape(*cols, {g_.n, g_.c, 1, kk, p});
      if (!c5)
        return c5.takeError();
      auto w4 = reshape(w, {g_.c, m, kk, 1}, w->name() + ".dw");
      if (!w4)
        return w4.takeError();
      auto prod = ctx_.emit(OpKind::Mul, {*c5, *w4});
      if (!prod)
        return prod.takeError();
      auto sum = ctx_.emit(OpKind::ReduceSum, {*prod},
                           {{"axes", Ints{3}}, {"keepdims", int64_t(0)}});
      if (!sum)
        return sum.takeError();
      auto r = reshape(*sum, {g_.n, g_.o, p});
      if (!r)
        return r.takeError();
      y = *r;
    } else {
      // Rows [n, p, cPerGroup*kk] per group, in the weight's (c, kh, kw)
      // order; each group's product with its output channels' weights.
      auto t = transpose(*cols, {0, 3, 1, 2});
      if (!t)
        return t.takeError();
      int64_t oPerGroup = g_.o / g_.group;
      llvm::SmallVector<Value *, 4> outs;
      for (int64_t grp = 0; grp < g_.group; ++grp) {
        Value *part = *t;
        if (g_.group > 1) {
          auto s = slice(*t, {grp * g_.cPerGroup}, {(grp + 1) * g_.cPerGroup},
                         {2}, {1});
          if (!s)
            return s.takeError();
          part = *s;
        }
        auto rows = reshape(part, {g_.n, p, g_.cPerGroup * kk});
        if (!rows)
          return rows.takeError();
        auto prod = linear(*rows, *w2d, grp * oPerGroup, (grp + 1) * oPerGroup);
        if (!prod)
          return prod.takeError();
        outs.push_back(*prod);
      }
      Value *all = outs[0];
      if (outs.size() > 1) {
        auto c = ctx_.emit(OpKind::Concat, outs, {{"axis", int64_t(2)}});
        if (!c)
          return c.takeError();
        all = *c;
      }
      auto tr = transpose(all, {0, 2, 1});
      if (!tr)
        return tr.takeError();
      y = *tr;
    }
  }

  if (bOverride || (!pooling_ && ctx_.hasInput(2))) {
    auto b = bOverride ? bOverride : ctx_.input(2);
    if (!b)
      return b.takeError();
    if ((*b)->type().numElements() != g_.o)
      return ctx_.fail("the bias {} must have one entry per output channel "
                       "({})",
                       (*b)->type().str(), g_.o);
    auto col = reshape(*b, {g_.o, 1}, (*b)->name());
    if (!col)
      return col.takeError();
    auto sum = ctx_.emit(OpKind::Add, {y, *col});
    if (!sum)
      return sum.takeError();
    y = *sum;
  }
  Ints outShape{g_.n, g_.o, g_.oh, g_.ow};
  if (oneD)
    outShape = {g_.n, g_.o, g_.ow};
  return reshape(y, outShape);
}

llvm::Error mpc::onnx::importConv(ImportContext &ctx) {
  auto y = ConvImporter(ctx).run();
  if (!y)
    return y.takeError();
  ctx.setOutput(0, *y);
  ctx.setConvOf(*y, &ctx.node());
  return llvm::Error::success();
}

/// The float data of input \p i, which must be a constant of \p n elements.
static llvm::Expected<std::vector<double>>
constVector(ImportContext &ctx, unsigned i, int64_t n, llvm::StringRef what) {
  auto v = ctx.input(i);
  if (!v)
    return v.takeError();
  if (!(*v)->isConstant() || (*v)->type().elem != ElemType::F32 ||
      (*v)->type().numElements() != n)
    return ctx.fail("{} must be a constant float vector of {} entries, got "
                    "{}",
                    what, n, (*v)->type().str());
  return (*v)->constData().f;
}

llvm::Error mpc::onnx::importBatchNormalization(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  const TensorType &t = (*x)->type();
  if (t.elem != ElemType::F32 || t.rank() < 2)
    return ctx.fail("expects a float input [N, C, ...], got {}", t.str());
  if (ctx.attrInt("training_mode", 0) != 0 || ctx.hasOutput(1) ||
      ctx.hasOutput(2))
    return ctx.fail("training mode is not supported (mpcc runs inference)");
  int64_t c = t.shape[1];
  const char *names[] = {"", "scale", "B", "input_mean", "input_var"};
  std::vector<double> p[5];
  for (unsigned i = 1; i <= 4; ++i) {
    auto v = constVector(ctx, i, c, names[i]);
    if (!v)
      return v.takeError();
    p[i] = std::move(*v);
  }
  // y = x s + shift with s = scale / sqrt(var + eps), shift = B - mean s:
  // model values, party 0's, computed at compile time.
  double eps = ctx.attrFloat("epsilon", 1e-5);
  std::vector<double> s(c), shift(c);
  for (int64_t k = 0; k < c; ++k) {
    s[k] = p[1][k] / std::sqrt(p[4][k] + eps);
    shift[k] = p[2][k] - p[3][k] * s[k];
  }

  // Folded into the Conv that computes x: W[o] s[o], b[o] s[o] + shift[o].
  const pb::NodeProto *conv = ctx.convOf(*x);
  if (conv) {
    const pb::NodeProto &bn = ctx.node();
    ctx.beginNode(*conv);
    auto w = ctx.input(1);
    Value *folded = nullptr;
    if (w && (*w)->isConstant() && (*w)->type().shape[0] == c) {
      HostTensor wt = toHost(**w);
      int64_t per = wt.f.size() / c;
      for (size_t i = 0; i < wt.f.size(); ++i)
        wt.f[i] *= s[i / per];
      std::vector<double> bias = shift;
      if (ctx.hasInput(2)) {
        auto b = ctx.input(2);
        if (b && (*b)->isConstant() && (*b)->type().numElements() == c)
          for (int64_t k = 0; k < c; ++k)
            bias[k] += (*b)->constData().f[k] * s[k];
        else if (!b)
          llvm::consumeError(b.takeError());
      }
      Value *wf = ctx.addModelConstant((*w)->name() + ".bn", wt);
      Value *bf = ctx.addModelConstant((*w)->name() + ".bn_bias",
                                       HostTensor::floats({c}, bias));
      auto y = ConvImporter(ctx).run(wf, bf);
      if (!y)
        return y.takeError();
      folded = *y;
    } else if (!w) {
      llvm::consumeError(w.takeError());
    }
    ctx.beginNode(bn);
    if (folded) {
      ctx.setOutput(0, folded);
      return llvm::Error::success();
    }
  }
  std::vector<int64_t> shape(t.rank() - 1, 1);
  shape[0] = c;
  Value *sv = ctx.addModelConstant("bn_scale", HostTensor::floats(shape, s));
  Value *tv =
      ctx.addModelConstant("bn_shift", HostTensor::floats(shape, shift));
  auto m = ctx.emit(OpKind::Mul, {*x, sv});
  if (!m)
    return m.takeError();
  auto y = ctx.emit(OpKind::Add, {*m, tv});
  if (!y)
    return y.takeError();
  ctx.setOutput(0, *y);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importGlobalAveragePool(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  const TensorType &t = (*x)->type();
  if (t.elem != ElemType::F32 || t.rank() < 3)
    return ctx.fail("expects a float input [N, C, ...], got {}", t.str());
  std::vector<int64_t> axes;
  for (int64_t d = 2; d < t.rank(); ++d)
    axes.push_back(d);
  auto y = ctx.emit(OpKind::ReduceMean, {*x},
                    {{"axes", axes}, {"keepdims", int64_t(1)}});
  if (!y)
    return y.takeError();
  ctx.setOutput(0, *y);
  return llvm::Error::success();
}

llvm::Error mpc::onnx::importAveragePool(ImportContext &ctx) {
  auto x = ctx.input(0);
  if (!x)
    return x.takeError();
  const TensorType &t = (*x)->type();
  if (t.elem != ElemType::F32 || (t.rank() != 3 && t.rank() != 4))
    return ctx.fail("only 1-D and 2-D pooling of a float input is supported, "
                    "got {}",
                    t.str());
  auto kernel = ctx.attrInts("kernel_shape");
  if (!kernel || int64_t(kernel->size()) != t.rank() - 2)
    return ctx.fail("kernel_shape must have {} entries", t.rank() - 2);
  if (ctx.attrInt("ceil_mode", 0) != 0)
    return ctx.fail("ceil_mode = 1 is not supported");
  // A sum over each window is a depthwise convolution by public ones; the
  // mean divides by the window's size, or by its count of real (not
  // padded) entries, a public factor per output position.
  std::vector<int64_t> wShape{t.shape[1], 1};
  wShape.insert(wShape.end(), kernel->begin(), kernel->end());
  int64_t kk = 1;
  for (int64_t k : *kernel)
    kk *= k;
  Value *ones = ctx.constF32(wShape, std::vector<double>(t.shape[1] * kk, 1.0),
                             "pool_ones");
  ConvImporter conv(ctx);
  auto sum = conv.runDepthwise(*x, ones);
  if (!sum)
    return sum.takeError();
  const ConvGeometry &g = conv.geometry();
  bool includePad = ctx.attrInt("count_include_pad", 0) != 0;
  std::vector<double> inv(g.oh * g.ow, 1.0 / double(kk));
  if (!includePad)
    for (int64_t i = 0; i < g.oh; ++i)
      for (int64_t j = 0; j < g.ow; ++j) {
        int64_t rows = 0, cols = 0;
        for (int64_t a = 0; a < g.kh; ++a) {
          int64_t r = i * g.sh + a * g.dh - g.padTop;
          rows += r >= 0 && r < g.h;
        }
        for (int64_t b = 0; b < g.kw; ++b) {
          int64_t c = j * g.sw + b * g.dw - g.padLeft;
          cols += c >= 0 && c < g.w;
        }
        inv[i * g.ow + j] = 1.0 / double(std::max<int64_t>(1, rows * cols));
      }
  std::vector<int64_t> invShape{1, 1, g.oh, g.ow};
  if (t.rank() == 3)
    invShape = {1, 1, g.ow};
  bool uniform = llvm::all_of(inv, [&](double v) { return v == inv[0]; });
  Value *factor = uniform ? ctx.constF32({}, {inv[0]}, "pool_scale")
                          : ctx.constF32(invShape, inv, "pool_scale");
  auto y = ctx.emit(OpKind::Mul, {*sum, factor});
  if (!y)
    return y.takeError();
  ctx.setOutput(0, *y);
  return llvm::Error::success();
}
