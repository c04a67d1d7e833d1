//===- runtime/protocols/ApproxCost.h - Each entry's price -----*- C++ -*-===//
//
// The cost of each menu entry on a typical row, from the protocols' own
// cost formulas (the ones the two-party tests compare with measured bytes
// and rounds). `mpcc compile --approx list` prints it; the cost of a
// compiled plan (narrowed rings, truncations fused into GeLU, the model's
// shapes) is its kernels' cost, in `mpcc report`.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Cost.h"
#include "runtime/protocols/Approx.h"
#include "runtime/protocols/Nonlinear.h"

#include <cstdint>
#include <variant>
#include <vector>

namespace mpc::rt {

/// The row the menu prices: softmax over 128 scores (a sequence of 128),
/// LayerNorm over 128 features, element-wise kinds on 128 elements.
constexpr int64_t kApproxCostRow = 128;

/// Entry \p a's parameters as the compiler gives them for activations
/// |x| < 2^rangeBits at \p frac fractional bits (comparison widths,
/// softmax's input bits), the entry's defaults otherwise; LayerNorm with a
/// private gain and bias; \p exact: every truncation exact (the plans of
/// `mpcc compile --exact-truncation`).
using ApproxParams =
    std::variant<GeluParams, TanhParams, SoftmaxParams, LayerNormParams,
                 ExpParams, ReciprocalParams, RsqrtParams>;
ApproxParams approxParams(Approximation a, int frac, int rangeBits,
                          bool exact = false);

/// The cost of entry \p a on one row of kApproxCostRow elements, with
/// approxParams(a, frac, rangeBits).
Cost approxRowCost(Approximation a, int frac, int rangeBits);

/// The cost of entry \p a on an op's input of \p shape (the kind's axis
/// last), with approxParams(a, frac, rangeBits, exact): what --approx auto
/// prices.
Cost approxCost(Approximation a, int frac, int rangeBits,
                llvm::ArrayRef<int64_t> shape, bool exact = false);

/// The cost of GeLU entry \p a on the output of a linear layer (input
/// \p shape), as the compiler lowers it (passes/FuseGeluInput.cpp): the
/// product arrives at 2 frac; an entry that compares (geluCompares) takes
/// its truncation into its own first round, any other pays the separate
/// truncation (in the ring NarrowRings gives it) first. --approx auto
/// prices a GeLU after a product so, since that is where a plan has it.
Cost geluAfterProductCost(Approximation a, int frac, int rangeBits,
                          llvm::ArrayRef<int64_t> shape, bool exact = false);
/// The same in its two ops, as a plan runs them: the separate truncation
/// (empty where the entry takes it into its first round), then the GeLU
/// (priced apart where each kernel's local work has its own rate).
struct GeluAfterProductCosts {
  Cost trunc, gelu;
};
GeluAfterProductCosts geluAfterProductCosts(Approximation a, int frac,
                                            int rangeBits,
                                            llvm::ArrayRef<int64_t> shape,
                                            bool exact = false);

/// Whether the protocols support entry \p a on such a row with
/// approxParams(a, frac, rangeBits): the compiler checks --frac-bits and
/// --range-bits with it before it reads a model, so that it never writes
/// a plan the runtime refuses for them.
/// With \p exact, as --exact-truncation runs it (an entry may have no
/// exact mode).
llvm::Error validateApproxRow(Approximation a, int frac, int rangeBits,
                              bool exact = false);
/// The same on an op's input of \p shape (the kind's axis last): the
/// compiler's lowering asks it for each op it gives an approximation, so a
/// row length an entry cannot take (softmax.crypten's row sums beyond its
/// reciprocal's domain) is refused naming the op.
llvm::Error validateApprox(Approximation a, int frac, int rangeBits,
                           llvm::ArrayRef<int64_t> shape, bool exact = false);

/// What an entry takes besides its input: LayerNorm's gain and bias (over
/// the last axis, empty for none), softmax's 0/1 key mask (broadcast to
/// the input, empty for none; the entries without a max take it).
struct ApproxOperands {
  std::vector<double> gamma, beta;
  std::vector<double> mask;
  std::vector<int64_t> maskShape;
};

/// The secure protocol of an entry with parameters \p p (approxParams, or a
/// plan's) on clear inputs \p x of \p shape: the protocol's own programs
/// on clear fixed-point values (Nonlinear.h, simulate*), decoded. It is
/// the two-party result up to the truncations' rounding. Refuses what
/// the protocol refuses (validate*), naming the parameter.
llvm::Expected<std::vector<double>>
simulateApprox(const ApproxParams &p, llvm::ArrayRef<double> x,
               llvm::ArrayRef<int64_t> shape, const ApproxOperands &ops = {});

} // namespace mpc::rt
