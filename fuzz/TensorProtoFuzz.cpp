//===- fuzz/TensorProtoFuzz.cpp - Fuzz target: the .pb tensor reader ------===//
//
// Bytes -> parseTensorProto (what readTensorProto does with a file's
// contents; the protobuf decoding itself is libprotobuf's).
//
//===----------------------------------------------------------------------===//
#include "frontend/TensorProto.h"
#include "fuzz/FuzzTarget.h"

using namespace mpc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto t = parseTensorProto(fuzz::asString(data, size), "fuzz.pb");
  if (HostTensor *ok = fuzz::accepted(t, fuzz::asString(data, size)))
    fuzz::checkHostTensor(*ok);
  return 0;
}
