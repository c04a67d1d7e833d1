//===- runtime/Proto.cpp - Protocols as coroutines, run in lockstep -------===//
//
// StepRunner::run: resume every protocol until it waits on an exchange; then,
// round after round, send the outgoing words of all waiting protocols as one
// message (in task order), receive the concatenation of what each expects,
// hand each its part and resume it. Both parties add the same protocols in
// the same order, so the concatenations line up without framing. The words
// move straight from each protocol's out vector and into its in vector;
// only pieces that straddle two protocols go through a small buffer.
//
//===----------------------------------------------------------------------===//

#include "runtime/Proto.h"
#include "support/Diag.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

using namespace mpc::rt;

namespace {

/// The largest piece of a round's message moved at once. A message over
/// it (party 0's W - B at set-up: 870 MB for bert-base) travels without a
/// copy of the whole: a buffer of one piece, below the allocator's mmap
/// threshold (support/MallocTuning.h), so it is reused, not re-faulted.
constexpr size_t kRoundPieceBytes = size_t(16) << 20;

/// Resumes \p h and adds the time it ran to \p slot.
void timedResume(std::coroutine_handle<> h, ExchangeSlot &slot) {
  auto t0 = std::chrono::steady_clock::now();
  h.resume();
  slot.computeSeconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
}

/// One protocol's bytes within a round's message.
struct Span {
  uint8_t *data;
  size_t bytes;
};

/// The bytes [at, at + len) of the concatenation of \p spans where they lie
/// within one span, else null.
uint8_t *inPlace(llvm::ArrayRef<Span> spans, size_t at, size_t len) {
  for (const Span &s : spans) {
    if (at < s.bytes)
      return len <= s.bytes - at ? s.data + at : nullptr;
    at -= s.bytes;
  }
  return nullptr;
}

/// Copies between \p buf and the bytes [at, at + len) of the concatenation
/// of \p spans: into the spans when \p toSpans, else out of them.
void copySpans(llvm::ArrayRef<Span> spans, size_t at, size_t len, uint8_t *buf,
               bool toSpans) {
  for (const Span &s : spans) {
    if (len == 0)
      return;
    if (at >= s.bytes) {
      at -= s.bytes;
      continue;
    }
    size_t n = std::min(len, s.bytes - at);
    if (toSpans)
      std::memcpy(s.data + at, buf, n);
    else
      std::memcpy(buf, s.data + at, n);
    buf += n;
    len -= n;
    at = 0;
  }
}

} // namespace

llvm::Error StepRunner::run() {
  for (Task &t : tasks_)
    if (!t.top.done())
      timedResume(t.top, *t.slot);

  std::vector<Task *> pending;
  std::vector<Span> outs, ins;
  std::unique_ptr<uint8_t[]> outChunk, inChunk;
  for (;;) {
    pending.clear();
    outs.clear();
    ins.clear();
    size_t outBytes = 0, inBytes = 0;
    for (Task &t : tasks_) {
      if (t.top.done())
        continue;
      if (!t.slot->waiting)
        return mpc::error("internal: a protocol suspended without awaiting "
                          "an exchange");
      pending.push_back(&t);
      ExchangeSlot &s = *t.slot;
      // Every word of in is received before the protocol resumes.
      s.in.resize(s.inWords);
      outs.push_back(
          {reinterpret_cast<uint8_t *>(s.out.data()), s.out.size() * 8});
      ins.push_back({reinterpret_cast<uint8_t *>(s.in.data()), s.inWords * 8});
      outBytes += outs.back().bytes;
      inBytes += ins.back().bytes;
    }
    if (pending.empty())
      return llvm::Error::success();

    // The round's message is the concatenation of the pending protocols'
    // words, moved in pieces of at most kRoundPieceBytes at the same
    // offsets on both sides: a piece that lies within one protocol's words
    // moves in place, others through a reused buffer of one piece.
    for (size_t at = 0; at < std::max(outBytes, inBytes);
         at += kRoundPieceBytes) {
      size_t outLen =
                 at < outBytes ? std::min(kRoundPieceBytes, outBytes - at) : 0,
             inLen =
                 at < inBytes ? std::min(kRoundPieceBytes, inBytes - at) : 0;
      const uint8_t *outPtr = outLen ? inPlace(outs, at, outLen) : nullptr;
      if (outLen && !outPtr) {
        if (!outChunk)
          outChunk.reset(new uint8_t[kRoundPieceBytes]);
        copySpans(outs, at, outLen, outChunk.get(), /*toSpans=*/false);
        outPtr = outChunk.get();
      }
      uint8_t *inPtr = inLen ? inPlace(ins, at, inLen) : nullptr;
      bool scatterIn = inLen && !inPtr;
      if (scatterIn) {
        if (!inChunk)
          inChunk.reset(new uint8_t[kRoundPieceBytes]);
        inPtr = inChunk.get();
      }
      if (llvm::Error e =
              ch_.exchange(llvm::ArrayRef<uint8_t>(outPtr, outLen),
                           llvm::MutableArrayRef<uint8_t>(inPtr, inLen),
                           /*sameRound=*/at > 0 || continuesRound_))
        return e;
      if (scatterIn)
        copySpans(ins, at, inLen, inPtr, /*toSpans=*/true);
    }
    if (outBytes || inBytes) {
      if (!continuesRound_)
        ++rounds_;
      continuesRound_ = false;
    }

    for (Task *t : pending) {
      ExchangeSlot &s = *t->slot;
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
