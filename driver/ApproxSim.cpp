//===- driver/ApproxSim.cpp - The secure run's expected answer ------------===//

#include "driver/ApproxSim.h"

#include "ir/OpSchema.h"
#include "passes/ApproxChoice.h"
#include "runtime/protocols/ApproxCost.h"
#include "runtime/protocols/Nonlinear.h"
#include "support/Diag.h"
#include "support/ModelForms.h"

using namespace mpc;

bool ApproxSimulator::handles(const Op &op) const {
  return approxKindOf(op).has_value();
}

namespace {

std::vector<double> floatsOf(const HostTensor &t) {
  if (t.isFloat())
    return t.f;
  return std::vector<double>(t.i.begin(), t.i.end());
}

/// A gain or bias operand as one value per element of the last axis
/// (its shape broadcasts to the normalised axis: [d], [1] or scalar).
llvm::Expected<std::vector<double>> perColumn(const HostTensor &t, int64_t d,
                                              const char *what) {
  std::vector<double> v = floatsOf(t);
  if (int64_t(v.size()) == d)
    return v;
  if (v.size() == 1)
    return std::vector<double>(size_t(d), v[0]);
  return error("{} has {} values; the simulation takes one per element of "
               "the last axis ({})",
               what, v.size(), d);
}

} // namespace

llvm::Expected<std::vector<HostTensor>>
ApproxSimulator::simulate(const Op &op,
                          llvm::ArrayRef<const HostTensor *> operands) const {
  std::vector<rt::Approximation> perHead = headApproxes(op, opts_);
  if (perHead.empty())
    return simulateWith(op, approxOf(op, opts_), operands);
  // A softmax with per-head choices (passes/SplitHeads.cpp): each head's
  // rows with its own approximation, [batch, heads, queries, keys].
  const HostTensor &x = *operands[0];
  std::vector<double> in = floatsOf(x), out(in.size());
  int64_t batch = x.shape[0], heads = x.shape[1];
  int64_t block = x.shape[2] * x.shape[3]; // one head of one batch row
  for (int64_t first = 0, last; first < heads; first = last + 1) {
    last = first;
    while (last + 1 < heads && perHead[last + 1] == perHead[first])
      ++last;
    int64_t n = last - first + 1;
    HostTensor part =
        HostTensor::floats({batch, n, x.shape[2], x.shape[3]},
                           std::vector<double>(size_t(batch * n * block)));
    for (int64_t bi = 0; bi < batch; ++bi)
      std::copy_n(in.begin() + (bi * heads + first) * block, n * block,
                  part.f.begin() + bi * n * block);
    const HostTensor *partOperands[] = {&part};
    auto r = simulateWith(op, perHead[first], partOperands);
    if (!r)
      return r.takeError();
    const std::vector<double> &res = (*r)[0].f;
    for (int64_t bi = 0; bi < batch; ++bi)
      std::copy_n(res.begin() + bi * n * block, n * block,
                  out.begin() + (bi * heads + first) * block);
  }
  return std::vector<HostTensor>{HostTensor::floats(x.shape, std::move(out))};
}

llvm::Expected<std::vector<HostTensor>> ApproxSimulator::simulateWith(
    const Op &op, rt::Approximation a,
    llvm::ArrayRef<const HostTensor *> operands) const {
  auto fail = [&](const std::string &msg) {
    return diag(op.loc(), "{}: {}", op.name().str(), msg);
  };
  rt::ApproxParams params = rt::approxParams(a, opts_.fracBits, opts_.rangeBits,
                                             opts_.exactTruncation);
  const HostTensor &x = *operands[0];
  int64_t rank = int64_t(x.shape.size());
  int64_t d = x.shape.empty() ? 1 : x.shape.back();
  rt::ApproxOperands extra;
  if (op.kind() == OpKind::Softmax || op.kind() == OpKind::LayerNorm) {
    int64_t axis = op.getInt("axis", -1);
    if (axis != -1 && axis != rank - 1)
      return fail("the simulation reduces over the last axis only (as the "
                  "protocol does)");
  }
  if (auto *sp = std::get_if<rt::SoftmaxParams>(&params))
    sp->quadC = op.getFloat("c", kTwoQuadC);
  if (auto *lp = std::get_if<rt::LayerNormParams>(&params)) {
    lp->eps = op.getFloat("eps", kLayerNormDefaultEps);
    auto g = perColumn(*operands[1], d, "gamma");
    if (!g)
      return fail(llvm::toString(g.takeError()));
    auto b = perColumn(*operands[2], d, "beta");
    if (!b)
      return fail(llvm::toString(b.takeError()));
    extra.gamma = std::move(*g);
    extra.beta = std::move(*b);
  }
  std::vector<double> xs = floatsOf(x);
  if (op.kind() == OpKind::Softmax)
    // Masked entries as the secure run has them: lowering puts its own
    // mask bias in place of the model's fill (-inf, finfo.min, -1e9),
    // which is no fixed-point value to simulate. Each one's exp is 0
    // either way.
    for (double &v : xs)
      v = rt::softmaxMaskedValue(v, opts_.rangeBits);
  auto out = rt::simulateApprox(params, std::move(xs), x.shape, extra);
  if (!out)
    return fail(fmt::format("{} (simulating {})",
                            llvm::toString(out.takeError()),
                            rt::approxInfo(a).name));
  return std::vector<HostTensor>{HostTensor::floats(x.shape, std::move(*out))};
}
