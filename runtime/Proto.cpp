//===- runtime/Proto.cpp - Protocols as coroutines, run in lockstep -------===//
//
// StepRunner::run: resume every protocol until it waits on an exchange; then,
// round after round, send the outgoing words of all waiting protocols as one
// message (in task order), receive the concatenation of what each expects,
// hand each its part and resume it. Both parties add the same protocols in
// the same order, so the concatenations line up without framing.
//
//===----------------------------------------------------------------------===//

#include "runtime/Proto.h"
#include "support/Diag.h"

#include <chrono>
#include <cstring>

using namespace mpc::rt;

namespace {

/// Resumes \p h and adds the time it ran to \p slot.
void timedResume(std::coroutine_handle<> h, ExchangeSlot &slot) {
  auto t0 = std::chrono::steady_clock::now();
  h.resume();
  slot.computeSeconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
}

} // namespace

llvm::Error StepRunner::run() {
  for (Task &t : tasks_)
    if (!t.top.done())
      timedResume(t.top, *t.slot);

  std::vector<Task *> pending;
  std::vector<u64> outBuf, inBuf;
  for (;;) {
    pending.clear();
    size_t outWords = 0, inWords = 0;
    for (Task &t : tasks_) {
      if (t.top.done())
        continue;
      if (!t.slot->waiting)
        return mpc::error("internal: a protocol suspended without awaiting "
                          "an exchange");
      pending.push_back(&t);
      outWords += t.slot->out.size();
      inWords += t.slot->inWords;
    }
    if (pending.empty())
      return llvm::Error::success();

    outBuf.resize(outWords);
    size_t pos = 0;
    for (Task *t : pending) {
      std::copy(t->slot->out.begin(), t->slot->out.end(), outBuf.begin() + pos);
      pos += t->slot->out.size();
    }
    inBuf.resize(inWords);
    if (llvm::Error e = ch_.exchange(
            llvm::ArrayRef<uint8_t>(
                reinterpret_cast<const uint8_t *>(outBuf.data()), outWords * 8),
            llvm::MutableArrayRef<uint8_t>(
                reinterpret_cast<uint8_t *>(inBuf.data()), inWords * 8)))
      return e;
    if (outWords || inWords)
      ++rounds_;

    pos = 0;
    for (Task *t : pending) {
      ExchangeSlot &s = *t->slot;
      s.in.assign(inBuf.begin() + pos, inBuf.begin() + pos + s.inWords);
      pos += s.inWords;
      if (!s.out.empty() || s.inWords)
        ++s.rounds;
      s.wordsSent += s.out.size();
      s.wordsReceived += s.inWords;
      s.out.clear();
      s.inWords = 0;
    }
    for (Task *t : pending) {
      std::coroutine_handle<> h = t->slot->waiting;
      t->slot->waiting = nullptr;
      timedResume(h, *t->slot);
    }
  }
}
