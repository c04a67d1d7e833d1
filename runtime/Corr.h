//===- runtime/Corr.h - Dealer material, compressed with seeds -*- C++ -*-===//
//
// Correlated randomness (Beaver triples, truncation pairs, comparison bits)
// comes from a dealer that never sees inputs, weights or outputs. Each party
// shares a PRG seed with the dealer; a party's share of a dealt value is
// expanded from its seed, and only the correction that makes the shares add
// up to the right value travels, always to party 1 (DESIGN.md §2).
//
// A protocol's "deal" function is written once and runs in all three roles:
// on the dealer it computes both shares and emits corrections; on party p it
// yields share p (from the PRG, or for party 1 from the correction stream).
//
// The stream runs through functions (CorrectionSink, CorrectionSource):
// in a run they are the dealer's channel to party 1, so each correction
// goes out as soon as it is made and arrives straight in the tensor that
// holds it; neither side holds an op's corrections in a buffer next to the
// tensors made from them (bert-base: up to 148 MB per side).
//
//   TruncPair dealTrunc(Corr &c, Shape s, int bits) {
//     Dealt r = c.random(s);                       // no bytes
//     Dealt hi = c.shareOf(s, [&] { return shiftRightLogical(c.value(r)); });
//     ...
//   }
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Prg.h"
#include "runtime/Ring.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mpc::rt {

enum class Role : uint8_t { P0 = 0, P1 = 1, Dealer = 2 };

/// Shares of a dealt tensor. On the dealer both are set; on party p only
/// s[p]. Arithmetic shares add mod 2^64; bit shares (xor*) XOR word-wise.
struct Dealt {
  RingTensor s[2];
  const RingTensor &mine(int party) const { return s[party]; }
};

/// Takes the dealer's corrections for party 1, in order, as they are made.
using CorrectionSink = std::function<llvm::Error(llvm::ArrayRef<u64>)>;
/// Fills the next corrections party 1 consumes, in order.
using CorrectionSource = std::function<llvm::Error(llvm::MutableArrayRef<u64>)>;

class Corr {
public:
  /// The dealer: draws both PRG streams, gives corrections to \p toP1.
  static Corr dealer(const Seed &seed0, const Seed &seed1, CorrectionSink toP1);
  /// The dealer, appending corrections to \p toP1 (tests, benchmarks).
  static Corr dealer(const Seed &seed0, const Seed &seed1,
                     std::vector<u64> *toP1);
  /// Party \p id with its seed; party 1 reads corrections from setSource()
  /// or setInput().
  static Corr party(int id, const Seed &seed);

  Role role() const { return role_; }
  bool isDealer() const { return role_ == Role::Dealer; }

  /// Party 1: the next deal calls read at most \p words corrections from
  /// \p source (the dealer's output for the same sequence of deal calls).
  void setSource(size_t words, CorrectionSource source);
  /// Party 1: setSource over corrections already received (tests).
  void setInput(llvm::ArrayRef<u64> corrections);
  /// Party 1: words of the current source not yet consumed (0 when in sync).
  size_t remainingInput() const { return sourceLeft_; }
  /// Party 1: a deal call wanted more corrections than the source held (the
  /// deal sequence differs from the dealer's). Those reads returned zeros
  /// and consumed nothing; the flag stays set.
  bool outOfSync() const { return outOfSync_; }
  /// The first failure of the sink or source since the last call (later
  /// deal calls neither send nor read; party 1's shares are then zeros),
  /// or success. Check it after each op's deal.
  llvm::Error takeStreamError();

  /// Additive shares of a uniformly random value. Costs no bytes.
  Dealt random(llvm::ArrayRef<int64_t> shape);
  /// Additive shares of value(), which only the dealer evaluates: share 0
  /// from PRG 0, share 1 = value - share 0 sent to party 1.
  Dealt shareOf(llvm::ArrayRef<int64_t> shape,
                llvm::function_ref<RingTensor()> value);
  /// A uniformly random tensor known to \p owner and the dealer only.
  RingTensor privateRandom(int owner, llvm::ArrayRef<int64_t> shape);

  /// XOR shares of random words / of value() (bit-packed tensors).
  Dealt randomBits(llvm::ArrayRef<int64_t> shape);
  Dealt xorShareOf(llvm::ArrayRef<int64_t> shape,
                   llvm::function_ref<RingTensor()> value);

  /// Dealer only: the value behind arithmetic / XOR shares.
  static RingTensor value(const Dealt &d);
  static RingTensor xorValue(const Dealt &d);

  /// Words of corrections this object emitted (dealer) or consumed (P1).
  uint64_t correctionWords() const { return correctionWords_; }

private:
  Corr(Role role) : role_(role) {}
  RingTensor takeCorrection(llvm::ArrayRef<int64_t> shape);
  /// shareOf / xorShareOf: share 0 from PRG 0, share 1 the correction.
  Dealt dealShares(llvm::ArrayRef<int64_t> shape,
                   llvm::function_ref<RingTensor()> value, bool xorShares);

  Role role_;
  std::optional<Prg> prg_[2];
  CorrectionSink sink_;
  CorrectionSource source_;
  size_t sourceLeft_ = 0;
  std::optional<std::string> streamError_;
  uint64_t correctionWords_ = 0;
  bool outOfSync_ = false;
};

} // namespace mpc::rt
