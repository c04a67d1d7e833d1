//===- driver/Calibrate.cpp - Sample inputs against --range-bits ----------===//
//
// The float interpreter on the sample inputs (passes/RangeCheck.h), and
// what the user reads: the worst value per kind with its headroom, a
// warning within 4x of a limit, and an error naming the op and the
// --range-bits that would hold it.
//
//===----------------------------------------------------------------------===//

#include "driver/Compile.h"

#include "passes/RangeCheck.h"
#include "runtime/protocols/Nonlinear.h"
#include "support/Diag.h"

#include <fmt/format.h>

using namespace mpc;

/// "the gelu input", "the product".
static std::string rangeSubject(const RangeObservation &o) {
  if (o.kind == "product")
    return "the product";
  if (o.kind == layerNormRangeKind("variance"))
    return "the variance (+ eps) of the " + layerNormRangeKind() + " input";
  if (o.kind == layerNormRangeKind("output"))
    return "the " + o.kind;
  return "the " + o.kind + " input";
}

/// LayerNorm's domain is fixed (RangeCheck.h), not set by --range-bits.
static bool isLayerNormKind(const RangeObservation &o) {
  return isLayerNormRangeKind(o.kind);
}

/// "layernorm.crypten (CrypTen (papers.md B.5)) holds for variance + eps
/// in [0.1, 100]".
static std::string domainText(const ApproxDomain &d) {
  return fmt::format("{} ({}) holds for {} in [{:g}, {:g}]", d.entry->name,
                     d.entry->source, d.what, d.lo, d.hi);
}

std::vector<std::string>
mpc::uncheckedDomainWarnings(const CompileOptions &opts) {
  std::vector<std::string> out;
  for (rt::ApproxKind k : rt::perOpApproxKinds())
    for (rt::Approximation a : opts.approxChoices(k))
      if (hasNarrowerDomain(a))
        out.push_back(fmt::format(
            "{}; no sample checks this model's values against it (pass "
            "--calibrate NAME=FILE; outside its domain it computes wrong "
            "values)",
            domainText(approxDomain(a))));
  return out;
}

llvm::Error mpc::checkCalibration(
    const Graph &g, llvm::ArrayRef<std::map<std::string, HostTensor>> batches,
    const CompileOptions &opts, llvm::raw_ostream &log,
    std::map<std::pair<std::string, std::string>, double> *inputMax) {
  int rangeBits = opts.rangeBits;
  auto report = checkRangesOnBatches(g, batches, opts);
  if (!report)
    return addContext(report.takeError(), "--calibrate: ");
  if (!report->outsideDomain.empty()) {
    const DomainObservation &o = report->outsideDomain.front();
    rt::ApproxKind kind = o.domain.entry->kind;
    return error("--calibrate: the {} of '{}' spans [{:.6g}, {:.6g}], "
                 "outside its approximation's domain: {}; {} op(s) in all. "
                 "It would compute wrong values there: use --approx {}={} "
                 "(or one whose domain covers these values)",
                 o.domain.what, o.node, o.seenLo, o.seenHi,
                 domainText(o.domain), report->outsideDomain.size(),
                 rt::approxKindName(kind).str(),
                 rt::approxInfo(rt::defaultApprox(kind)).shortName);
  }
  if (inputMax)
    for (const RangeObservation &o : report->all)
      if (o.kind != "product" && !isLayerNormKind(o)) {
        double &m = (*inputMax)[{o.kind, o.node}];
        m = std::max(m, o.maxAbs);
      }
  std::string summary;
  for (const RangeObservation &o : report->worstPerKind)
    summary +=
        fmt::format("{}{} max {}{:.4g} ('{}', {:.0f}x headroom)",
                    summary.empty() ? "" : "; ", o.kind,
                    o.kind == layerNormRangeKind("variance") ? "" : "|x| ",
                    o.maxAbs, o.node, o.limit / std::max(o.maxAbs, 1e-300));
  log << fmt::format("mpcc: --calibrate, range 2^{}: {}\n", rangeBits,
                     summary.empty() ? "no GeLU, tanh or softmax" : summary);
  if (report->outside.empty()) {
    for (const RangeObservation &o : report->worstPerKind)
      if (o.maxAbs * 4 >= o.limit)
        log << fmt::format(
            "mpcc: warning: --calibrate: {} of '{}' reaches {:.4g}, "
            "within 4x of {} {:.4g}; inputs in deployment may go "
            "further{}\n",
            rangeSubject(o), o.node, o.maxAbs,
            isLayerNormKind(o) ? "LayerNorm's fixed limit" : "the range's",
            o.limit,
            isLayerNormKind(o)
                ? ""
                : fmt::format(": consider --range-bits {}", rangeBits + 2));
    return llvm::Error::success();
  }
  const RangeObservation &o = report->outside.front();
  if (isLayerNormKind(o))
    return error("--calibrate: {} of '{}' reaches {:.6g}, outside the "
                 "domain of mpcc's LayerNorm (|x| and |output| < 2^{}, "
                 "variance + eps < 2^{}); it would compute wrong values for "
                 "these inputs",
                 rangeSubject(o), o.node, o.maxAbs,
                 rt::layerNormDomain().inputBits,
                 rt::layerNormDomain().varianceBits);
  // No --range-bits holds a value beyond what the fractional bits leave
  // room for (or an infinite one): say so instead of counting forever.
  int need = rangeBits, most = rt::maxRangeBits(opts.fracBits);
  for (const RangeObservation &out : report->outside) {
    if (isLayerNormKind(out))
      continue;
    while (need <= most && rangeLimit(out.kind, need) <= out.maxAbs)
      ++need;
    if (need > most)
      return error("--calibrate: {} of '{}' reaches |x| = {:.6g}, beyond any "
                   "--range-bits (at most {} with --frac-bits {}); {} op(s) "
                   "in all outside --range-bits {}: the model computes values "
                   "fixed point cannot hold",
                   rangeSubject(out), out.node, out.maxAbs, most, opts.fracBits,
                   report->outside.size(), rangeBits);
  }
  return error("--calibrate: {} of '{}' reaches |x| = {:.6g}, "
               "outside --range-bits {} (|x| < {:.6g}); {} op(s) in all; "
               "compile with --range-bits {} (comparisons and truncations "
               "outside the range give wrong results)",
               rangeSubject(o), o.node, o.maxAbs, rangeBits, o.limit,
               report->outside.size(), need);
}
