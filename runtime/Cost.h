//===- runtime/Cost.h - What a protocol costs -------------------*- C++ -*-===//
//
// Every protocol kernel states its cost next to its code: rounds, online
// bytes each way, dealer bytes to each party (offline), per-session set-up
// bytes and local multiply-accumulates. The compiler's cost report, the
// dealer and the runtime profiler read these same numbers, and tests assert
// that measured bytes and rounds equal them exactly. One protocol, the
// embedding lookup (protocols/Embedding.h), also has the dealer online:
// party 1 sends it DPF keys and it answers party 0, on the dealer's links;
// those bytes have their own two fields, and `rounds` stays the rounds of
// the link between the parties.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <cstdint>

namespace mpc::rt {

struct Cost {
  uint64_t rounds = 0;
  uint64_t bytes01 = 0;      ///< Online bytes party 0 -> party 1.
  uint64_t bytes10 = 0;      ///< Online bytes party 1 -> party 0.
  uint64_t dealerBytes0 = 0; ///< Offline: dealer -> party 0.
  uint64_t dealerBytes1 = 0; ///< Offline: dealer -> party 1.
  uint64_t setupBytes01 = 0; ///< Per-session set-up, party 0 -> party 1.
  uint64_t bytes1D = 0;      ///< Online: party 1 -> dealer.
  uint64_t bytesD0 = 0;      ///< Online: dealer -> party 0.
  double macs = 0; ///< Local ring multiply-accumulates of matrix products.
  /// Local element-wise work (largest party): one unit per element per
  /// term a premasked program evaluates, per sign-test leaf, per element of
  /// an element-wise product. Memory-bound, so priced apart from macs.
  double elemOps = 0;

  /// Sequential composition: rounds add.
  Cost &then(const Cost &o) {
    rounds += o.rounds;
    addVolumes(o);
    return *this;
  }
  /// Parallel composition (same round): rounds are the max.
  Cost &alongside(const Cost &o) {
    rounds = std::max(rounds, o.rounds);
    addVolumes(o);
    return *this;
  }
  /// \p times sequential repetitions.
  Cost repeated(uint64_t times) const {
    Cost c;
    for (uint64_t i = 0; i < times; ++i)
      c.then(*this);
    return c;
  }
  bool sameTraffic(const Cost &o) const {
    return rounds == o.rounds && bytes01 == o.bytes01 && bytes10 == o.bytes10 &&
           dealerBytes0 == o.dealerBytes0 && dealerBytes1 == o.dealerBytes1 &&
           setupBytes01 == o.setupBytes01 && bytes1D == o.bytes1D &&
           bytesD0 == o.bytesD0;
  }

private:
  void addVolumes(const Cost &o) {
    bytes01 += o.bytes01;
    bytes10 += o.bytes10;
    dealerBytes0 += o.dealerBytes0;
    dealerBytes1 += o.dealerBytes1;
    setupBytes01 += o.setupBytes01;
    bytes1D += o.bytes1D;
    bytesD0 += o.bytesD0;
    macs += o.macs;
    elemOps += o.elemOps;
  }
};

/// Bytes of \p n ring words.
inline uint64_t wordBytes(uint64_t n) { return n * 8; }
/// Bytes of \p n bits packed into 64-bit words.
inline uint64_t bitBytes(uint64_t n) { return ((n + 63) / 64) * 8; }

} // namespace mpc::rt
