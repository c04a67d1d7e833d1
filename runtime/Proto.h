//===- runtime/Proto.h - Protocols as coroutines, run in lockstep -*- C++ -*-//
//
// A two-party protocol is written as straight-line code that awaits its
// communication rounds:
//
//   Proto<RingTensor> mulBeaver(Party &p, RingTensor x, ...) {
//     std::vector<u64> theirs = co_await p.exchange(mine, n);  // one round
//     ...
//     co_return z;
//   }
//
// Sub-protocols are awaited the same way (`co_await truncate(p, ...)`). The
// runner resumes every protocol of a schedule step until each waits on an
// exchange, then sends all their outgoing words as ONE message and splits the
// reply: independent exchanges of a step share a round (DESIGN.md §5). Each
// protocol's own words and rounds are recorded in its ExchangeSlot, which is
// how the per-op profile is measured.
//
// Message sizes are public (they follow from shapes in the plan), so both
// parties know how many words each exchange receives; nothing is framed.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Channel.h"
#include "runtime/Prg.h"
#include "runtime/Ring.h"

#include "llvm/Support/Error.h"

#include <coroutine>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

namespace mpc::rt {

/// The pending exchange of one top-level protocol, and its counters.
struct ExchangeSlot {
  std::vector<u64> out;            ///< Words to send this round.
  size_t inWords = 0;              ///< Words expected from the peer this round.
  std::vector<u64> in;             ///< Filled by the runner before resuming.
  std::coroutine_handle<> waiting; ///< Innermost coroutine to resume.
  // Accounting for the profile.
  uint64_t rounds = 0, wordsSent = 0, wordsReceived = 0;
  double computeSeconds = 0; ///< Time spent running this protocol's code.
};

/// A protocol coroutine producing a T. Lazily started; awaitable from other
/// protocols (symmetric transfer), or driven by a runner at top level.
template <typename T> class [[nodiscard]] Proto {
public:
  struct promise_type;
  using Handle = std::coroutine_handle<promise_type>;

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    std::coroutine_handle<> await_suspend(Handle h) noexcept {
      auto c = h.promise().continuation;
      return c ? c : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };

  struct promise_type {
    std::optional<T> value;
    std::coroutine_handle<> continuation;
    Proto get_return_object() { return Proto(Handle::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    FinalAwaiter final_suspend() noexcept { return {}; }
    template <typename U> void return_value(U &&v) {
      value.emplace(std::forward<U>(v));
    }
    // Protocol code does not throw; an exception here is a bug.
    void unhandled_exception() noexcept { std::abort(); }
  };

  Proto() = default;
  explicit Proto(Handle h) : h_(h) {}
  Proto(Proto &&o) noexcept : h_(std::exchange(o.h_, {})) {}
  Proto &operator=(Proto &&o) noexcept {
    if (this != &o) {
      if (h_)
        h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Proto(const Proto &) = delete;
  ~Proto() {
    if (h_)
      h_.destroy();
  }

  // Awaiting runs this protocol as a sub-protocol of the awaiting one.
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) {
    h_.promise().continuation = parent;
    return h_;
  }
  T await_resume() { return std::move(*h_.promise().value); }

  Handle handle() const { return h_; }
  bool done() const { return h_.done(); }
  /// The result, once done().
  T take() { return std::move(*h_.promise().value); }

private:
  Handle h_;
};

/// One party's view while running a protocol: its id, the PRG it shares
/// with the other party, and the exchange slot of the top-level protocol.
class Party {
public:
  Party(int id, Prg *common, ExchangeSlot *slot)
      : id_(id), common_(common), slot_(slot) {}
  int id() const { return id_; }
  int peer() const { return 1 - id_; }
  /// PRG seeded identically on both parties (sharing inputs for free).
  Prg &common() { return *common_; }
  ExchangeSlot *slot() const { return slot_; }

  struct ExchangeAwaiter {
    ExchangeSlot *slot;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      slot->waiting = h;
    }
    std::vector<u64> await_resume() { return std::move(slot->in); }
  };
  /// One round: sends \p out and receives \p inWords words from the peer.
  ExchangeAwaiter exchange(std::vector<u64> out, size_t inWords) {
    slot_->out = std::move(out);
    slot_->inWords = inWords;
    return ExchangeAwaiter{slot_};
  }

private:
  int id_;
  Prg *common_;
  ExchangeSlot *slot_;
};

/// Drives top-level protocols in lockstep over one channel. Usage:
///   StepRunner r(ch); r.add(proto.handle(), &slot); ...; r.run();
class StepRunner {
public:
  /// With \p continuesRound, the first round this runner moves continues
  /// the channel's previous one (a one-way stream sent in batches, each
  /// batch a runner): the channel counts no new round for it.
  explicit StepRunner(Channel &ch, bool continuesRound = false)
      : ch_(ch), continuesRound_(continuesRound) {}
  void add(std::coroutine_handle<> top, ExchangeSlot *slot) {
    tasks_.push_back({top, slot});
  }
  /// Runs every added protocol to completion. All exchanges pending in the
  /// same round travel as one message in each direction.
  llvm::Error run();
  /// Rounds this runner used (max over its protocols, not their sum).
  uint64_t rounds() const { return rounds_; }

private:
  struct Task {
    std::coroutine_handle<> top;
    ExchangeSlot *slot;
  };
  Channel &ch_;
  bool continuesRound_;
  std::vector<Task> tasks_;
  uint64_t rounds_ = 0;
};

/// Runs a single protocol to completion and returns its result.
template <typename T>
llvm::Expected<T> runProtocol(Channel &ch, Proto<T> proto, ExchangeSlot &slot) {
  StepRunner r(ch);
  r.add(proto.handle(), &slot);
  if (llvm::Error e = r.run())
    return e;
  return proto.take();
}

} // namespace mpc::rt
