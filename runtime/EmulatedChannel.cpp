//===- runtime/EmulatedChannel.cpp - A slower link in user space ----------===//
//
// The caller's sends are cut into chunks, each stamped with the instant it
// reaches the peer: a chunk leaves when the link is free (the link carries
// bytesPerSecond), and arrives half the round-trip time after its last
// byte left. The I/O thread owns the inner channel: it sends each chunk
// once it is due and, while the caller waits in a receive, receives at the
// same time, returning from the inner transfer() at the next due instant.
// A chunk thus leaves at its instant even while the caller computes or
// waits for the peer, and this end's own queue never delays what it
// receives, as on a real link.
//
// The parties' message sizes are public and lockstep, so the peer's
// EmulatedChannel (or a plain channel, if the peer emulates nothing)
// receives the same bytes in the same order: only their timing changes.
//
//===----------------------------------------------------------------------===//

#include "runtime/Channel.h"
#include "support/Diag.h"

#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

using namespace mpc;
using namespace mpc::rt;

namespace {

/// Sends are queued in chunks of at most this many bytes, each due when
/// its own last byte arrives: a long message streams, as on a real link.
constexpr size_t kChunkBytes = 256 << 10;
/// A sender waits while more than this is queued (a socket's buffer).
constexpr size_t kEmulatedBufferBytes = 4 << 20;

struct Chunk {
  std::vector<uint8_t> bytes;
  size_t at = 0; ///< bytes[0, at) are sent.
  Channel::Clock::time_point due;
};

} // namespace

llvm::Expected<NetworkModel>
mpc::rt::parseNetworkModel(llvm::StringRef spec, llvm::StringRef option) {
  if (spec == "lan")
    return NetworkModel{"lan (10 Gbit/s, 0.2 ms RTT)", 10e9 / 8, 0.2e-3};
  if (spec == "wan")
    return NetworkModel{"wan (400 Mbit/s, 40 ms RTT)", 400e6 / 8, 40e-3};
  if (spec == "loopback")
    return NetworkModel{"loopback (20 Gbit/s, 0.02 ms RTT)", 20e9 / 8, 0.02e-3};
  double gbit = -1, rttMs = -1;
  llvm::SmallVector<llvm::StringRef, 2> parts;
  spec.split(parts, ',');
  for (llvm::StringRef part : parts) {
    auto [key, val] = part.split('=');
    double v;
    if (val.getAsDouble(v) || v < 0)
      return error("{}: '{}' is not KEY=NUMBER", option.str(), part.str());
    if (key == "bw")
      gbit = v;
    else if (key == "rtt")
      rttMs = v;
    else
      return error("{}: unknown key '{}' (expected bw=GBIT,rtt=MS)",
                   option.str(), key.str());
  }
  if (gbit <= 0 || rttMs < 0)
    return error("{} '{}': expected lan, wan, loopback or bw=GBIT,rtt=MS",
                 option.str(), spec.str());
  return NetworkModel{fmt::format("{} Gbit/s, {} ms RTT", gbit, rttMs),
                      gbit * 1e9 / 8, rttMs * 1e-3};
}

struct EmulatedChannel::Queue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Chunk> chunks;
  size_t queuedBytes = 0;
  Clock::time_point linkFree{}; ///< When the link has sent every chunk.
  /// The caller's receive, while it waits in one.
  llvm::MutableArrayRef<uint8_t> in;
  size_t got = 0;
  bool receiving = false;
  bool stopping = false;
  bool failed = false;
  std::string failure;
};

EmulatedChannel::EmulatedChannel(std::unique_ptr<Channel> inner,
                                 const NetworkModel &net,
                                 std::chrono::milliseconds timeout)
    : inner_(std::move(inner)), net_(net), timeout_(timeout),
      binding_(inner_->binding()), q_(std::make_unique<Queue>()) {
  peerName_ = inner_->peerName();
  authenticatedRole_ = inner_->authenticatedRole();
  io_ = std::thread([this] { ioLoop(); });
}

EmulatedChannel::~EmulatedChannel() {
  {
    std::lock_guard<std::mutex> lock(q_->mu);
    q_->stopping = true;
  }
  q_->cv.notify_all();
  io_.join();
}

void EmulatedChannel::ioLoop() {
  Queue &q = *q_;
  std::unique_lock<std::mutex> lock(q.mu);
  Clock::time_point lastProgress = Clock::now();
  for (;;) {
    Clock::time_point now = Clock::now();
    Chunk *head = q.chunks.empty() ? nullptr : &q.chunks.front();
    bool headDue = head && head->due <= now;
    size_t want = q.receiving ? q.in.size() - q.got : 0;
    bool flush = inner_->sendPending();
    if (!headDue && want == 0 && !flush) {
      if (q.stopping && !head)
        return;
      lastProgress = now; // waiting for a due instant is not a stall
      if (head)
        q.cv.wait_until(lock, head->due);
      else
        q.cv.wait(lock);
      continue;
    }
    // Return from the inner transfer when the next chunk falls due; when
    // only sending, also soon enough to notice a receive the caller starts
    // (a send blocked by a peer that is not reading yet).
    Clock::time_point until = Clock::time_point::max();
    const Chunk *next =
        headDue ? (q.chunks.size() > 1 ? &q.chunks[1] : nullptr) : head;
    if (next)
      until = next->due;
    if (want == 0)
      until = std::min(until, now + std::chrono::milliseconds(1));
    llvm::ArrayRef<uint8_t> out;
    if (headDue)
      out = llvm::ArrayRef<uint8_t>(head->bytes).drop_front(head->at);
    llvm::MutableArrayRef<uint8_t> in;
    if (want > 0)
      in = q.in.drop_front(q.got).take_front(want);
    // The caller only appends chunks (a deque keeps references) and does
    // not touch q.in while receiving: both stay valid unlocked.
    lock.unlock();
    llvm::Expected<Moved> moved = inner_->transfer(out, in, until);
    lock.lock();
    if (!moved) {
      q.failed = true;
      q.failure = llvm::toString(moved.takeError());
      q.cv.notify_all();
      return;
    }
    if (moved->sent || moved->got)
      lastProgress = Clock::now();
    if (headDue) {
      head->at += moved->sent;
      if (head->at == head->bytes.size()) {
        q.queuedBytes -= head->bytes.size();
        q.chunks.pop_front();
      }
    }
    q.got += moved->got;
    q.cv.notify_all();
    if (Clock::now() - lastProgress > timeout_) {
      q.failed = true;
      q.failure =
          want ? fmt::format("no data from {} for {:g} s (received {} of {} "
                             "bytes)",
                             peerName_, timeout_.count() / 1000.0, q.got,
                             q.in.size())
               : fmt::format("{} accepted no data for {:g} s", peerName_,
                             timeout_.count() / 1000.0);
      q.cv.notify_all();
      return;
    }
  }
}

llvm::Error EmulatedChannel::doExchange(llvm::ArrayRef<uint8_t> out,
                                        llvm::MutableArrayRef<uint8_t> in) {
  Queue &q = *q_;
  std::unique_lock<std::mutex> lock(q.mu);
  if (q.failed)
    return mpc::error("{}", q.failure);
  Clock::time_point now = Clock::now();
  auto secs = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(s));
  };
  for (size_t at = 0; at < out.size(); at += kChunkBytes) {
    llvm::ArrayRef<uint8_t> part =
        out.slice(at, std::min(kChunkBytes, out.size() - at));
    Clock::time_point start = std::max(now, q.linkFree);
    q.linkFree = start + secs(double(part.size()) / net_.bytesPerSecond);
    q.chunks.push_back(Chunk{std::vector<uint8_t>(part.begin(), part.end()), 0,
                             q.linkFree + secs(net_.rttSeconds / 2)});
    q.queuedBytes += part.size();
  }
  if (!in.empty()) {
    q.in = in;
    q.got = 0;
    q.receiving = true;
  }
  q.cv.notify_all();
  q.cv.wait(lock, [&] {
    return q.failed || ((!q.receiving || q.got == q.in.size()) &&
                        q.queuedBytes <= kEmulatedBufferBytes);
  });
  q.receiving = false;
  q.in = {};
  q.got = 0;
  if (q.failed)
    return mpc::error("{}", q.failure);
  return llvm::Error::success();
}
