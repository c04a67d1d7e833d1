//===- runtime/Prg.h - AES-128-CTR pseudo-random generator -----*- C++ -*-===//
//
// A seeded PRG (AES-128 in counter mode through OpenSSL EVP, which uses
// AES-NI). Two holders of the same seed draw the same stream: this is how
// dealer material is compressed (only correction terms travel) and how an
// input is secret-shared without sending anything.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Ring.h"

#include <array>
#include <cstdint>
#include <memory>

namespace mpc::rt {

using Seed = std::array<uint8_t, 16>;

/// A fresh seed from the OS (OpenSSL RAND_bytes).
Seed randomSeed();

class Prg {
public:
  explicit Prg(const Seed &seed);
  /// The same stream as Prg(seed), from byte \p startByte on: any part of
  /// a stream can be drawn alone.
  Prg(const Seed &seed, uint64_t startByte);
  ~Prg();
  Prg(Prg &&) noexcept;
  Prg &operator=(Prg &&) noexcept;

  /// Fills \p out with pseudo-random bytes, continuing the stream.
  void fill(void *out, size_t bytes);
  u64 next();
  /// A tensor of uniform ring elements.
  RingTensor tensor(llvm::ArrayRef<int64_t> shape);
  void fillWords(u64 *out, int64_t n) { fill(out, size_t(n) * 8); }

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace mpc::rt
