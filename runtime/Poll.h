//===- runtime/Poll.h - Waiting on a socket until a deadline ---*- C++ -*-===//
//
// Internal to the socket channels (TcpChannel, TlsChannel): poll with a
// deadline to the nanosecond (ppoll), since an emulated link's sends are
// due at instants a millisecond timeout would round (EmulatedChannel).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <ctime>

namespace mpc::rt::detail {

/// poll(2) on \p p until \p deadline (at once if it has passed): > 0 when
/// an event came, 0 at the deadline, < 0 on error (errno).
inline int pollUntil(pollfd &p,
                     std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
      deadline - std::chrono::steady_clock::now());
  int64_t ns = std::max<int64_t>(0, left.count());
  timespec ts{time_t(ns / 1000000000), long(ns % 1000000000)};
  return ppoll(&p, 1, &ts, nullptr);
}

} // namespace mpc::rt::detail
