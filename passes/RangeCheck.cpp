//===- passes/RangeCheck.cpp - Sample inputs against --range-bits ---------===//

#include "passes/RangeCheck.h"

#include "ir/IR.h"
#include "ir/OpSchema.h"
#include "passes/ApproxChoice.h"
#include "runtime/protocols/Nonlinear.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

using namespace mpc;

namespace {

/// The kind of a range-limited semantic op (its IR name), or "" for any
/// other op.
std::string rangeKind(OpKind k) {
  switch (k) {
  case OpKind::Gelu:
  case OpKind::Tanh:
  case OpKind::Relu:
  case OpKind::Softmax:
    return opKindName(k).str();
  default:
    return "";
  }
}

/// Whether lowering truncates \p k's result (a product or a scaling):
/// its truncation opens in a ring sized by the range (NarrowRings.cpp).
bool isTruncatedProduct(OpKind k) {
  switch (k) {
  case OpKind::Linear:
  case OpKind::MatMul:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::ReduceMean:
    return true;
  default:
    return false;
  }
}

/// Softmax inputs at or below this are masked: the model's fill (-10000,
/// finfo.min, -inf) plus a score. Lowering puts the runtime's mask bias in
/// the fill's place (rt::softmaxMaskedValue).
constexpr double kMaskedBelow = -rt::kSoftmaxMaskBias / 2;
/// A product this far below zero holds a mask fill (-1e9, finfo.min,
/// -inf, times a scale), which lowering also replaces by the mask bias;
/// an activation there would need --range-bits 20 or more, and no
/// Transformer's products come near. (Products down to here are checked:
/// -5000 may be a real activation.)
constexpr double kMaskFillProductBelow = -1e6;

/// The largest |v| of \p t, leaving out entries at or below \p skipBelow.
double maxAbsOf(const HostTensor &t,
                std::optional<double> skipBelow = std::nullopt) {
  double m = 0;
  for (double v : t.f)
    if (!(skipBelow && v <= *skipBelow))
      m = std::max(m, std::fabs(v));
  return m;
}

/// The smallest and the largest population variance + eps over the rows
/// (last axis) of t; {+inf, 0} when it has none.
std::pair<double, double> rowVarianceRange(const HostTensor &t, double eps) {
  int64_t d = t.shape.empty() ? 1 : t.shape.back();
  double least = std::numeric_limits<double>::infinity(), worst = 0;
  for (size_t r = 0; d > 0 && (r + 1) * size_t(d) <= t.f.size(); ++r) {
    const double *x = t.f.data() + r * d;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < d; ++i)
      mean += x[i];
    mean /= double(d);
    for (int64_t i = 0; i < d; ++i)
      var += (x[i] - mean) * (x[i] - mean);
    least = std::min(least, var / double(d) + eps);
    worst = std::max(worst, var / double(d) + eps);
  }
  return {least, worst};
}

} // namespace

double mpc::rangeLimit(llvm::StringRef kind, int rangeBits) {
  rt::LayerNormDomain ln = rt::layerNormDomain();
  if (kind == layerNormRangeKind() || kind == layerNormRangeKind("output"))
    return std::ldexp(1.0, ln.inputBits);
  if (kind == layerNormRangeKind("variance"))
    return std::ldexp(1.0, ln.varianceBits);
  double range = std::ldexp(1.0, rangeBits);
  return kind == rangeKind(OpKind::Softmax)
             ? range - rt::softmaxMaskBias(rangeBits)
             : range;
}

std::string mpc::layerNormRangeKind(llvm::StringRef aspect) {
  std::string k = opKindName(OpKind::LayerNorm).str();
  return aspect.empty() ? k : k + " " + aspect.str();
}

bool mpc::isLayerNormRangeKind(llvm::StringRef kind) {
  return kind == layerNormRangeKind() ||
         kind.startswith(layerNormRangeKind() + " ");
}

ApproxDomain mpc::approxDomain(rt::Approximation a) {
  const rt::ApproxInfo &info = rt::approxInfo(a);
  if (info.kind == rt::ApproxKind::LayerNorm) {
    const rt::ApproxInfo &rsqrt = rt::approxInfo(rt::layerNormRsqrt(a));
    return {&info, "variance + eps", rsqrt.lo, rsqrt.hi};
  }
  return {&info, "input", info.lo, info.hi};
}

bool mpc::hasNarrowerDomain(rt::Approximation a) {
  ApproxDomain d = approxDomain(a);
  ApproxDomain def = approxDomain(rt::defaultApprox(d.entry->kind));
  return d.lo > def.lo || d.hi < def.hi;
}

std::pair<double, double>
mpc::approxValuesSeen(const Op &op, rt::Approximation a, const HostTensor &x) {
  ApproxDomain d = approxDomain(a);
  if (op.kind() == OpKind::LayerNorm)
    return rowVarianceRange(x, op.getFloat("eps", kLayerNormDefaultEps));
  bool skipMasked = rt::approxInfo(a).kind == rt::ApproxKind::Softmax &&
                    d.lo <= -rt::kSoftmaxMaskBias;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : x.f)
    if (!(skipMasked && v <= kMaskedBelow)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  return {lo, hi};
}

llvm::Expected<RangeReport>
mpc::checkRanges(const Graph &g,
                 const std::map<std::string, HostTensor> &inputs,
                 const CompileOptions &opts) {
  return checkRangesOnBatches(g, llvm::ArrayRef(inputs), opts);
}

/// The heads of \p x ([batch, heads, queries, keys]) whose choice in
/// \p perHead is \p a, in order.
static HostTensor headsOf(const HostTensor &x,
                          llvm::ArrayRef<rt::Approximation> perHead,
                          rt::Approximation a) {
  int64_t batch = x.shape[0], heads = x.shape[1];
  int64_t block = x.shape[2] * x.shape[3];
  std::vector<double> v;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      if (perHead[h] == a)
        v.insert(v.end(), x.f.begin() + (b * heads + h) * block,
                 x.f.begin() + (b * heads + h + 1) * block);
  int64_t n = int64_t(v.size()) / std::max<int64_t>(batch * block, 1);
  return HostTensor::floats({batch, n, x.shape[2], x.shape[3]}, std::move(v));
}

/// "1, 2" for the heads whose choice is \p a.
static std::string headList(llvm::ArrayRef<rt::Approximation> perHead,
                            rt::Approximation a) {
  std::string s;
  for (size_t h = 0; h < perHead.size(); ++h)
    if (perHead[h] == a)
      s += (s.empty() ? "" : ", ") + std::to_string(h);
  return s;
}

llvm::Expected<RangeReport> mpc::checkRangesOnBatches(
    const Graph &g, llvm::ArrayRef<std::map<std::string, HostTensor>> batches,
    const CompileOptions &opts, ConstantCache *constants) {
  int rangeBits = opts.rangeBits;
  // The values each op with a chosen entry saw, over all batches, in the
  // order the ops first ran.
  std::vector<DomainObservation> domainSeen;
  std::map<std::pair<const Op *, rt::Approximation>, size_t> domainIndex;
  std::vector<RangeObservation> seen;
  // One observation per (kind, op), the largest over all batches.
  std::map<std::pair<std::string, const Op *>, size_t> seenIndex;
  auto record = [&](std::string kind, const Op &op, double maxAbs) {
    auto [it, first] = seenIndex.emplace(std::pair(kind, &op), seen.size());
    if (!first) {
      seen[it->second].maxAbs = std::max(seen[it->second].maxAbs, maxAbs);
      return;
    }
    double limit = rangeLimit(kind, rangeBits);
    seen.push_back({std::move(kind), op.sourceNode(), maxAbs, limit});
  };
  // Op results that are truncated (products) or LayerNorm outputs, once
  // each, as their users (or the graph's outputs) see them.
  std::set<const Value *> resultsSeen;
  auto observeResult = [&](const Value *v, const HostTensor &t) {
    const Op *def = v->definingOp();
    if (!def || !resultsSeen.insert(v).second)
      return;
    // A product of a mask (a where-built fill times a learned scalar, as
    // PyTorch's TransformerEncoder exports it) carries the fill.
    if (isTruncatedProduct(def->kind()))
      record("product", *def, maxAbsOf(t, kMaskFillProductBelow));
    else if (def->kind() == OpKind::LayerNorm)
      record(layerNormRangeKind("output"), *def, maxAbsOf(t));
  };
  auto observe = [&](const Op &op, llvm::ArrayRef<const HostTensor *> args) {
    for (size_t i = 0; i < args.size() && i < op.numOperands(); ++i)
      if (args[i])
        observeResult(op.operand(i), *args[i]);
    if (args.empty() || !args[0])
      return;
    if (op.kind() == OpKind::LayerNorm) {
      record(layerNormRangeKind(), op, maxAbsOf(*args[0]));
      record(
          layerNormRangeKind("variance"), op,
          rowVarianceRange(*args[0], op.getFloat("eps", kLayerNormDefaultEps))
              .second);
    }
    std::optional<rt::ApproxKind> approxKind = approxKindOf(op);
    if (approxKind && !modelForm(op)) {
      // Each entry the op runs, on the inputs it runs on: per head where
      // the options choose per head (its heads' rows of [b, h, q, k]).
      std::vector<rt::Approximation> perHead = headApproxes(op, opts);
      std::vector<rt::Approximation> entries =
          perHead.empty() ? std::vector{approxOf(op, opts)} : perHead;
      std::sort(entries.begin(), entries.end());
      entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
      for (rt::Approximation a : entries) {
        if (a == rt::defaultApprox(*approxKind))
          continue;
        std::string node = op.sourceNode();
        HostTensor heads;
        const HostTensor *in = args[0];
        if (!perHead.empty()) {
          heads = headsOf(*in, perHead, a);
          in = &heads;
          node += " (heads " + headList(perHead, a) + ")";
        }
        auto [lo, hi] = approxValuesSeen(op, a, *in);
        auto [it, first] =
            domainIndex.emplace(std::pair(&op, a), domainSeen.size());
        if (first) {
          domainSeen.push_back({approxDomain(a), node, lo, hi});
        } else {
          DomainObservation &o = domainSeen[it->second];
          o.seenLo = std::min(o.seenLo, lo);
          o.seenHi = std::max(o.seenHi, hi);
        }
      }
    }
    std::string kind = rangeKind(op.kind());
    if (kind.empty())
      return;
    // Masked entries: the model's own bias is kSoftmaxMaskBias or beyond.
    record(kind, op,
           maxAbsOf(*args[0], op.kind() == OpKind::Softmax
                                  ? std::optional(kMaskedBelow)
                                  : std::nullopt));
  };
  for (const auto &inputs : batches) {
    resultsSeen.clear();
    auto outs = interpretGraph(g, inputs, observe, nullptr, constants);
    if (!outs)
      return outs.takeError();
    for (size_t i = 0; i < outs->size() && i < g.outputs().size(); ++i)
      observeResult(g.outputs()[i], (*outs)[i]);
  }
  RangeReport r;
  r.all = seen;
  for (const DomainObservation &o : domainSeen)
    if (o.seenLo < o.domain.lo || o.seenHi > o.domain.hi)
      r.outsideDomain.push_back(o);
  for (const RangeObservation &o : seen) {
    if (!(o.maxAbs < o.limit))
      r.outside.push_back(o);
    auto it = std::find_if(
        r.worstPerKind.begin(), r.worstPerKind.end(),
        [&](const RangeObservation &w) { return w.kind == o.kind; });
    if (it == r.worstPerKind.end())
      r.worstPerKind.push_back(o);
    else if (o.maxAbs / o.limit > it->maxAbs / it->limit)
      *it = o;
  }
  return r;
}
