//===- fuzz/NpyFuzz.cpp - Fuzz target: the .npy reader --------------------===//
//
// Bytes -> parseNpy (what readNpy does with a file's contents).
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzTarget.h"

using namespace mpc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto t = parseNpy(fuzz::asString(data, size), "fuzz.npy");
  if (HostTensor *ok = fuzz::accepted(t, fuzz::asString(data, size)))
    fuzz::checkHostTensor(*ok);
  return 0;
}
