//===- runtime/Wipe.h - Secrets overwritten before they are freed -*- C++ -*-//
//
// What a run knows that others must not (weights, inputs, shares, outputs,
// seeds) is overwritten with OPENSSL_cleanse (a write the compiler cannot
// drop) before its memory goes back to the allocator, where a later
// allocation, a core dump or swap could show it. wipe() clears and frees;
// Wiped<T> does it when it goes out of scope, on success and on every
// error path alike. A process killed by a signal wipes nothing: the
// kernel reclaims its pages (README, threat model).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Ring.h"
#include "support/Tensor.h"

#include <openssl/crypto.h>

#include <map>
#include <vector>

namespace mpc::rt {

template <typename T> void wipe(std::vector<T> &v) {
  static_assert(std::is_trivially_copyable_v<T>, "wipe plain data only");
  if (!v.empty())
    OPENSSL_cleanse(v.data(), v.size() * sizeof(T));
  v.clear();
  v.shrink_to_fit();
}
inline void wipe(RingTensor &t) {
  wipe(t.vec());
  t = RingTensor();
}
inline void wipe(HostTensor &t) {
  wipe(t.f);
  wipe(t.i);
}
template <typename K, typename V> void wipe(std::map<K, V> &m) {
  for (auto &kv : m)
    wipe(kv.second);
  m.clear();
}
inline void wipe(std::vector<RingTensor> &v) {
  for (RingTensor &x : v)
    wipe(x);
  v.clear();
}

/// Holds a T and wipes it when destroyed.
template <typename T> struct Wiped {
  T value{};
  Wiped() = default;
  explicit Wiped(T v) : value(std::move(v)) {}
  Wiped(const Wiped &) = delete;
  Wiped &operator=(const Wiped &) = delete;
  ~Wiped() { wipe(value); }
  T &operator*() { return value; }
  T *operator->() { return &value; }
};

} // namespace mpc::rt
