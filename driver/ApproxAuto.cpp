//===- driver/ApproxAuto.cpp - --approx auto --max-error E ----------------===//

#include "driver/ApproxAuto.h"

#include "driver/ApproxSim.h"
#include "ir/IR.h"
#include "passes/ApproxChoice.h"
#include "passes/RangeCheck.h"
#include "runtime/plan/Kernel.h"
#include "runtime/protocols/ApproxCost.h"
#include "runtime/protocols/FxProgram.h"
#include "support/Diag.h"

#include <algorithm>
#include <limits>

using namespace mpc;

namespace {

/// Largest |a - b| over the float outputs.
double maxAbsDiff(const std::vector<HostTensor> &a,
                  const std::vector<HostTensor> &b) {
  double m = 0;
  for (size_t k = 0; k < a.size() && k < b.size(); ++k)
    if (a[k].isFloat() && b[k].isFloat())
      for (size_t i = 0; i < a[k].f.size() && i < b[k].f.size(); ++i)
        m = std::max(m, std::abs(a[k].f[i] - b[k].f[i]));
  return m;
}

/// How many random draws of the truncations estimate the rounding noise.
constexpr uint64_t kRoundingDraws = 2;

/// \p s as a glob that matches only itself.
std::string literalGlob(llvm::StringRef s) {
  std::string g;
  for (char c : s) {
    if (llvm::StringRef("*?[]{}\\").contains(c))
      g += '\\';
    g += c;
  }
  return g;
}

/// Whether \p v is a product the lowering truncates (a linear layer, a
/// matrix or element-wise product), possibly plus a constant bias, used
/// by its reader alone: the input FuseGeluInput lets a GeLU truncate.
bool isTruncatedProduct(const Value *v) {
  auto product = [](const Value *p) {
    const Op *def = p->definingOp();
    return def && p->users().size() == 1 &&
           (def->kind() == OpKind::Linear || def->kind() == OpKind::MatMul ||
            def->kind() == OpKind::Mul);
  };
  if (v->users().size() != 1)
    return false;
  if (product(v))
    return true;
  const Op *def = v->definingOp();
  if (!def || def->kind() != OpKind::Add)
    return false;
  for (unsigned i = 0; i < 2; ++i)
    if (product(def->operand(i)) && def->operand(1 - i)->isConstant())
      return true;
  return false;
}

/// Predicted online seconds of \p op with entry \p a: rounds and bytes
/// on \p net, and local work at \p rates, calibrated for the entry's
/// kind (its kernel), where set (ApproxAuto.h). A GeLU after a
/// product is priced as the plan runs it (rt::geluAfterProductCost): the
/// entries differ in whether they take the product's truncation into
/// their first round.
double opSeconds(const Op &op, rt::Approximation a, const CompileOptions &o,
                 const NetworkModel &net, const LocalRates &rates) {
  const auto &dims = op.operand(0)->type().shape;
  std::vector<int64_t> shape(dims.begin(), dims.end());
  llvm::StringRef kernel = rt::approxKindName(rt::approxInfo(a).kind);
  if (op.kind() == OpKind::Gelu && isTruncatedProduct(op.operand(0))) {
    // Two ops where the entry does not take the truncation in: each
    // kernel's local work at its own calibration, the rounds in sequence.
    rt::GeluAfterProductCosts c = rt::geluAfterProductCosts(
        a, o.fracBits, o.rangeBits, shape, o.exactTruncation);
    return networkSeconds(rt::Cost(c.trunc).then(c.gelu), net) +
           localSeconds(c.trunc, rates, rt::kernelName(rt::KernelId::Trunc)) +
           localSeconds(c.gelu, rates, kernel);
  }
  return predictSeconds(
      rt::approxCost(a, o.fracBits, o.rangeBits, shape, o.exactTruncation), net,
      rates, kernel);
}

/// One op the choice is made for.
struct Site {
  const Op *op;
  std::vector<int64_t> shape;
};

CompileOptions withRule(CompileOptions o, const AutoOpChoice &s,
                        rt::Approximation a) {
  o.nodeRules.push_back({s.kind, a, literalGlob(s.node)});
  return o;
}

/// The verdict for an entry whose domain the samples leave.
std::string outsideVerdict(const DomainObservation &d) {
  return fmt::format("outside its domain [{:g}, {:g}] on the samples "
                     "(seen [{:.3g}, {:.3g}])",
                     d.domain.lo, d.domain.hi, d.seenLo, d.seenHi);
}

/// The search's state: the graph, the sample batches and their float
/// outputs.
class Search {
public:
  Search(const Graph &g, SampleBatches samples) : g_(g), samples_(samples) {}

  /// Computes the float outputs and keeps the operands of every op with
  /// an approximation (before error() and headroom()).
  llvm::Error init() {
    auto keep = [&](const Op &op, llvm::ArrayRef<const HostTensor *> args) {
      if (!approxKindOf(op))
        return;
      std::vector<HostTensor> &kept = opOperands_[&op].emplace_back();
      for (const HostTensor *t : args)
        kept.push_back(t ? *t : HostTensor());
    };
    for (const auto &inputs : samples_) {
      auto out = interpretGraph(g_, inputs, keep, nullptr, &constants_);
      if (!out)
        return out.takeError();
      floatOut_.push_back(std::move(*out));
    }
    return llvm::Error::success();
  }

  /// How much larger \p op's own error with \p o could be on other inputs
  /// than on the samples: the registry's bound for its entry
  /// (maxAbsErr + maxRelErr |ref|) over the largest error the samples show
  /// at the op, each against the double result; at least 1. Errors below
  /// one fixed-point ulp count as an ulp (they are rounding).
  llvm::Expected<double> headroom(const Op &op, const CompileOptions &o) const {
    const rt::ApproxInfo &info = rt::approxInfo(approxOf(op, o));
    ApproxSimulator sim(o);
    double seen = std::ldexp(1.0, -o.fracBits), bound = 0;
    for (const std::vector<HostTensor> &operands : opOperands_.at(&op)) {
      llvm::SmallVector<const HostTensor *, 4> args;
      for (const HostTensor &t : operands)
        args.push_back(&t);
      auto got = sim.simulate(op, args);
      if (!got)
        return got.takeError();
      auto ref = evaluateOp(op, args);
      if (!ref)
        return ref.takeError();
      const std::vector<double> &r = ref->front().f, &a = got->front().f;
      for (size_t i = 0; i < r.size() && i < a.size(); ++i) {
        seen = std::max(seen, std::abs(a[i] - r[i]));
        bound =
            std::max(bound, info.maxAbsErr + info.maxRelErr * std::abs(r[i]));
      }
    }
    return std::max(1.0, bound / seen);
  }

  /// The simulated output's largest error over the batches with \p o.
  llvm::Expected<double> error(const CompileOptions &o) const {
    ApproxSimulator sim(o);
    double worst = 0;
    for (size_t b = 0; b < samples_.size(); ++b) {
      auto out = interpretGraph(g_, samples_[b], {}, &sim, &constants_);
      if (!out)
        return out.takeError();
      worst = std::max(worst, maxAbsDiff(*out, floatOut_[b]));
    }
    return worst;
  }

  /// The secure run's rounding noise with \p o, estimated: the largest
  /// difference between the simulated output with its one-round
  /// truncations drawn as the protocol draws them (fx::RandomTruncation)
  /// and rounded to nearest, over the batches and kRoundingDraws draws.
  /// (The linear layers' truncations are not simulated and add a little
  /// more.)
  llvm::Expected<double> roundingNoise(const CompileOptions &o) const {
    ApproxSimulator sim(o);
    double worst = 0;
    for (const auto &inputs : samples_) {
      auto nearest = interpretGraph(g_, inputs, {}, &sim, &constants_);
      if (!nearest)
        return nearest.takeError();
      for (uint64_t draw = 1; draw <= kRoundingDraws; ++draw) {
        rt::fx::RandomTruncation scope(draw);
        auto drawn = interpretGraph(g_, inputs, {}, &sim, &constants_);
        if (!drawn)
          return drawn.takeError();
        worst = std::max(worst, maxAbsDiff(*drawn, *nearest));
      }
    }
    return worst;
  }

  /// Where the samples leave a chosen entry's domain with \p o (empty: no
  /// op does).
  llvm::Expected<std::string> outsideDomain(const CompileOptions &o) const {
    auto ranges = checkRangesOnBatches(g_, samples_, o, &constants_);
    if (!ranges)
      return ranges.takeError();
    if (ranges->outsideDomain.empty())
      return std::string();
    return outsideVerdict(ranges->outsideDomain.front());
  }

  /// outsideDomain for \p op alone given entry \p a, every other op at its
  /// default (so the values reaching \p op are those init() kept): no
  /// interpretation needed.
  std::string outsideDomainAlone(const Op &op, rt::Approximation a) const {
    DomainObservation o{approxDomain(a), "", 0, 0};
    o.seenLo = std::numeric_limits<double>::infinity();
    o.seenHi = -o.seenLo;
    for (const std::vector<HostTensor> &operands : opOperands_.at(&op)) {
      auto [lo, hi] = approxValuesSeen(op, a, operands.front());
      o.seenLo = std::min(o.seenLo, lo);
      o.seenHi = std::max(o.seenHi, hi);
    }
    if (o.seenLo >= o.domain.lo && o.seenHi <= o.domain.hi)
      return std::string();
    return outsideVerdict(o);
  }

private:
  const Graph &g_;
  SampleBatches samples_;
  std::vector<std::vector<HostTensor>> floatOut_;
  /// The graph's weights, converted once for all the runs.
  mutable ConstantCache constants_;
  /// Per op with an approximation, its operands on each batch.
  std::map<const Op *, std::vector<std::vector<HostTensor>>> opOperands_;
};

} // namespace

llvm::Expected<AutoChoice>
mpc::chooseApproxAuto(const Graph &g, SampleBatches samples,
                      const CompileOptions &base, double maxError,
                      const NetworkModel &net, const LocalRates &rates) {
  AutoChoice result;
  result.pricedOn = pricingName(net, rates);
  std::vector<Site> sites;
  std::map<std::pair<rt::ApproxKind, std::string>, int> uses;
  for (const auto &op : g.ops()) {
    std::optional<rt::ApproxKind> k = approxKindOf(*op);
    if (!k)
      continue;
    AutoOpChoice c;
    c.node = op->loc().onnxNode;
    c.kind = *k;
    c.approx = c.base = approxOf(*op, base);
    if (modelForm(*op))
      c.fixed = "the model's own form";
    else if (c.node.empty())
      c.fixed = "no ONNX node name to choose by";
    ++uses[{c.kind, c.node}];
    const auto &shape = op->operand(0)->type().shape;
    sites.push_back(
        {op.get(), std::vector<int64_t>(shape.begin(), shape.end())});
    result.ops.push_back(std::move(c));
  }
  for (AutoOpChoice &c : result.ops)
    if (c.fixed.empty() && uses[{c.kind, c.node}] > 1)
      c.fixed = "its node name names several ops";

  Search search(g, samples);
  if (llvm::Error e = search.init())
    return e;
  auto secondsOf = [&](size_t i, rt::Approximation a) {
    return opSeconds(*sites[i].op, a, base, net, rates);
  };

  auto e0 = search.error(base);
  if (!e0)
    return e0.takeError();
  result.baseError = *e0;
  auto noise = search.roundingNoise(base);
  if (!noise)
    return noise.takeError();
  result.noise = *noise;

  // Each alternative alone.
  struct Candidate {
    size_t op, alt;
  };
  std::vector<Candidate> cands;
  for (size_t i = 0; i < result.ops.size(); ++i) {
    AutoOpChoice &c = result.ops[i];
    c.baseSeconds = c.seconds = secondsOf(i, c.base);
    if (!c.fixed.empty())
      continue;
    for (const rt::ApproxInfo *info : rt::approxesOf(c.kind)) {
      if (info->id == c.base)
        continue;
      AutoAlternative alt{info->id, 0, 0, 0, false, ""};
      if (info->needsTraining) {
        alt.verdict = "needs a model trained with it";
      } else if (llvm::Error e =
                     rt::validateApprox(info->id, base.fracBits, base.rangeBits,
                                        sites[i].shape, base.exactTruncation)) {
        alt.verdict = "refused: " + llvm::toString(std::move(e));
      } else {
        alt.seconds = secondsOf(i, info->id);
        CompileOptions alone = withRule(base, c, info->id);
        alt.verdict = search.outsideDomainAlone(*sites[i].op, info->id);
        if (alt.verdict.empty()) {
          auto err = search.error(alone);
          if (!err)
            return err.takeError();
          alt.error = *err;
          auto room = search.headroom(*sites[i].op, alone);
          if (!room)
            return room.takeError();
          alt.reserve = (*room - 1) * std::max(0.0, alt.error - *e0);
          alt.simulated = true;
          cands.push_back({i, c.alternatives.size()});
        }
      }
      c.alternatives.push_back(std::move(alt));
    }
  }
  auto altOf = [&](const Candidate &k) -> AutoAlternative & {
    return result.ops[k.op].alternatives[k.alt];
  };

  // Takes \p k if the whole choice's error, with the rounding noise and
  // the reserves of its chosen entries, stays within \p bound. (Domains
  // are checked on the float values, which no choice changes: each
  // candidate passed outsideDomainAlone, so every combination holds too.)
  CompileOptions chosen = base;
  double err = *e0, reserve = result.noise;
  auto tryTake = [&](const Candidate &k, double bound) -> llvm::Error {
    AutoOpChoice &c = result.ops[k.op];
    AutoAlternative &alt = altOf(k);
    CompileOptions trial = withRule(chosen, c, alt.approx);
    auto e = search.error(trial);
    if (!e)
      return e.takeError();
    double trialReserve = reserve - c.reserve + alt.reserve;
    if (*e + trialReserve > bound) {
      alt.verdict =
          trialReserve > 0
              ? fmt::format("the choice's error would be {:.3g} + up to {:.3g} "
                            "(rounding noise, reserves) > {:.3g}",
                            *e, trialReserve, bound)
              : fmt::format("the choice's error would be {:.3g} > {:.3g}", *e,
                            bound);
      return llvm::Error::success();
    }
    for (AutoAlternative &other : c.alternatives)
      if (other.verdict == "chosen")
        other.verdict = "chosen, then replaced";
    alt.verdict = "chosen";
    c.approx = alt.approx;
    c.seconds = alt.seconds;
    c.errorAdded = alt.error - *e0;
    c.reserve = alt.reserve;
    chosen = std::move(trial);
    err = *e;
    reserve = trialReserve;
    return llvm::Error::success();
  };

  // 1. Over budget at the defaults: the alternatives that lower the error,
  // the cheapest first (those that also save time before those that cost
  // time), until the choice is within budget; step 2 then spends what is
  // left of it.
  if (err + reserve > maxError) {
    std::vector<Candidate> better;
    for (const Candidate &k : cands)
      if (altOf(k).error < *e0)
        better.push_back(k);
    auto added = [&](const Candidate &k) {
      return altOf(k).seconds - result.ops[k.op].baseSeconds;
    };
    std::stable_sort(better.begin(), better.end(),
                     [&](const Candidate &a, const Candidate &b) {
                       if (added(a) != added(b))
                         return added(a) < added(b);
                       return altOf(a).error < altOf(b).error;
                     });
    for (const Candidate &k : better) {
      if (err + reserve <= maxError)
        break;
      if (llvm::Error e = tryTake(k, err + reserve))
        return e;
    }
    if (err + reserve > maxError)
      return error("--approx auto: --max-error {:g} cannot be met: the best "
                   "reachable error on the calibration samples is {:.3g} + "
                   "up to {:.3g} (the secure run's rounding noise {:.3g}, "
                   "reserves for other inputs {:.3g}); {:.3g} with every op "
                   "at its kind's default",
                   maxError, err, reserve, result.noise, reserve - result.noise,
                   *e0);
  }

  // 2. The cheaper alternatives, by seconds saved per unit of error added.
  std::vector<std::pair<double, Candidate>> cheaper;
  for (const Candidate &k : cands) {
    AutoAlternative &alt = altOf(k);
    const AutoOpChoice &c = result.ops[k.op];
    if (alt.approx == c.approx)
      continue;
    if (alt.seconds >= c.seconds) {
      alt.verdict = "not cheaper";
      continue;
    }
    double added = std::max(alt.error - *e0, 1e-12);
    cheaper.push_back({(c.seconds - alt.seconds) / added, k});
  }
  std::stable_sort(
      cheaper.begin(), cheaper.end(),
      [](const auto &a, const auto &b) { return a.first > b.first; });
  for (const auto &[score, k] : cheaper) {
    if (altOf(k).seconds >= result.ops[k.op].seconds)
      altOf(k).verdict = "not cheaper than the op's choice";
    else if (llvm::Error e = tryTake(k, maxError))
      return e;
  }

  result.error = err;
  result.reserve = reserve - result.noise;
  for (const AutoOpChoice &c : result.ops) {
    result.seconds += c.seconds;
    result.baseSeconds += c.baseSeconds;
  }
  return result;
}

void mpc::applyAutoChoice(const AutoChoice &c, double maxError,
                          CompileOptions &opts) {
  for (const AutoOpChoice &o : c.ops)
    if (o.approx != o.base)
      opts.nodeRules.push_back({o.kind, o.approx, literalGlob(o.node)});
  opts.preset = fmt::format("auto (--max-error {:g}: simulated error {:.3g} on "
                            "the calibration samples, up to {:.3g} with "
                            "rounding noise and on other inputs)",
                            maxError, c.error, c.bound());
}

void mpc::printAutoChoice(const AutoChoice &c, double maxError,
                          llvm::raw_ostream &os) {
  os << fmt::format("mpcc: --approx auto, --max-error {:g}: simulated error "
                    "{:.3g}, up to {:.3g} with the secure run's rounding "
                    "noise ({:.3g}) and on other inputs (defaults {:.3g}); "
                    "the approximated ops' predicted online time {:.3f} ms "
                    "(defaults {:.3f} ms) on {}\n",
                    maxError, c.error, c.bound(), c.noise, c.baseError,
                    c.seconds * 1e3, c.baseSeconds * 1e3, c.pricedOn);
  os << fmt::format("mpcc:   {:<44} {:<22} {:>11} {:>10}\n", "op", "entry",
                    "error added", "online ms");
  for (const AutoOpChoice &o : c.ops) {
    os << fmt::format("mpcc:   {:<44} {:<22} {:>11.3g} {:>10.3f}{}\n",
                      o.node.empty() ? "(unnamed)" : o.node,
                      rt::approxInfo(o.approx).name, o.errorAdded,
                      o.seconds * 1e3,
                      o.fixed.empty() ? "" : "  (fixed: " + o.fixed + ")");
    for (const AutoAlternative &a : o.alternatives) {
      if (a.simulated)
        os << fmt::format("mpcc:     tried {:<20} alone: error {:.3g} "
                          "(+ up to {:.3g}), {:.3f} ms: {}\n",
                          rt::approxInfo(a.approx).name, a.error, a.reserve,
                          a.seconds * 1e3, a.verdict);
      else
        os << fmt::format("mpcc:     tried {:<20} {}\n",
                          rt::approxInfo(a.approx).name, a.verdict);
    }
  }
}

llvm::Expected<Frontier>
mpc::approxFrontier(const Graph &g, SampleBatches samples,
                    const CompileOptions &base, const NetworkModel &net,
                    llvm::ArrayRef<double> budgets, const LocalRates &rates) {
  Search search(g, samples);
  if (llvm::Error e = search.init())
    return e;
  Frontier out;
  out.netName = pricingName(net, rates);
  auto point = [&](const std::string &name, bool isAuto,
                   std::optional<double> seconds, std::optional<double> err,
                   const std::string &note) {
    out.points.push_back({name, isAuto, seconds, err, note});
  };
  for (const ApproxPreset &preset : approxPresets()) {
    CompileOptions o = base;
    if (llvm::Error e = applyApproxSpec(preset.name, o))
      return e;
    double seconds = 0;
    std::string note;
    for (const auto &op : g.ops()) {
      if (!approxKindOf(*op))
        continue;
      rt::Approximation a = approxOf(*op, o);
      seconds += opSeconds(*op, a, o, net, rates);
      if (note.empty() && rt::approxInfo(a).needsTraining && !modelForm(*op))
        note = fmt::format("{} needs a model trained with it",
                           rt::approxInfo(a).name);
      if (note.empty() && o.exactTruncation)
        if (llvm::Error e = rt::validateApproxRow(a, o.fracBits, o.rangeBits,
                                                  o.exactTruncation))
          note = llvm::toString(std::move(e));
    }
    auto domain = search.outsideDomain(o);
    if (!domain)
      return domain.takeError();
    if (note.empty() && !domain->empty())
      note = *domain;
    auto err = search.error(o);
    if (!err) {
      std::string why = llvm::toString(err.takeError());
      point(preset.name, false, seconds, std::nullopt,
            note.empty() ? why : note);
      continue;
    }
    point(preset.name, false, seconds, *err, note);
  }
  for (double e : budgets) {
    std::string name = fmt::format("auto --max-error {:g}", e);
    auto choice = chooseApproxAuto(g, samples, base, e, net, rates);
    if (!choice) {
      point(name, true, std::nullopt, std::nullopt,
            llvm::toString(choice.takeError()));
      continue;
    }
    size_t swaps = size_t(llvm::count_if(
        choice->ops, [](const auto &o) { return o.approx != o.base; }));
    point(name, true, choice->seconds, choice->error,
          fmt::format("{} of {} ops off their default; up to {:.3g} with "
                      "noise and on other inputs",
                      swaps, choice->ops.size(), choice->bound()));
  }
  return out;
}

std::string mpc::frontierTable(const Frontier &f) {
  std::string out = fmt::format(
      "Approximated ops' predicted online time and the model's simulated "
      "error on the calibration samples (max |output - float|); the time "
      "priced on {}:\n"
      "{:<44} {:>10} {:>10}  {}\n",
      f.netName, "choice", "online ms", "error", "note");
  auto num = [](std::optional<double> v, const char *fm) {
    return v ? fmt::format(fmt::runtime(fm), *v) : std::string("-");
  };
  for (const FrontierPoint &p : f.points)
    out += fmt::format(
        "{:<44} {:>10} {:>10}{}{}\n", p.name,
        num(p.seconds ? std::optional(*p.seconds * 1e3) : std::nullopt,
            "{:.3f}"),
        num(p.error, "{:.3g}"), p.note.empty() ? "" : "  ", p.note);
  return out;
}
