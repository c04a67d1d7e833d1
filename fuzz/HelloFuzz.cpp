//===- fuzz/HelloFuzz.cpp - Fuzz target: the handshake's hello ------------===//
//
// Bytes -> parseHello (the first bytes every mpc-run link reads from its
// peer), then, for an accepted hello: encodeHello gives the same bytes back
// (the parser checks every field the encoder writes), and checkHello
// against every receiver role, with and without a certificate, gives an
// answer.
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzTarget.h"

#include "runtime/Channel.h"
#include "runtime/plan/Handshake.h"

#include <algorithm>

using namespace mpc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef in = fuzz::asString(data, size);
  auto parsed = rt::parseHello({data, size});
  rt::Hello *h = fuzz::accepted(parsed, in);
  if (!h)
    return 0;
  auto again = rt::encodeHello(*h);
  if (!std::equal(again.begin(), again.end(), data, data + size))
    fuzz::fail("an accepted hello does not encode back to its bytes");
  rt::PlanDigest digest{};
  rt::SessionId session{};
  for (int me = 0; me <= rt::kDealerRole; ++me)
    for (int peer : {0, 1, rt::kDealerRole, rt::kAnyRole})
      for (bool authenticated : {false, true}) {
        rt::HelloExpectation e;
        e.me = me;
        e.peer = peer;
        e.authenticated = authenticated;
        e.digest = &digest;
        e.binding = h->binding;
        e.session = me != rt::kDealerRole && peer != rt::kDealerRole ? &session
                                                                     : nullptr;
        if (llvm::Error err = rt::checkHello(*h, e, "the peer"))
          fuzz::rejected(std::move(err), in);
      }
  return 0;
}
