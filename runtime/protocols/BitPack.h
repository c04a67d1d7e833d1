//===- runtime/protocols/BitPack.h - Dense bit streams -------*- C++ -*-===//
//
// Helpers of the comparison protocols. A "plane" holds one bit per element
// (element i is bit i % 64 of word i / 64, ceil(n / 64) words; bits past n
// are don't-care). Messages and dealer streams are packed densely: planes and
// fields are appended bit after bit with no per-plane padding, so n elements
// times b bits cost exactly ceil(n b / 64) words.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Ring.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <vector>

namespace mpc::rt::bits {

/// Words holding \p nbits bits.
inline int64_t wordsFor(int64_t nbits) { return (nbits + 63) / 64; }
/// The low \p w bits set (w in [0, 64]).
inline u64 lowMask(int w) { return w >= 64 ? ~u64(0) : (u64(1) << w) - 1; }
/// x >> s, 0 for s >= 64.
inline u64 shr(u64 x, int s) { return s >= 64 ? 0 : x >> s; }

/// Appends fields of 0..64 bits to a word vector.
class BitWriter {
public:
  explicit BitWriter(std::vector<u64> &out) : out_(out) {}
  /// Appends the low \p w bits of \p v (higher bits of v must be 0).
  void put(u64 v, int w) {
    assert(w >= 0 && w <= 64 && (w == 64 || (v >> w) == 0));
    if (w == 0)
      return;
    acc_ |= v << fill_;
    if (fill_ + w >= 64) {
      out_.push_back(acc_);
      int used = 64 - fill_;
      acc_ = used >= 64 ? 0 : v >> used;
      fill_ = fill_ + w - 64;
    } else {
      fill_ += w;
    }
  }
  /// Appends the first \p n bits of a plane.
  void putPlane(const u64 *plane, int64_t n) {
    int64_t full = n / 64;
    for (int64_t q = 0; q < full; ++q)
      put(plane[q], 64);
    if (int rest = int(n % 64))
      put(plane[full] & lowMask(rest), rest);
  }
  /// Flushes the last partial word.
  void finish() {
    if (fill_)
      out_.push_back(acc_);
    acc_ = 0;
    fill_ = 0;
  }

private:
  std::vector<u64> &out_;
  u64 acc_ = 0;
  int fill_ = 0;
};

/// Reads \p w bits (0..64) at bit \p pos of \p data (\p nwords long).
inline u64 readBits(const u64 *data, int64_t nwords, uint64_t pos, int w) {
  if (w == 0)
    return 0;
  int64_t word = int64_t(pos >> 6);
  int off = int(pos & 63);
  assert(word < nwords && "bit read past the end");
  u64 v = data[word] >> off;
  if (off && off + w > 64) {
    assert(word + 1 < nwords && "bit read past the end");
    v |= data[word + 1] << (64 - off);
  }
  return v & lowMask(w);
}

/// Sequential reader of fields.
class BitReader {
public:
  BitReader(const u64 *data, int64_t nwords, uint64_t pos = 0)
      : data_(data), nwords_(nwords), pos_(pos) {}
  u64 get(int w) {
    u64 v = readBits(data_, nwords_, pos_, w);
    pos_ += w;
    return v;
  }

private:
  const u64 *data_;
  int64_t nwords_;
  uint64_t pos_;
};

/// Copies \p n bits starting at bit \p pos into a plane of ceil(n/64) words.
inline void readPlane(const u64 *data, int64_t nwords, uint64_t pos, int64_t n,
                      u64 *plane) {
  int64_t full = n / 64;
  if ((pos & 63) == 0) {
    const u64 *src = data + (pos >> 6);
    for (int64_t q = 0; q < full; ++q)
      plane[q] = src[q];
  } else {
    for (int64_t q = 0; q < full; ++q)
      plane[q] = readBits(data, nwords, pos + uint64_t(q) * 64, 64);
  }
  if (int rest = int(n % 64))
    plane[full] = readBits(data, nwords, pos + uint64_t(full) * 64, rest);
}

/// Writes the low \p w bits (1..64) of value(i), i < n, at bit \p pos of
/// \p out, which must be zeroed from there on and hold the last field's
/// word. The fast path of narrow-ring messages (Narrow.h): words are
/// assembled in a register and stored once, and the values are computed
/// on the way (no staging vector).
template <typename ValueFn>
inline void packEach(int64_t n, int w, u64 *out, uint64_t pos, ValueFn value) {
  assert(w >= 1 && w <= 64);
  if (n == 0)
    return;
  u64 *o = out + (pos >> 6);
  int off = int(pos & 63);
  if (w == 64 && off == 0) {
    for (int64_t i = 0; i < n; ++i)
      o[i] = value(i);
    return;
  }
  u64 mask = lowMask(w), acc = *o;
  for (int64_t i = 0; i < n; ++i) {
    u64 x = value(i) & mask;
    acc |= x << off;
    off += w;
    if (off >= 64) {
      *o++ = acc;
      off -= 64;
      acc = off ? x >> (w - off) : 0;
    }
  }
  if (off)
    *o = acc;
}

/// Calls use(i, field) for the \p n fields of \p w bits (1..64) at bit
/// \p pos of \p in.
template <typename UseFn>
inline void unpackEach(const u64 *in, uint64_t pos, int64_t n, int w,
                       UseFn use) {
  assert(w >= 1 && w <= 64);
  if (n == 0)
    return;
  const u64 *p = in + (pos >> 6);
  int off = int(pos & 63);
  if (w == 64 && off == 0) {
    for (int64_t i = 0; i < n; ++i)
      use(i, p[i]);
    return;
  }
  u64 mask = lowMask(w);
  for (int64_t i = 0; i < n; ++i) {
    u64 x = p[0] >> off;
    if (off + w > 64)
      x |= p[1] << (64 - off);
    use(i, x & mask);
    off += w;
    if (off >= 64) {
      ++p;
      off -= 64;
    }
  }
}

/// packEach of the values \p v.
inline void packFields(const u64 *v, int64_t n, int w, u64 *out, uint64_t pos) {
  packEach(n, w, out, pos, [v](int64_t i) { return v[i]; });
}

/// unpackEach into \p v.
inline void unpackFields(const u64 *in, uint64_t pos, int64_t n, int w,
                         u64 *v) {
  unpackEach(in, pos, n, w, [v](int64_t i, u64 x) { v[i] = x; });
}

/// Clears the bits of the last word past element \p n.
inline void clearTail(std::vector<u64> &plane, int64_t n) {
  if (int rest = int(n % 64))
    plane[n / 64] &= lowMask(rest);
}

} // namespace mpc::rt::bits
