//===- passes/ApproxChoice.cpp - Approximation presets and choices --------===//
//
// The presets as data over the registry's entries, and the --approx parser.
//
//===----------------------------------------------------------------------===//

#include "passes/ApproxChoice.h"

#include "ir/OpSchema.h"

#include "ir/IR.h"
#include "passes/RangeCheck.h"
#include "runtime/protocols/ApproxCost.h"
#include "runtime/protocols/Nonlinear.h"
#include "support/Diag.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/GlobPattern.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

using namespace mpc;
using rt::Approximation;
using rt::ApproxKind;

llvm::ArrayRef<ApproxPreset> mpc::approxPresets() {
  static const std::vector<ApproxPreset> presets = {
      {kDefaultApproxPreset,
       "every kind's default: the most accurate entries",
       {}},
      {"puma", // check-names: not an approximation, the preset of PUMA
       "PUMA (papers.md B.2): 4-piece GeLU, softmax with exp (1 + x/256)^256 "
       "and Goldschmidt division; LayerNorm with SPU's f_rsqrt (its quartic "
       "guess, no Newton step)",
       {{ApproxKind::Gelu, Approximation::GeluPuma},
        {ApproxKind::Softmax, Approximation::SoftmaxPuma},
        {ApproxKind::LayerNorm, Approximation::LayerNormPuma}}},
      {"crypten", // check-names: not an approximation, CrypTen's preset
       "CrypTen (papers.md A.1, B.5): GeLU by its erf Taylor series (inputs "
       "in [-2.2, 2.2] only), softmax with exp (1 + x/256)^256 and Newton "
       "division (rows of at most 200), LayerNorm with the Newton rsqrt",
       {{ApproxKind::Gelu, Approximation::GeluCrypten},
        {ApproxKind::Softmax, Approximation::SoftmaxCrypten},
        {ApproxKind::LayerNorm, Approximation::LayerNormCrypten}}},
      {"mpcformer",
       "MPCFormer (papers.md B.3): Quad GeLU and 2Quad softmax; only for "
       "models distilled with them",
       {{ApproxKind::Gelu, Approximation::GeluQuad},
        {ApproxKind::Softmax, Approximation::SoftmaxTwoQuad}}},
      {"secformer", // check-names: not an approximation, SecFormer's preset
       "SecFormer (papers.md A.6, B.3): GeLU with its Fourier-series erf, "
       "2Quad softmax divided by Goldschmidt without an initial guess and "
       "LayerNorm by Goldschmidt rsqrt without one (inputs deflated); only "
       "for models distilled with 2Quad",
       {{ApproxKind::Gelu, Approximation::GeluSecformer},
        {ApproxKind::Softmax, Approximation::SoftmaxSecformer},
        {ApproxKind::LayerNorm, Approximation::LayerNormSecformer}}},
  };
  return presets;
}

std::optional<ApproxKind> mpc::approxKindOf(const Op &op) {
  return approxKindOf(op.kind());
}

std::optional<ApproxKind> mpc::approxKindOf(OpKind kind) {
  switch (kind) {
  case OpKind::Gelu:
    return ApproxKind::Gelu;
  case OpKind::Softmax:
    return ApproxKind::Softmax;
  case OpKind::LayerNorm:
    return ApproxKind::LayerNorm;
  case OpKind::Tanh:
    return ApproxKind::Tanh;
  default:
    return std::nullopt;
  }
}

std::optional<Approximation> mpc::modelForm(const Op &op) {
  if (op.kind() == OpKind::Gelu && geluForm(op) == GeluForm::Quad)
    return Approximation::GeluQuad;
  if (op.kind() == OpKind::Softmax && softmaxForm(op) == SoftmaxForm::TwoQuad)
    return Approximation::SoftmaxTwoQuad;
  return std::nullopt;
}

Approximation mpc::approxOf(const Op &op, const CompileOptions &opts) {
  // A softmax split by heads (passes/SplitHeads.cpp) runs the choice of
  // its first head, which its other heads share.
  std::vector<int64_t> heads =
      op.hasAttr("heads") ? op.getInts("heads") : std::vector<int64_t>{};
  return approxOfHead(op, opts, heads.empty() ? -1 : heads.front());
}

Approximation mpc::approxOfHead(const Op &op, const CompileOptions &opts,
                                int64_t head) {
  ApproxKind kind = *approxKindOf(op);
  Approximation chosen = opts.approxFor(kind, op.loc().onnxNode, head);
  std::optional<Approximation> trained = modelForm(op);
  if (!trained)
    return chosen;
  // A distilled 2Quad softmax runs a chosen entry that computes 2Quad too
  // (softmax.secformer: the same formula, SecFormer's division).
  if (kind == ApproxKind::Softmax && rt::softmaxIsTwoQuad(chosen))
    return chosen;
  return *trained;
}

static std::string presetNames() {
  std::string all;
  for (const ApproxPreset &p : approxPresets())
    all += (all.empty() ? "" : ", ") + std::string(p.name);
  return all;
}

static std::string perOpKindNames() {
  std::string all;
  for (ApproxKind k : rt::perOpApproxKinds())
    all += (all.empty() ? "" : ", ") + rt::approxKindName(k).str();
  return all;
}

llvm::Error mpc::applyApproxSpec(llvm::StringRef spec, CompileOptions &opts) {
  llvm::SmallVector<llvm::StringRef, 4> parts;
  spec.split(parts, ',', -1, false);
  // An empty spec would silently mean the defaults; a user who typed it
  // more likely wanted "no approximation", which there is not.
  if (parts.empty())
    return error("--approx: '{}' names no preset and no KIND=NAME (presets: "
                 "{}; `mpcc compile --approx list` prints the menu)",
                 spec.str(), presetNames());
  // The part that chose for each kind (and node pattern) since the last
  // preset: choosing for the same one twice is refused, not resolved by
  // order (a glob-scoped rule over a kind-wide choice is a layer, not a
  // repeat).
  std::map<std::pair<ApproxKind, std::string>, llvm::StringRef> chosenBy;
  for (llvm::StringRef part : parts) {
    auto [kindName, name] = part.split('=');
    if (part.contains('=') && name.empty())
      return error("--approx: '{}' names no entry (KIND=NAME, e.g. "
                   "gelu=puma; `mpcc compile --approx list` prints the menu)",
                   part.str());
    if (name.empty()) {
      const ApproxPreset *preset = nullptr;
      for (const ApproxPreset &p : approxPresets())
        if (kindName == p.name)
          preset = &p;
      if (!preset)
        return error("--approx: unknown preset '{}' (presets: {})",
                     kindName.str(), presetNames());
      opts.preset = preset->name;
      opts.approx.clear();
      opts.nodeRules.clear();
      chosenBy.clear();
      for (const auto &[kind, approx] : preset->choices)
        opts.approx[kind] = approx;
      continue;
    }
    auto [body, headSpec] = name.split('#');
    auto [approxName, glob] = body.split('@');
    name = approxName;
    int headLo = -1, headHi = -1;
    if (part.contains('#')) {
      auto [first, last] = headSpec.split('-');
      // getAsInteger is true on failure.
      bool bad = first.getAsInteger(10, headLo) || headLo < 0;
      headHi = headLo;
      if (headSpec.contains('-'))
        bad = bad || last.getAsInteger(10, headHi) || headHi < headLo;
      if (bad)
        return error("--approx: bad head range '{}' in '{}' (#HEAD or "
                     "#FIRST-LAST, counting from 0, e.g. "
                     "softmax=scaling@/encoder/layer.0/*#0-5)",
                     headSpec.str(), part.str());
      if (glob.empty() && !part.contains('@'))
        glob = "*";
    }
    if (part.contains('@') && glob.empty())
      return error("--approx: '{}' has an empty node pattern after '@' "
                   "(KIND=NAME@GLOB, e.g. softmax=2quad@/encoder/layer.0/*)",
                   part.str());
    if (!glob.empty()) {
      auto pattern = llvm::GlobPattern::create(glob);
      if (!pattern)
        return error("--approx: bad node pattern '{}': {}", glob.str(),
                     llvm::toString(pattern.takeError()));
    }
    std::optional<ApproxKind> kind = rt::approxKindFromName(kindName);
    bool perOp = kind && llvm::is_contained(rt::perOpApproxKinds(), *kind);
    if (!perOp)
      return error("--approx: unknown op kind '{}' ({})", kindName.str(),
                   perOpKindNames());
    std::optional<Approximation> approx = rt::findApprox(*kind, name);
    if (!approx)
      return error("--approx: '{}' is not an approximation of {} (have: {})",
                   name.str(), kindName.str(), rt::approxNames(*kind));
    if (headLo >= 0 && *kind != ApproxKind::Softmax)
      return error("--approx: '{}': only softmax chooses per attention head "
                   "(#HEADS); {} is element-wise or per row",
                   part.str(), kindName.str());
    CompileOptions::NodeRule rule{*kind, *approx, glob.str(), headLo, headHi};
    auto [earlier, first] = chosenBy.try_emplace({*kind, rule.scope()}, part);
    if (!first) {
      std::string kindStr = rt::approxKindName(*kind).str();
      return error("--approx: '{}' chooses for {} again, after '{}': give "
                   "one choice per kind (and per node pattern)",
                   part.str(),
                   glob.empty() ? "every " + kindStr + " op"
                                : "the " + kindStr + " ops matching '" +
                                      rule.scope() + "'",
                   earlier->second.str());
    }
    if (glob.empty())
      opts.approx[*kind] = *approx;
    else
      opts.nodeRules.push_back(std::move(rule));
  }
  return llvm::Error::success();
}

/// A rule as --approx writes it: KIND=NAME@GLOB[#HEADS].
static std::string rulePart(const CompileOptions::NodeRule &r) {
  return fmt::format("{}={}@{}", rt::approxKindName(r.kind).str(),
                     rt::approxInfo(r.approx).shortName, r.scope());
}

/// A head-scoped rule's heads exist in the softmax \p op it matches.
static llvm::Error checkHeads(const Op &op, const CompileOptions::NodeRule &r) {
  if (!r.hasHeads())
    return llvm::Error::success();
  std::optional<int64_t> heads = softmaxHeads(op);
  if (!heads)
    return error("--approx: '{}': the softmax op '{}' has no head axis (its "
                 "input is {}; heads need [batch, heads, queries, keys] and "
                 "the softmax over the last axis)",
                 rulePart(r), op.loc().onnxNode,
                 shapeStr(op.operand(0)->type().shape));
  if (r.headHi >= *heads)
    return error("--approx: '{}': the softmax op '{}' has {} heads (0-{})",
                 rulePart(r), op.loc().onnxNode, *heads, *heads - 1);
  return llvm::Error::success();
}

std::optional<int64_t> mpc::softmaxHeads(const Op &op) {
  if (op.kind() != OpKind::Softmax)
    return std::nullopt;
  const TensorType &t = op.operand(0)->type();
  int64_t axis = op.getInt("axis", -1);
  if (t.rank() != 4 || (axis != -1 && axis != 3) || t.shape[1] < 1)
    return std::nullopt;
  return t.shape[1];
}

std::vector<Approximation> mpc::headApproxes(const Op &op,
                                             const CompileOptions &opts) {
  std::optional<int64_t> heads = softmaxHeads(op);
  if (!heads)
    return {};
  auto scoped = [&](const CompileOptions::NodeRule &r) {
    if (r.kind != ApproxKind::Softmax || !r.hasHeads())
      return false;
    llvm::Expected<llvm::GlobPattern> pattern =
        llvm::GlobPattern::create(r.glob);
    if (!pattern) {
      llvm::consumeError(pattern.takeError());
      return false;
    }
    return pattern->match(op.loc().onnxNode);
  };
  if (llvm::none_of(opts.nodeRules, scoped))
    return {};
  std::vector<Approximation> perHead;
  for (int64_t h = 0; h < *heads; ++h)
    perHead.push_back(approxOfHead(op, opts, h));
  return perHead;
}

llvm::Error mpc::checkNodeRules(const Graph &g, const CompileOptions &opts) {
  for (const CompileOptions::NodeRule &r : opts.nodeRules) {
    // The pattern was checked when the rule was made (applyApproxSpec).
    llvm::Expected<llvm::GlobPattern> pattern =
        llvm::GlobPattern::create(r.glob);
    if (!pattern)
      return pattern.takeError();
    std::vector<std::string> nodes; // Of the rule's kind, for the hint.
    bool matched = false;
    for (const auto &op : g.ops()) {
      if (approxKindOf(*op) != r.kind)
        continue;
      const std::string &node = op->loc().onnxNode;
      if (pattern->match(node)) {
        matched = true;
        if (llvm::Error e = checkHeads(*op, r))
          return e;
        continue;
      }
      if (!node.empty() && !llvm::is_contained(nodes, node))
        nodes.push_back(node);
    }
    if (matched)
      continue;
    std::string kind = rt::approxKindName(r.kind).str();
    std::string part = rulePart(r);
    if (nodes.empty())
      return error("--approx: '{}': the model has no {} op for the pattern "
                   "'{}' to match",
                   part, kind, r.glob);
    constexpr size_t kShown = 3;
    std::string shown;
    for (size_t i = 0; i < std::min(nodes.size(), kShown); ++i)
      shown += fmt::format("{}'{}'", i ? ", " : "", nodes[i]);
    if (nodes.size() > kShown)
      shown += fmt::format(" and {} more", nodes.size() - kShown);
    return error("--approx: '{}': the pattern '{}' matches no {} op of the "
                 "model, whose {} ops are {}",
                 part, r.glob, kind, kind, shown);
  }
  return llvm::Error::success();
}

std::string CompileOptions::NodeRule::scope() const {
  if (!hasHeads())
    return glob;
  return headLo == headHi ? fmt::format("{}#{}", glob, headLo)
                          : fmt::format("{}#{}-{}", glob, headLo, headHi);
}

rt::Approximation CompileOptions::approxFor(rt::ApproxKind kind,
                                            llvm::StringRef node,
                                            int64_t head) const {
  for (const NodeRule &r : llvm::reverse(nodeRules)) {
    if (r.kind != kind)
      continue;
    if (r.hasHeads() && !(head >= r.headLo && head <= r.headHi))
      continue;
    // The pattern was checked when the rule was made (applyApproxSpec).
    llvm::Expected<llvm::GlobPattern> pattern =
        llvm::GlobPattern::create(r.glob);
    if (!pattern) {
      llvm::consumeError(pattern.takeError());
      continue;
    }
    if (pattern->match(node))
      return r.approx;
  }
  auto it = approx.find(kind);
  return it == approx.end() ? rt::defaultApprox(kind) : it->second;
}

std::vector<rt::Approximation>
CompileOptions::approxChoices(rt::ApproxKind kind) const {
  std::vector<rt::Approximation> all = {approxFor(kind)};
  for (const NodeRule &r : nodeRules)
    if (r.kind == kind && !llvm::is_contained(all, r.approx))
      all.push_back(r.approx);
  return all;
}

std::string mpc::approxMenu(bool withCost, const CompileOptions &opts) {
  std::string s = "presets:\n";
  for (const ApproxPreset &p : approxPresets())
    s += fmt::format("  {:<12} {}\n", p.name, p.summary);
  if (withCost)
    s += fmt::format(
        "Per kind: the input domain where the max error holds (LayerNorm: "
        "the rows' variance + eps, the domain of its rsqrt; for entries "
        "that need a trained model, the error is against their own formula, "
        "not the function they replace); cost on a row "
        "of {} at --frac-bits {} and --range-bits {}: rounds, and bytes per "
        "element online (both directions) and from the dealer (both "
        "parties). A plan's own cost: `mpcc report`.\n",
        rt::kApproxCostRow, opts.fracBits, opts.rangeBits);
  for (ApproxKind k : rt::perOpApproxKinds()) {
    std::string kind = rt::approxKindName(k).str() + "=NAME";
    if (withCost)
      s += fmt::format("{:<14} {:<20} {:>9} {:>6} {:>7} {:>7}  {}\n", kind,
                       "domain", "max error", "rounds", "online", "dealer",
                       "source");
    else
      s += kind + ":\n";
    for (const rt::ApproxInfo *a : rt::approxesOf(k)) {
      std::string notes =
          std::string(a->isDefault ? ", default" : "") +
          (a->needsTraining ? ", needs a model trained with it (error "
                              "against its own formula)"
                            : "");
      ApproxDomain d = approxDomain(a->id);
      std::string domain = fmt::format("[{:.3g}, {:.3g}]", d.lo, d.hi);
      if (!withCost) {
        s +=
            fmt::format("  {:<12} {} {}, max error {:g}{} ({})\n", a->shortName,
                        d.what, domain, a->maxAbsErr, notes, a->source);
        continue;
      }
      rt::Cost c = rt::approxRowCost(a->id, opts.fracBits, opts.rangeBits);
      double row = double(rt::kApproxCostRow);
      // A Transformer's GeLU reads a linear layer's product: the entries
      // differ in taking its truncation into their first round.
      if (k == ApproxKind::Gelu) {
        const int64_t shape[] = {1, rt::kApproxCostRow};
        rt::Cost p = rt::geluAfterProductCost(a->id, opts.fracBits,
                                              opts.rangeBits, shape);
        notes += fmt::format("; after a linear layer, with its truncation: "
                             "{} rounds, {:.0f} online, {:.0f} dealer",
                             p.rounds, double(p.bytes01 + p.bytes10) / row,
                             double(p.dealerBytes0 + p.dealerBytes1) / row);
      }
      s += fmt::format(
          "  {:<12} {:<20} {:>9.2g} {:>6} {:>7.0f} {:>7.0f}  {}{}\n",
          a->shortName, domain, a->maxAbsErr, c.rounds,
          double(c.bytes01 + c.bytes10) / row,
          double(c.dealerBytes0 + c.dealerBytes1) / row, a->source, notes);
    }
  }
  return s;
}
