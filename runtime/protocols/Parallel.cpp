//===- runtime/protocols/Parallel.cpp - Sub-protocols in shared rounds ----===//
//
// driveTogether is a small StepRunner that lives inside a protocol: instead
// of writing to a channel it awaits one exchange of the parent Party per
// round. Sub-protocols are resumed in the order given, on both parties, so
// their messages concatenate in the same order and their draws from the
// common PRG happen in the same order.
//
//===----------------------------------------------------------------------===//
#include "runtime/protocols/Parallel.h"

#include <cassert>

namespace mpc::rt {

Proto<int> driveTogether(Party &p, std::vector<SubProtocol> subs) {
  // Start every sub-protocol: it runs until its first exchange or its end.
  for (SubProtocol &s : subs) {
    s.slot->waiting = nullptr;
    s.top.resume();
  }

  std::vector<SubProtocol *> pending;
  for (;;) {
    pending.clear();
    size_t outWords = 0, inWords = 0;
    for (SubProtocol &s : subs) {
      if (s.top.done())
        continue;
      assert(s.slot->waiting &&
             "a sub-protocol suspended without awaiting an exchange");
      pending.push_back(&s);
      outWords += s.slot->out.size();
      inWords += s.slot->inWords;
    }
    if (pending.empty())
      break;

    std::vector<u64> out;
    out.reserve(outWords);
    for (SubProtocol *s : pending)
      out.insert(out.end(), s->slot->out.begin(), s->slot->out.end());
    std::vector<u64> in = co_await p.exchange(std::move(out), inWords);
    assert(in.size() == inWords && "parent exchange returned the wrong size");

    size_t pos = 0;
    for (SubProtocol *s : pending) {
      ExchangeSlot &slot = *s->slot;
      slot.in.assign(in.begin() + pos, in.begin() + pos + slot.inWords);
      pos += slot.inWords;
      if (!slot.out.empty() || slot.inWords)
        ++slot.rounds;
      slot.wordsSent += slot.out.size();
      slot.wordsReceived += slot.inWords;
      slot.out.clear();
      slot.inWords = 0;
    }
    for (SubProtocol *s : pending) {
      std::coroutine_handle<> h = s->slot->waiting;
      s->slot->waiting = nullptr;
      h.resume();
    }
  }
  co_return 0;
}

} // namespace mpc::rt
