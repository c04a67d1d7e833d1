//===- tests/unit/plan/PlanTestUtil.h - Hand-built plans and runs -*- C++ -*-//
//
// Builds small plans with the protobuf API and runs them in-process: the
// dealer, party 0 and party 1 in three threads over MemChannel pairs, each
// through the same runParty / runDealer entry points mpc-run uses.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/Executor.h"
#include "runtime/plan/PlanReader.h"
#include "runtime/plan/Profile.h"
#include "runtime/plan/Weights.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

namespace mpc::rt::testing {

/// A plan under construction.
struct PlanBuilder {
  plan::Plan p;
  PlanBuilder() {
    p.set_format_version(kPlanFormatVersion);
    p.set_model_name("test");
  }

  int value(const std::string &name, std::vector<int64_t> shape, int frac,
            plan::Visibility vis, bool isInt = false) {
    plan::ValueInfo *v = p.add_values();
    v->set_id(p.values_size() - 1);
    v->set_name(name);
    for (int64_t d : shape)
      v->add_shape(d);
    v->set_frac_bits(frac);
    v->set_vis(vis);
    v->set_is_integer(isInt);
    v->set_weight_index(-1);
    return v->id();
  }
  int constant(const std::string &name, std::vector<int64_t> shape, int frac,
               std::vector<u64> data, bool isInt = false) {
    int id = value(name, shape, frac, plan::VIS_PUBLIC, isInt);
    for (u64 w : data)
      p.mutable_values(id)->add_public_data(w);
    return id;
  }
  plan::PlanOp &op(const std::string &kernel, std::vector<int> in,
                   std::vector<int> out, int step,
                   const std::string &node = "") {
    plan::PlanOp *o = p.add_ops();
    o->set_kernel(kernel);
    for (int i : in)
      o->add_inputs(i);
    for (int i : out)
      o->add_outputs(i);
    o->set_step(step);
    o->set_onnx_node(node.empty() ? "/" + kernel : node);
    return *o;
  }
  void input(const std::string &name, int value, const std::string &dtype,
             int owner = 1) {
    plan::PlanInput *in = p.add_inputs();
    in->set_name(name);
    in->set_value(value);
    for (int64_t d : p.values(value).shape())
      in->add_shape(d);
    in->set_dtype(dtype);
    in->set_owner(owner);
  }
  void output(const std::string &name, int value, int to = 1) {
    plan::PlanOutput *o = p.add_outputs();
    o->set_name(name);
    o->set_value(value);
    o->set_reveal_to(to);
  }
  std::string bytes() const { return serializePlan(p); }
  llvm::Expected<LoadedPlan> load() const {
    std::string b = bytes();
    return parsePlan(llvm::ArrayRef<uint8_t>(
                         reinterpret_cast<const uint8_t *>(b.data()), b.size()),
                     "test.plan");
  }
};

inline void setInt(plan::PlanOp &op, const std::string &k, int64_t v) {
  (*op.mutable_attrs())[k].set_i(v);
}
inline void setFloat(plan::PlanOp &op, const std::string &k, double v) {
  (*op.mutable_attrs())[k].set_f(v);
}
inline void setStr(plan::PlanOp &op, const std::string &k,
                   const std::string &v) {
  (*op.mutable_attrs())[k].set_s(v);
}
inline void setInts(plan::PlanOp &op, const std::string &k,
                    std::vector<int64_t> v) {
  auto *l = (*op.mutable_attrs())[k].mutable_ints();
  for (int64_t x : v)
    l->add_v(x);
}

/// Loads a plan that must be valid.
inline LoadedPlan mustLoad(const PlanBuilder &b) {
  llvm::Expected<LoadedPlan> lp = b.load();
  if (!lp)
    FAIL("plan rejected: " << llvm::toString(lp.takeError()));
  return std::move(*lp);
}

/// The error message of \p e, or "" when it holds a value.
template <typename T> std::string errorOf(llvm::Expected<T> e) {
  return e ? std::string() : llvm::toString(e.takeError());
}
inline std::string errorOf(llvm::Error e) {
  return e ? llvm::toString(std::move(e)) : std::string();
}

/// The three results of an in-process run.
struct Run3 {
  std::optional<llvm::Expected<PartyResult>> p0, p1;
  std::optional<llvm::Expected<RunProfile>> dealer;
};

/// Hooks into a run: options per party and a callback that gets party 1's
/// peer channel (to close it mid-run).
struct RunHooks {
  RunOptions opts0, opts1;
  std::function<void(MemChannel &p1Peer, const Progress &)> onP1Progress;
  std::chrono::milliseconds timeout{20000};
};

/// Runs \p plan with party 0's weights and party 1's encoded inputs.
inline Run3 runInProcess(const LoadedPlan &plan, WeightMap weights,
                         std::map<int, RingTensor> inputs1,
                         RunHooks hooks = {}) {
  auto [a0, a1] = MemChannel::pair(); // party 0 <-> party 1
  auto [b0, bd] = MemChannel::pair(); // party 0 <-> dealer
  auto [c1, cd] = MemChannel::pair(); // party 1 <-> dealer
  for (MemChannel *ch :
       {a0.get(), a1.get(), b0.get(), bd.get(), c1.get(), cd.get()})
    ch->setTimeout(hooks.timeout);
  b0->setPeerName("the dealer");
  c1->setPeerName("the dealer");
  bd->setPeerName("party 0");
  cd->setPeerName("party 1");
  MemChannel *p1Peer = a1.get();
  if (hooks.onP1Progress) {
    auto user = hooks.onP1Progress;
    hooks.opts1.progress = [user, p1Peer](const Progress &pr) {
      user(*p1Peer, pr);
    };
  }
  // Each role closes its channels when it returns, as a process would by
  // exiting, so that a failure never leaves the others waiting.
  Run3 r;
  auto fd = std::async(std::launch::async, [&] {
    auto res = runDealer(plan, *bd, *cd);
    bd->close();
    cd->close();
    return res;
  });
  auto f1 = std::async(std::launch::async, [&] {
    PartyData d;
    d.inputs = std::move(inputs1);
    auto res = runParty(1, plan, std::move(d), *a1, *c1, hooks.opts1);
    a1->close();
    c1->close();
    return res;
  });
  PartyData d0;
  d0.weights = std::move(weights);
  r.p0.emplace(runParty(0, plan, std::move(d0), *a0, *b0, hooks.opts0));
  a0->close();
  b0->close();
  r.p1.emplace(f1.get());
  r.dealer.emplace(fd.get());
  return r;
}

/// Party 1's inputs, which must be valid.
inline std::map<int, RingTensor>
encode1(const LoadedPlan &p, std::map<std::string, HostTensor> given) {
  auto enc = encodeInputs(p, 1, given);
  if (!enc)
    FAIL(llvm::toString(enc.takeError()));
  return std::move(*enc);
}

/// Fails the test with the first role's error.
inline void requireOk(Run3 &r) {
  if (!*r.dealer)
    FAIL("dealer: " << llvm::toString(r.dealer->takeError()));
  if (!*r.p0)
    FAIL("party 0: " << llvm::toString(r.p0->takeError()));
  if (!*r.p1)
    FAIL("party 1: " << llvm::toString(r.p1->takeError()));
}

/// Each op's measured traffic equals its cost formula, on both parties;
/// totals equal planCost and setupCost, and printProfile says so.
inline void requireProfileMatchesCost(const LoadedPlan &plan,
                                      const RunProfile &p) {
  INFO("party " << p.party);
  REQUIRE(p.ops.size() == plan.ops.size());
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    Cost c = opCost(plan, i);
    const OpProfile &o = p.ops[i];
    INFO(plan.ops[i].describe());
    CHECK(o.rounds == c.rounds);
    CHECK(o.bytes01 == c.bytes01);
    CHECK(o.bytes10 == c.bytes10);
    if (p.party == 1)
      CHECK(o.dealerBytes == c.dealerBytes1);
  }
  Cost total = planCost(plan), setup = setupCost(plan);
  CHECK(p.onlineRounds == total.rounds);
  CHECK(p.onlineBytes01 == total.bytes01);
  CHECK(p.onlineBytes10 == total.bytes10);
  if (p.party == 1)
    CHECK(p.dealerBytes1 == total.dealerBytes1);
  // The embedding lookups' links to the dealer: each party measures one.
  if (p.party == 1)
    CHECK(p.onlineBytes1D == total.bytes1D);
  else
    CHECK(p.onlineBytesD0 == total.bytesD0);
  CHECK(p.setupBytes01 == setup.setupBytes01);
  CHECK(p.setupRounds == setup.rounds);

  // And the party's own table (mpc-run without --quiet) says so.
  std::string table;
  llvm::raw_string_ostream os(table);
  printProfile(os, p, &total);
  INFO(table);
  CHECK_THAT(table, Catch::Matchers::Contains("(measured = predicted)"));
}

/// Encodes doubles at \p frac as a ring tensor.
inline RingTensor fixed(std::vector<double> xs, std::vector<int64_t> shape,
                        int frac) {
  return encodeTensor(xs, shape, frac);
}

} // namespace mpc::rt::testing
