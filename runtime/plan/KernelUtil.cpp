//===- runtime/plan/KernelUtil.cpp - Helpers for writing kernels ----------===//
//
// The checks kernels share, and the local kernels' visibility rule: which
// party computes an output, and in which form each operand enters.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/KernelUtil.h"

using namespace mpc;
using namespace mpc::rt;

std::string mpc::rt::inName(int i) { return fmt::format("input {}", i); }
std::string mpc::rt::outName(int i) { return fmt::format("output {}", i); }

llvm::Error mpc::rt::checkArity(const OpDesc &op, size_t nin, size_t nout,
                                bool variadic) {
  if (variadic ? op.in.size() < nin : op.in.size() != nin)
    return opError(op, "takes {}{} input(s), the plan gives {}",
                   variadic ? "at least " : "", nin, op.in.size());
  if (op.out.size() != nout)
    return opError(op, "has {} output(s), the plan gives {}", nout,
                   op.out.size());
  return llvm::Error::success();
}

llvm::Error mpc::rt::checkShape(const OpDesc &op, const ValueDesc &v,
                                llvm::ArrayRef<int64_t> shape,
                                llvm::StringRef what) {
  if (llvm::ArrayRef<int64_t>(v.shape) != shape)
    return opError(op, "{} ({}) has shape {}, expected {}", what.str(),
                   v.describe(), shapeString(v.shape), shapeString(shape));
  return llvm::Error::success();
}

llvm::Error mpc::rt::checkFrac(const OpDesc &op, const ValueDesc &v, int frac,
                               llvm::StringRef what) {
  if (v.frac != frac)
    return opError(op, "{} ({}) has {} fractional bits, expected {}",
                   what.str(), v.describe(), v.frac, frac);
  return llvm::Error::success();
}

llvm::Error mpc::rt::checkVis(const OpDesc &op, const ValueDesc &v,
                              std::initializer_list<Vis> allowed,
                              llvm::StringRef what) {
  for (Vis a : allowed)
    if (v.vis == a)
      return llvm::Error::success();
  std::string names;
  for (Vis a : allowed)
    names += (names.empty() ? "" : " or ") + visName(a).str();
  return opError(op, "{} ({}) must be {}", what.str(), v.describe(), names);
}

llvm::Error mpc::rt::checkSecret(const OpDesc &op, const ValueDesc &v,
                                 llvm::StringRef what) {
  return checkVis(op, v, {Vis::Shared, Vis::Private0, Vis::Private1}, what);
}

llvm::Error mpc::rt::checkFixed(const OpDesc &op, const ValueDesc &v,
                                llvm::StringRef what) {
  if (v.isInt)
    return opError(op, "{} ({}) must be fixed point, not integer", what.str(),
                   v.describe());
  return llvm::Error::success();
}

llvm::Error mpc::rt::checkWeight(const OpDesc &op, const ValueDesc &v,
                                 llvm::StringRef what) {
  if (v.vis != Vis::Private0 || v.source != ValueSource::Weight)
    return opError(op,
                   "{} ({}) must be a weight: a private0 value from the "
                   "weights file, not computed by an op",
                   what.str(), v.describe());
  return llvm::Error::success();
}

std::optional<Shape> mpc::rt::broadcastShapes(llvm::ArrayRef<int64_t> a,
                                              llvm::ArrayRef<int64_t> b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

bool mpc::rt::broadcastsTo(llvm::ArrayRef<int64_t> from,
                           llvm::ArrayRef<int64_t> to) {
  std::optional<Shape> b = broadcastShapes(from, to);
  return b && llvm::ArrayRef<int64_t>(*b) == to;
}

std::optional<int64_t> mpc::rt::normAxis(int64_t a, int64_t rank) {
  if (a < -rank || a >= rank)
    return std::nullopt;
  return a < 0 ? a + rank : a;
}

Proto<OpOutputs> mpc::rt::readyOutputs(OpOutputs outs) { co_return outs; }

// --- Local kernels -----------------------------------------------------------

llvm::Error LocalKernel::check(const OpDesc &op) const {
  if (llvm::Error e = checkOp(op))
    return e;
  for (size_t o = 0; o < op.out.size(); ++o) {
    const ValueDesc &out = *op.out[o];
    if (out.vis == Vis::Shared && !allowsShared())
      return opError(op, "{} ({}) cannot be shared: this map is not linear",
                     outName(o), out.describe());
    for (size_t i = 0; i < op.in.size(); ++i) {
      const ValueDesc &v = *op.in[i];
      if (clearOperand(i)) {
        if (llvm::Error e = checkVis(op, v, {Vis::Public}, inName(i)))
          return e;
        continue;
      }
      bool ok = true;
      switch (out.vis) {
      case Vis::Public:
        ok = v.vis == Vis::Public;
        break;
      case Vis::Private0:
        ok = v.vis == Vis::Public || v.vis == Vis::Private0;
        break;
      case Vis::Private1:
        ok = v.vis == Vis::Public || v.vis == Vis::Private1;
        break;
      case Vis::Shared:
        break;
      }
      if (!ok)
        return opError(op,
                       "{} is {} but {} ({}) is not visible to who computes "
                       "it",
                       outName(o), visName(out.vis), inName(i), v.describe());
    }
  }
  return llvm::Error::success();
}

Proto<OpOutputs> LocalKernel::run(Party &p, const OpDesc &op,
                                  llvm::ArrayRef<const RingTensor *> in,
                                  std::any &material, Session &s) const {
  // All outputs of a local op have one visibility in practice; compute once
  // if this party holds the first output.
  const ValueDesc &out = *op.out[0];
  if (!out.heldBy(p.id()))
    return readyOutputs(OpOutputs(op.out.size()));
  if (out.vis != Vis::Shared)
    return readyOutputs(compute(op, in));
  std::vector<RingTensor> forms(in.size());
  std::vector<const RingTensor *> ptrs(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (clearOperand(i)) {
      ptrs[i] = in[i];
      continue;
    }
    // Shares and owned values enter as they are (no copy); the non-owner
    // of a public or private value contributes zeros.
    const ValueDesc &v = *op.in[i];
    bool owner = v.vis == Vis::Shared ||
                 (v.vis == Vis::Public && p.id() == 0) ||
                 (v.vis == Vis::Private0 && p.id() == 0) ||
                 (v.vis == Vis::Private1 && p.id() == 1);
    if (owner) {
      ptrs[i] = in[i];
    } else {
      forms[i] = RingTensor(v.shape);
      ptrs[i] = &forms[i];
    }
  }
  return readyOutputs(compute(op, ptrs));
}
