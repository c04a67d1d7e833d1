//===- runtime/protocols/FxProgram.h - Premasked programs -------*- C++ -*-===//
//
// The engine under the nonlinear protocols (Nonlinear.h). A nonlinear
// function is written once as a straight-line *program* over element-wise
// tensors of n elements, in stages; each stage runs local polynomial steps
// and then ONE exchange that opens or truncates a batch of values.
//
// The idea that saves rounds: a value produced by an exchange is *premasked*.
//   - open:     v = D + a, with D = v - a opened and a a dealt random mask;
//   - truncate: the MSB-trick truncation of Trunc.h opens
//               c = z + 2^(L-2) + r mod 2^L (L bits each way, for a value
//               the program bounds by |z| < 2^(L-2); L = 64 otherwise);
//               its result is v = D - sel with D = floor(c/2^b) - 2^(L-2-b)
//               public and sel = rHigh or rWrap (picked by msb(c)), so v is
//               premasked with mask A = -sel, one of two dealt candidates;
//   - bits:     an XOR-shared bit b, opened as c = b ^ rho, equals
//               c + (1 - 2c) rho: premasked with candidates rho / -rho.
//   - sines:    a phase y (turns in a ring of L bits) opened as
//               delta = y + t mod 2^L, t dealt uniform mod 2^L; with the
//               dealt shares of cos and sin of 2 pi k t / 2^L, a series
//               sum_k c_k sin(2 pi k y / 2^L) is a public combination of
//               them (SineSpec). Its result is a raw share, not premasked.
// A product of premasked values  prod_j (D_j + A_j)^e_j  expands into public
// multiples of products of masks, whose shares the dealer provides for
// every combination of candidates. So any polynomial in premasked values is
// LOCAL, and a fixed-point multiply costs one round (its truncation), not
// two (Beaver opening + truncation). D is a function of what the exchange
// already opened, so nothing more is revealed.
//
// Exact mode (Builder(n, /*exact=*/true), `mpcc compile --exact-truncation`):
// a truncation by bits >= 1 is an exact floor. After its stage's exchange
// the borrow the MSB trick drops, b = [c mod 2^f < r mod 2^f], is computed
// for all the stage's exact truncations in one batch (a sign test of the
// public c against the dealer's r, Trunc.h, then bitToArith), subtracted,
// and the exact value is premasked afresh by opening v - a (64 bits): one
// candidate, a, which the dealer knows exactly (so known-mask comparisons
// and products need no case split). A stage with exact truncations takes
// 2 rounds + the tree's (0 for f <= 6, 1 for f <= 24, 2 above) more; the
// clear simulation is the same floor.
//
// The same Program drives the dealer (dealProgram), the parties (runStages)
// and the cost formula (stagesCost, materialCost), so they cannot disagree.
// Algorithms are written against Builder, whose Expr tracks fixed-point
// scales (Nonlinear*.cpp).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Corr.h"
#include "runtime/Cost.h"
#include "runtime/Proto.h"
#include "runtime/protocols/Compare.h"
#include "runtime/protocols/Trunc.h"

#include "llvm/ADT/SmallVector.h"

#include <array>
#include <map>
#include <memory>
#include <vector>

namespace mpc::rt::fx {

/// A monomial: (value id, exponent) pairs with ascending ids.
using Mono = llvm::SmallVector<std::pair<int, int>, 4>;

enum class ValKind : uint8_t {
  ArithInput,  ///< Shares set by the caller (raw).
  BitsInput,   ///< XOR-shared bits set by the caller.
  MaskedInput, ///< A premasked value exported by another program.
  Local,       ///< Raw shares computed by a local polynomial step.
  Opened,      ///< Premasked by a fresh random mask (1 candidate).
  Truncated,   ///< Premasked truncation result (2 candidates).
  OpenedBits,  ///< Premasked 0/1 integer from XOR-shared bits (2 candidates).
  Sines        ///< Raw shares of a sine series of an opened phase (SineSpec).
};

struct ValInfo {
  ValKind kind;
  int src = -1; ///< Item source value (Opened/Truncated/OpenedBits).
  int bits = 0; ///< Truncation bits.
  /// Truncation: the opening's ring (Trunc.h); Sines: the phase's ring L.
  int ringBits = kFullRingBits;
  int series = -1; ///< Sines: index into Program::sines.
  /// Truncation: exact (the borrow subtracted, re-premasked: 1 candidate).
  bool exact = false;
  int ncand = 0; ///< Mask candidates (0 for raw values).
  bool masked() const { return ncand > 0; }
};

/// One ingredient of a term's expansion (see Program::finalize).
struct ExpandEntry {
  u64 mult = 1;                   ///< Binomial multiplicity.
  llvm::SmallVector<int, 4> dExp; ///< Exponent of D per factor.
  enum Src : uint8_t { Const, Cand, Product } src = Const;
  int index = -1; ///< Value id (Cand) or product id.
};

struct Term {
  u64 coef = 0;
  Mono mono;                       ///< Empty: a constant (party 0 adds it).
  std::vector<ExpandEntry> expand; ///< Filled by finalize for masked terms.
};

/// out = elemFactor * (sum of terms) + elemAdd, computed locally; the two
/// optional element-wise tensors are public slots set at run time (elemAdd
/// is added by party 0 only, so it may also be a party-0-private value).
struct LocalStep {
  int out;
  std::vector<Term> terms;
  int elemFactor = -1;
  int elemAdd = -1;
};

struct Stage {
  std::vector<LocalStep> locals;
  std::vector<int> items; ///< Value ids produced by this stage's exchange.
};

/// A sine series of a phase y read as y / 2^L turns (L = the item's
/// ringBits): sum over harmonics k = 1..K of coef[k-1] sin(2 pi k y / 2^L),
/// a raw share at scale coefScale + maskScale. The opening of y + t mod 2^L
/// reveals nothing: t is uniform mod 2^L and independent of y, so the
/// opened value is uniform whatever y is. With delta public,
///   sin(2 pi k (delta - t)/2^L) = sin(2 pi k delta/2^L) cos(2 pi k t/2^L)
///                               - cos(2 pi k delta/2^L) sin(2 pi k t/2^L),
/// the dealt cos/sin terms at maskScale and the public factors (times
/// coef[k-1]) rounded to coefScale: local. The public factors come from
/// integer arithmetic only (sinTurns), so both parties round them alike on
/// any machine.
struct SineSpec {
  std::vector<double> coef;
  int coefScale = 0, maskScale = 0;
  int harmonics() const { return int(coef.size()); }
};

/// sin(2 pi u / 2^ringBits) at scale 2^62, from integer arithmetic only
/// (the phase's top 32 bits, a degree-17 series per quadrant: error below
/// 2^-28 of a unit, deterministic on every machine).
i64 sinTurns(u64 u, int ringBits);
/// round(c * s 2^scale) for s = sinTurns(...) / 2^62, c read at 2^-40,
/// from integers only.
i64 scaleTurns(double c, i64 s, int scale);

/// A dealt product of masks: the factors (value id, exponent) and, per
/// combination of the factors' candidates, one dealt tensor.
struct ProductSpec {
  Mono factors;
  int combos = 1;
};

class Program {
public:
  int64_t n = 0;
  int numPublic = 0; ///< Public element-wise slots (LocalStep).
  std::vector<ValInfo> vals;
  std::vector<Stage> stages;
  std::vector<ProductSpec> products;
  std::vector<SineSpec> sines; ///< Indexed by ValInfo::series.

  int numStages() const { return int(stages.size()); }
  /// Expands every masked term and registers the dealt products.
  void finalize();
};

// --- Dealer material ---------------------------------------------------------

struct ItemMat {
  Dealt a;               ///< Opened, exact Truncated: the (fresh) mask.
  Dealt r, rHigh, rWrap; ///< Truncated.
  Dealt rhoBits, rho;    ///< OpenedBits: XOR and arithmetic shares.
  /// Sines (a holds t): per harmonic k, cos and sin of 2 pi k t / 2^L at
  /// the series' maskScale.
  std::vector<Dealt> cosT, sinT;
};

/// A premasked value outside its program: v = D + cand[sel], per element.
struct MaskedView {
  RingTensor d;
  std::vector<uint8_t> sel; ///< Empty when there is one candidate.
  RingTensor cand[2];       ///< This party's shares of the candidates.
  int ncand = 1;
};

/// The borrows of one stage's exact truncations, all in one batch.
struct StageExactMat {
  LtzBitsMat borrow;
  BitToArithMat b2a;
};

struct Mat {
  std::shared_ptr<const Program> prog;
  std::vector<ItemMat> items;               ///< Indexed by value id.
  std::vector<StageExactMat> stageExact;    ///< Indexed by stage.
  std::vector<std::vector<Dealt>> products; ///< Per product, per combo.
  /// Dealer only: the candidate mask values, per masked value id.
  std::vector<std::array<RingTensor, 2>> candValues;
};

/// Deals a program's material. \p maskedInputs gives, on the dealer, the
/// candidate values of each MaskedInput (in value-id order; a second
/// candidate left empty is the first: an exact truncation's one-candidate
/// value read where two are declared); parties pass empty tensors. Order:
/// items by value id, the stages' exact-truncation borrows, then products.
Mat dealProgram(Corr &c, std::shared_ptr<const Program> prog,
                llvm::ArrayRef<std::array<RingTensor, 2>> maskedInputs = {});

/// Dealer bytes of a program's material (to party 1).
Cost materialCost(const Program &prog);
/// Rounds and online bytes of stages [from, to).
Cost stagesCost(const Program &prog, int from, int to);
/// Both: the whole program.
Cost programCost(const Program &prog);

// --- Running -----------------------------------------------------------------

/// One party's values while a program runs.
struct State {
  std::vector<RingTensor> share; ///< Per value: this party's share.
  std::vector<MaskedView> masked;
  std::vector<SharedBits> bits;
  std::vector<RingTensor> publics; ///< Public slots (n elements each).
  explicit State(const Program &prog);
};

void setArith(State &s, int id, RingTensor share);
void setBits(State &s, int id, SharedBits bits);
/// A one-candidate view may feed a two-candidate MaskedInput (both
/// candidates are then its one).
void setMasked(State &s, int id, MaskedView view);
void setPublic(State &s, int slot, RingTensor t);
/// The premasked view of a masked value (to feed another program).
MaskedView viewOf(const State &s, int id);
/// Broadcasts a view of shape \p from (numpy rules) to \p to.
MaskedView broadcastView(const MaskedView &v, llvm::ArrayRef<int64_t> from,
                         llvm::ArrayRef<int64_t> to);
/// Dealer: candidate values of a masked value, broadcast likewise.
std::array<RingTensor, 2> broadcastCands(const std::array<RingTensor, 2> &c,
                                         llvm::ArrayRef<int64_t> from,
                                         llvm::ArrayRef<int64_t> to);

/// Runs stages [from, to): their local steps and exchanges.
Proto<int> runStages(Party &p, const Mat &m, State &s, int from, int to);

// --- Simulating --------------------------------------------------------------

/// The fourth reader: a program on clear ring values (n elements each), the
/// protocol with every mask zero. Inputs: ArithInput and MaskedInput the
/// value, BitsInput the bit as a ring 0/1.
struct Clear {
  std::vector<RingTensor> val; ///< Per value id.
  std::vector<RingTensor> publics;
  explicit Clear(const Program &prog);
};
/// Runs stages [from, to) on clear values: each local step in the ring as
/// the parties compute it; an opening and an opened bit are the value; an
/// exact truncation is its opening's public part with a zero mask, i.e.
/// floor(z / 2^bits) for |z| < 2^(ringBits-2), what the protocol gives;
/// a one-round truncation (the protocol gives the floor or one more,
/// Trunc.h) is the nearest integer, floor((z + 2^(bits-1)) / 2^bits), the
/// rounding of its expected value, or within a RandomTruncation scope
/// drawn as the protocol gives it. Outside that range both the protocol's
/// result and this are ring garbage.
void simulateStages(const Program &prog, Clear &s, int from, int to);

/// While an instance lives, simulateStages on this thread draws each
/// one-round truncation as the protocol gives it (the floor, or one more
/// with probability the fraction dropped) from a generator seeded with
/// \p seed, instead of rounding it to nearest: the secure run's rounding
/// noise, for a caller that estimates it (driver/ApproxAuto.h). A scope
/// rather than a parameter because the clear programs are run deep inside
/// each protocol's simulate* function. Scopes do not nest.
class RandomTruncation {
public:
  explicit RandomTruncation(uint64_t seed);
  ~RandomTruncation();
  RandomTruncation(const RandomTruncation &) = delete;
  RandomTruncation &operator=(const RandomTruncation &) = delete;
};
/// All stages.
void simulateProgram(const Program &prog, Clear &s);

// --- Building programs -------------------------------------------------------

/// A polynomial over program values with ring coefficients, all terms at
/// fixed-point scale `scale`. Raw (unmasked) values may appear in degree-1
/// terms only.
struct Expr {
  int scale = 0;
  std::map<Mono, u64> terms;
};

Expr operator+(Expr a, const Expr &b);
Expr operator-(Expr a, const Expr &b);
Expr operator*(const Expr &a, const Expr &b);
Expr operator-(Expr a);

class Builder {
public:
  /// With \p exact, every trunc by bits >= 1 is an exact floor (see above).
  explicit Builder(int64_t n, bool exact = false);

  int arithInput();
  int bitsInput();
  int maskedInput(int ncand);

  /// Value \p id as an Expr at \p scale (its fixed-point fraction bits).
  Expr var(int id, int scale) const;
  /// round(c * 2^scale) as an Expr.
  static Expr constant(double c, int scale);
  /// \p e times round(c * 2^fc): scale grows by fc.
  static Expr mulConst(Expr e, double c, int fc);
  /// \p e times the ring integer k (scale unchanged).
  static Expr mulInt(Expr e, i64 k);
  /// The same ring terms read at scale + d (i.e. the value divided by 2^d).
  static Expr reinterpret(Expr e, int d);
  /// Aligns to a larger scale by multiplying with 2^(to - scale).
  static Expr alignTo(Expr e, int to);

  /// A public element-wise slot for local steps.
  int publicSlot();
  /// Materialises \p e in the current stage; returns a raw value id. With
  /// slots: elemFactor * e + elemAdd (party 0 adds).
  int local(const Expr &e, int elemFactor = -1, int elemAdd = -1);
  /// Items of the current stage's exchange; usable from the next stage.
  int open(int rawId);
  /// Truncates by \p bits; \p ringBits < 64 opens in a narrower ring and
  /// is only right where |value| < 2^(ringBits-2) at the raw scale (values
  /// outside it are garbage, as a polynomial segment's may be where its
  /// selector bit is 0). bits = 0 with ringBits < 64 premasks a bounded
  /// value for ringBits bits each way instead of open()'s 64.
  int trunc(int rawId, int bits, int ringBits = kFullRingBits);
  /// The ring for a value bounded by |value| <= 2^log2Bound at scale
  /// \p scale: with one bit of margin for the truncation's +1 and rounding.
  static int ringFor(double log2Bound, int scale);
  int openBits(int bitsId);
  /// A sine series (SineSpec) of the raw value \p rawId read as turns in a
  /// ring of \p ringBits bits (the ring's wrap is a whole period, so the
  /// value may be any ring element); a raw value at scale coefScale +
  /// maskScale, usable from the next stage.
  int sines(int rawId, int ringBits, SineSpec spec);
  /// openBits in an earlier (or the current) stage \p st.
  int openBitsIn(int bitsId, int st);
  /// Closes the current stage.
  void nextStage();
  int stage() const { return int(prog_->stages.size()) - 1; }
  std::shared_ptr<const Program> finish();
  const Program &program() const { return *prog_; }

private:
  std::shared_ptr<Program> prog_;
  std::vector<int> availFrom_; ///< First stage a value can be used in.
  bool exact_ = false;
};

} // namespace mpc::rt::fx
