//===- runtime/MemChannel.cpp - In-process channel pair for tests ---------===//
//
// Two byte queues (one inbox per side) under one mutex. Sends never block
// (the inbox grows), so simultaneous large messages cannot deadlock; a
// receive waits on a condition variable until its bytes are there, the peer
// closes its end, or no byte has arrived for the timeout. Errors read like
// TcpChannel's, so tests of failure handling run on either.
//
//===----------------------------------------------------------------------===//

#include "runtime/Channel.h"
#include "support/Diag.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

using namespace mpc::rt;

namespace {

/// Bytes sent to one side and not yet received, as the chunks sent.
struct Inbox {
  std::deque<std::vector<uint8_t>> chunks;
  size_t headPos = 0; ///< Bytes of chunks.front() already received.
  size_t bytes = 0;   ///< Bytes queued in total.

  void push(llvm::ArrayRef<uint8_t> data) {
    chunks.emplace_back(data.begin(), data.end());
    bytes += data.size();
  }
  void pop(uint8_t *out, size_t n) {
    bytes -= n;
    while (n > 0) {
      std::vector<uint8_t> &front = chunks.front();
      size_t take = std::min(n, front.size() - headPos);
      std::memcpy(out, front.data() + headPos, take);
      out += take;
      n -= take;
      headPos += take;
      if (headPos == front.size()) {
        chunks.pop_front();
        headPos = 0;
      }
    }
  }
};

} // namespace

struct MemChannel::Shared {
  std::mutex mu;
  std::condition_variable arrived;
  Inbox inbox[2];
  bool closed[2] = {false, false};
};

std::pair<std::unique_ptr<MemChannel>, std::unique_ptr<MemChannel>>
MemChannel::pair() {
  auto s = std::make_shared<Shared>();
  std::unique_ptr<MemChannel> a(new MemChannel(s, 0));
  std::unique_ptr<MemChannel> b(new MemChannel(s, 1));
  a->setPeerName("party 1 (in-memory)");
  b->setPeerName("party 0 (in-memory)");
  return {std::move(a), std::move(b)};
}

MemChannel::MemChannel(std::shared_ptr<Shared> s, int side)
    : shared_(std::move(s)), side_(side) {}

MemChannel::~MemChannel() { close(); }

bool MemChannel::peerClosed() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->closed[1 - side_];
}

void MemChannel::close() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->closed[side_] = true;
  }
  shared_->arrived.notify_all();
}

llvm::Error MemChannel::doExchange(llvm::ArrayRef<uint8_t> out,
                                   llvm::MutableArrayRef<uint8_t> in) {
  // Without a deadline, transfer() returns only when everything moved.
  return transfer(out, in, Clock::time_point::max()).takeError();
}

llvm::Expected<Channel::Moved>
MemChannel::transfer(llvm::ArrayRef<uint8_t> out,
                     llvm::MutableArrayRef<uint8_t> in,
                     Clock::time_point until) {
  Shared &s = *shared_;
  int peer = 1 - side_;
  std::unique_lock<std::mutex> lock(s.mu);
  if (s.closed[side_])
    return mpc::error("channel to {} is already closed", peerName_);
  if (!out.empty()) {
    if (s.closed[peer])
      return mpc::error("{} closed the connection before {} bytes could be "
                        "sent",
                        peerName_, out.size());
    s.inbox[peer].push(out);
    s.arrived.notify_all();
  }
  if (in.empty())
    return Moved{out.size(), 0};

  Inbox &box = s.inbox[side_];
  size_t seen = box.bytes;
  auto stall = Clock::now() + timeout_;
  while (box.bytes < in.size() && !s.closed[peer] && !s.closed[side_]) {
    if (s.arrived.wait_until(lock, std::min(stall, until)) ==
            std::cv_status::timeout &&
        box.bytes == seen) {
      if (Clock::now() >= until && until < stall)
        break; // what has arrived so far
      if (Clock::now() >= stall)
        return mpc::error("no data from {} for {:g} s (received {} of {} "
                          "bytes)",
                          peerName_, timeout_.count() / 1000.0, box.bytes,
                          in.size());
    }
    if (box.bytes != seen) {
      seen = box.bytes;
      stall = Clock::now() + timeout_;
    }
  }
  if (box.bytes < in.size() && (s.closed[peer] || s.closed[side_])) {
    if (s.closed[side_])
      return mpc::error("channel to {} was closed while receiving", peerName_);
    return mpc::error("{} closed the connection after {} of {} bytes",
                      peerName_, box.bytes, in.size());
  }
  size_t got = std::min(box.bytes, in.size());
  box.pop(in.data(), got);
  return Moved{out.size(), got};
}
