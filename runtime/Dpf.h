//===- runtime/Dpf.h - Distributed point functions -------------*- C++ -*-===//
//
// A two-party distributed point function (Boyle, Gilboa, Ishai, "Function
// Secret Sharing: Improvements and Extensions", CCS 2016, fig. 1; the one
// SIGMA and Orca use): dpfGen(domain, alpha) gives two keys k0, k1 such that
// for every x in [0, domain)
//
//   dpfEval(k0, x) + dpfEval(k1, x) = [x == alpha]   (mod 2^64),
//
// and each key alone is pseudorandom: it says nothing about alpha. A key is
// a 128-bit seed, one correction word (128 bits + 2 bits) per level of the
// binary tree over the domain (ceil(log2 domain) levels) and one final ring
// word, so it is O(log domain) bytes while dpfFullEval expands it to all
// `domain` outputs. The secure embedding lookup (runtime/protocols/
// Embedding.cpp) uses it as a 2-server PIR index.
//
// The PRG G(s) = (AES_kL(s) ^ s, AES_kR(s) ^ s) is fixed-key AES-128 in
// Matyas-Meyer-Oseas mode (public keys; the usual correlation-robust
// instantiation), run through OpenSSL EVP on whole levels of blocks at once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Ring.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace mpc::rt {

/// The largest domain a key may cover (2^40 outputs: far beyond any
/// vocabulary, and small enough that a hostile key cannot ask for an absurd
/// number of levels).
constexpr uint64_t kDpfMaxDomain = uint64_t(1) << 40;

struct DpfKey {
  using Block = std::array<uint8_t, 16>;
  int party = 0;       ///< 0 or 1: the sign of the output and the root t bit.
  uint64_t domain = 1; ///< Outputs are indexed by [0, domain).
  Block seed{};
  std::vector<Block> cwSeed; ///< One seed correction per level.
  std::vector<uint8_t> cwT;  ///< Per level: bit 0 the left t, bit 1 the right.
  u64 cwOut = 0;             ///< The final (output) correction word.
};

/// Levels of the tree over [0, domain): ceil(log2 domain), 0 for domain 1.
int dpfLevels(uint64_t domain);
/// Bytes of a serialized key: seed, level corrections, their t bits packed
/// into 64-bit words, final word. Always a multiple of 8.
uint64_t dpfKeyBytes(uint64_t domain);

/// Keys of [x == alpha] (value 1) over [0, domain); alpha < domain,
/// 1 <= domain <= kDpfMaxDomain. Root seeds from the OS (randomSeed).
std::pair<DpfKey, DpfKey> dpfGen(uint64_t domain, uint64_t alpha);

/// This key's share of [x == alpha] at one point x < domain.
u64 dpfEval(const DpfKey &k, uint64_t x);
/// This key's shares at every x in [0, domain), into \p out (domain words).
void dpfFullEval(const DpfKey &k, u64 *out);
std::vector<u64> dpfFullEval(const DpfKey &k);

/// Appends the key's dpfKeyBytes(domain) bytes to \p out (little-endian).
void serializeDpfKey(const DpfKey &k, std::vector<uint8_t> &out);
/// Reads a key for \p party over [0, domain) from exactly dpfKeyBytes(domain)
/// bytes. Every bit pattern of the seeds and words is a valid key; a wrong
/// size, a domain out of range or set padding bits is an error.
llvm::Expected<DpfKey> parseDpfKey(int party, uint64_t domain,
                                   llvm::ArrayRef<uint8_t> bytes);

} // namespace mpc::rt
