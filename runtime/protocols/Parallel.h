//===- runtime/protocols/Parallel.h - Shared-round parts -----*- C++ -*-===//
//
// A composite protocol often has independent parts (three comparisons of a
// piecewise GeLU, the compare of one operand while another is multiplied).
// whenBoth / whenAll run such parts in the SAME rounds: each part gets a
// child Party with its own ExchangeSlot (same id, same common PRG), the
// parent resumes the parts in a fixed order until each waits on an exchange
// or has finished, then sends the concatenation of their outgoing words as
// ONE exchange of its own and hands each part its slice of the reply. A part
// that finished early simply stops contributing. Rounds are the maximum over
// the parts and bytes their sum: the cost is Cost::alongside of the parts'.
//
// Parts that draw from p.common() draw in the same order on both parties,
// because both resume the parts in the order given.
//
//   auto [y, z] = co_await whenBoth(
//       p, [&](Party &q) { return mul(q, a, b, t1); },
//       [&](Party &q) { return lessThanZero(q, x, m); });
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Proto.h"

#include <coroutine>
#include <deque>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace mpc::rt {

/// One sub-protocol being driven by driveTogether: its top coroutine (not
/// yet started) and the slot its Party exchanges through.
struct SubProtocol {
  std::coroutine_handle<> top;
  ExchangeSlot *slot;
};

/// Runs every sub-protocol to completion inside the rounds of \p p: one
/// exchange of \p p per round while any sub-protocol still waits. The
/// sub-protocols' slots also get their own round and word counts.
Proto<int> driveTogether(Party &p, std::vector<SubProtocol> subs);

/// The result type of a protocol factory F(Party &) -> Proto<T>.
template <typename F>
using ProtoResultOf =
    decltype(std::declval<std::invoke_result_t<F, Party &>>().take());

/// Runs fa and fb (factories Party& -> Proto<A> / Proto<B>) in the same
/// rounds. Rounds: max of the two; bytes: the sum.
template <typename FA, typename FB>
Proto<std::pair<ProtoResultOf<FA>, ProtoResultOf<FB>>> whenBoth(Party &p, FA fa,
                                                                FB fb) {
  ExchangeSlot sa, sb;
  Party pa(p.id(), &p.common(), &sa), pb(p.id(), &p.common(), &sb);
  auto a = fa(pa);
  auto b = fb(pb);
  std::vector<SubProtocol> subs{{a.handle(), &sa}, {b.handle(), &sb}};
  co_await driveTogether(p, std::move(subs));
  co_return std::pair<ProtoResultOf<FA>, ProtoResultOf<FB>>(a.take(), b.take());
}

/// Runs every factory in the same rounds; results in factory order.
template <typename T>
Proto<std::vector<T>>
whenAll(Party &p, std::vector<std::function<Proto<T>(Party &)>> fs) {
  std::deque<ExchangeSlot> slots(fs.size());
  std::deque<Party> parties;
  std::vector<Proto<T>> protos;
  std::vector<SubProtocol> subs;
  protos.reserve(fs.size());
  for (size_t i = 0; i < fs.size(); ++i) {
    parties.emplace_back(p.id(), &p.common(), &slots[i]);
    protos.push_back(fs[i](parties.back()));
    subs.push_back({protos.back().handle(), &slots[i]});
  }
  co_await driveTogether(p, std::move(subs));
  std::vector<T> out;
  out.reserve(protos.size());
  for (Proto<T> &q : protos)
    out.push_back(q.take());
  co_return out;
}

} // namespace mpc::rt
