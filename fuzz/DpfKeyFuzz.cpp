//===- fuzz/DpfKeyFuzz.cpp - Fuzz target: DPF keys
//-------------------------===//
//
// Bytes -> parseDpfKey, the reader of the keys party 1 sends to party 0 and
// to the dealer for an embedding lookup. The input is one byte of party,
// four bytes (little-endian) of domain, then the key. An accepted key must
// serialize back to its bytes and, over a domain small enough to expand,
// evaluate at single points exactly as its full evaluation does.
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzTarget.h"

#include "runtime/Dpf.h"

using namespace mpc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef in = fuzz::asString(data, size);
  if (size < 5)
    return 0;
  uint64_t domain = 0;
  for (int i = 0; i < 4; ++i)
    domain |= uint64_t(data[1 + i]) << (8 * i);
  llvm::ArrayRef<uint8_t> bytes(data + 5, size - 5);
  auto parsed = rt::parseDpfKey(data[0], domain, bytes);
  rt::DpfKey *k = fuzz::accepted(parsed, in);
  if (!k)
    return 0;
  std::vector<uint8_t> again;
  rt::serializeDpfKey(*k, again);
  if (again != std::vector<uint8_t>(bytes.begin(), bytes.end()))
    fuzz::fail("an accepted DPF key does not serialize back to its bytes");
  if (domain > 4096)
    return 0;
  std::vector<rt::u64> full = rt::dpfFullEval(*k);
  for (uint64_t x : {uint64_t(0), domain / 2, domain - 1})
    if (rt::dpfEval(*k, x) != full[x])
      fuzz::fail("a DPF key evaluates differently at one point and in full");
  return 0;
}
