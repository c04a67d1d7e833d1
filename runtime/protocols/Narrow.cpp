//===- runtime/protocols/Narrow.cpp - Openings in a narrow ring -----------===//

#include "runtime/protocols/Narrow.h"

#include "runtime/protocols/BitPack.h"

#include <algorithm>

#include <cassert>

namespace mpc::rt {

int64_t packedWords(int64_t n, int ringBits) {
  return bits::wordsFor(n * int64_t(ringBits));
}

Proto<std::vector<u64>> exchangeRing(Party &p, std::vector<u64> mine,
                                     size_t inCount, int ringBits) {
  assert(ringBits >= 1 && ringBits <= kFullRingBits && "ring out of range");
  if (ringBits == kFullRingBits)
    co_return co_await p.exchange(std::move(mine), inCount);
  std::vector<u64> packed(packedWords(int64_t(mine.size()), ringBits), 0);
  bits::packFields(mine.data(), int64_t(mine.size()), ringBits, packed.data(),
                   0);
  size_t inWords = size_t(packedWords(int64_t(inCount), ringBits));
  std::vector<u64> theirs = co_await p.exchange(std::move(packed), inWords);
  assert(theirs.size() == inWords && "peer sent the wrong size");
  std::vector<u64> values(inCount);
  bits::unpackFields(theirs.data(), 0, int64_t(inCount), ringBits,
                     values.data());
  co_return values;
}

} // namespace mpc::rt
