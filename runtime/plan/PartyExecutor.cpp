//===- runtime/plan/PartyExecutor.cpp - A party's run of a plan -----------===//
//
// runPartySession: handshake and set-up once, then per request (Executor.h,
// sessions): the control words, embedding lookups (Lookups.cpp), offline
// (Dealer.cpp), online, outputs. The
// value store holds one tensor per plan value: this party's share of a
// shared value, the value itself where the party may see it, an empty
// tensor otherwise. Values are dropped after their last reader, material
// after its op. In the online phase each schedule step runs its local ops
// in order, then starts every interactive op of the step as a coroutine and
// drives them with one StepRunner, so their exchanges share rounds; each
// op's slot counts its own rounds and words for the profile.
//
//===----------------------------------------------------------------------===//
#include "runtime/Wipe.h"
#include "runtime/plan/ExecutorImpl.h"

#include <deque>
#include <numeric>

using namespace mpc;
using namespace mpc::rt;
using Clock = std::chrono::steady_clock;

namespace {

class PartyRun {
public:
  PartyRun(int id, const LoadedPlan &plan, WeightMap weights, Channel &peer,
           Channel &dealer, const RunOptions &opts)
      : id_(id), plan_(plan), weights_(std::move(weights)), peer_(peer),
        dealer_(dealer), opts_(opts) {}
  /// The value store (weights, inputs, shares, outputs) is wiped however
  /// the run ends; the result holds its own copy of the outputs.
  ~PartyRun() {
    wipe(values_);
    wipe(weights_);
    wipe(inputs_);
  }

  llvm::Error run(SessionHooks &hooks);

private:
  llvm::Expected<u64> control(size_t k, SessionHooks &hooks, bool &wantLast);
  llvm::Expected<PartyResult> request(size_t k, Corr &corr, bool last);
  llvm::Error setup();
  void loadValues(bool last);
  llvm::Error shareInputs();
  llvm::Error online(StepRange steps);
  llvm::Error runStep(size_t first, size_t last);
  llvm::Error store(const OpDesc &op, OpOutputs outs);
  void release(size_t first, size_t last);
  llvm::Error shareOutputsWithParty0();
  PartyResult collect();
  std::vector<const RingTensor *> inputsOf(const OpDesc &op);
  const RingTensor &value(int32_t id) const {
    return sessionWeights_[id] ? *sessionWeights_[id] : values_[id];
  }
  std::string who() const { return roleName(id_); }

  int id_;
  const LoadedPlan &plan_;
  WeightMap weights_; ///< Party 0: the session's, read by each request.
  std::map<int, RingTensor> inputs_; ///< The current request's.
  Channel &peer_, &dealer_;
  const RunOptions &opts_;
  std::optional<Prg> common_;
  Session session_;
  std::vector<RingTensor> values_;
  /// Per value id: the weight in weights_ this request reads in place
  /// (every request but the session's last), else null.
  std::vector<const RingTensor *> sessionWeights_;
  std::vector<bool> keep_; ///< Plan outputs: never released.
  std::vector<std::any> material_;
  RunProfile prof_;
};

llvm::Error PartyRun::run(SessionHooks &hooks) {
  auto t0 = Clock::now();
  llvm::Expected<std::unique_ptr<PartySeeds>> seeds =
      partyHandshake(id_, plan_, peer_, dealer_, opts_);
  if (!seeds)
    return addContext(seeds.takeError(), who() + ": ");
  common_.emplace((*seeds)->common);
  double handshakeSeconds = secondsSince(t0);

  session_.role = id_ == 0 ? Role::P0 : Role::P1;
  session_.masks = id_ == 0 ? WeightMasks::withSeed(0, (*seeds)->mask)
                            : WeightMasks::forParty1();
  Corr corr = Corr::party(id_, (*seeds)->dealer);
  seeds->reset(); // the seeds live on only inside the PRGs (wiped)
  for (size_t k = 0;; ++k) {
    bool wantLast = true;
    llvm::Expected<u64> decision = control(k, hooks, wantLast);
    if (!decision)
      return decision.takeError();
    if (*decision == kRequestRefused)
      return id_ == 0 ? llvm::Error::success()
                      : mpc::error("party 1: party 0 refused request {} (it "
                                   "is stopping); {} done",
                                   k + 1, k);
    bool last = *decision == kRequestLast;
    llvm::Expected<PartyResult> res = request(k, corr, last);
    if (!res)
      return k == 0 ? res.takeError()
                    : addContext(res.takeError(),
                                 fmt::format("request {}: ", k + 1));
    if (k == 0)
      res->profile.handshakeSeconds = handshakeSeconds;
    if (hooks.done)
      if (llvm::Error e = hooks.done(k, std::move(*res)))
        return e;
    if (last)
      return id_ == 1 && !wantLast
                 ? mpc::error("party 1: party 0 ended the session after "
                              "request {} (it is stopping); the requests "
                              "after it were not run",
                              k + 1)
                 : llvm::Error::success();
  }
}

/// The control words before request \p k (Executor.h, sessions): party 1
/// says whether it has more, party 0 decides for both and the dealer.
llvm::Expected<u64> PartyRun::control(size_t k, SessionHooks &hooks,
                                      bool &wantLast) {
  std::string where = fmt::format("{}: before request {}: ", who(), k + 1);
  u64 word = 0;
  if (id_ == 1) {
    llvm::Expected<std::optional<Request>> r = hooks.next(k);
    if (!r)
      return r.takeError();
    if (!*r)
      return mpc::error("party 1: internal error: no request {}", k + 1);
    wantLast = (*r)->last;
    inputs_ = std::move((*r)->inputs);
    word = wantLast ? kRequestLast : kRequestMore;
    if (llvm::Error e = sendWords(peer_, {&word, 1}))
      return addContext(std::move(e), where);
    if (llvm::Error e = recvWords(peer_, {&word, 1}))
      return addContext(std::move(e), where);
    if (word > kRequestLast || (wantLast && word == kRequestMore))
      return mpc::error("{}party 0 answered {}, not a request decision", where,
                        word);
    return word;
  }
  if (llvm::Error e = recvWords(peer_, {&word, 1}))
    return addContext(std::move(e), where);
  if (word != kRequestMore && word != kRequestLast)
    return mpc::error("{}party 1 sent {}, not a request word", where, word);
  u64 decision = kRequestRefused;
  llvm::Expected<std::optional<Request>> r = hooks.next(k);
  if (!r)
    return r.takeError();
  if (*r) {
    inputs_ = std::move((*r)->inputs);
    decision = word == kRequestLast || (*r)->last ? kRequestLast : kRequestMore;
  }
  for (Channel *ch : {&dealer_, &peer_})
    if (llvm::Error e = sendWords(*ch, {&decision, 1}))
      return addContext(std::move(e), where);
  return decision;
}

/// One request: lookups, offline and online per material window, outputs.
/// The set-up runs with request 0.
llvm::Expected<PartyResult> PartyRun::request(size_t k, Corr &corr, bool last) {
  prof_ = RunProfile();
  prof_.party = id_;
  for (const OpDesc &op : plan_.ops)
    prof_.ops.push_back(profileRow(op));
  loadValues(last);
  if (k == 0)
    if (llvm::Error e = setup())
      return e;
  session_.lookups.clear();
  if (llvm::Error e = partyLookups(id_, plan_, session_, corr, peer_, dealer_,
                                   inputs_, prof_))
    return e;
  // Offline and online alternate per material window (one window: all
  // offline, then all online).
  material_.assign(plan_.ops.size(), std::any());
  std::vector<StepRange> windows =
      materialWindows(plan_, opts_.materialWindowMiB);
  std::optional<DealerBeats> beats;
  if (id_ == 1 && last)
    beats.emplace();
  for (auto [first, end] : windows) {
    OpRange ops{0, 0}; // a plan without steps still takes its inputs
    if (first < end)
      ops = {plan_.steps[first].first, plan_.steps[end - 1].second};
    if (llvm::Error e =
            partyOffline(id_, plan_, session_, corr, dealer_, peer_, ops,
                         material_, prof_, opts_, beats ? &*beats : nullptr))
      return e;
    if (llvm::Error e = online({first, end}))
      return e;
  }
  if (opts_.revealToBoth)
    if (llvm::Error e = shareOutputsWithParty0())
      return e;
  return collect();
}

/// Weights (party 0) and public constants into the value store, which
/// the previous request left wiped. A request that more follow reads the
/// session's weights in place (no copy: they stay whole for the next one);
/// the session's \p last request takes them into the value store, so
/// each is freed after its last reader as in a one-request run.
void PartyRun::loadValues(bool last) {
  wipe(values_);
  values_.assign(plan_.values.size(), RingTensor());
  sessionWeights_.assign(plan_.values.size(), nullptr);
  keep_.assign(plan_.values.size(), false);
  for (const plan::PlanOutput &o : plan_.proto->outputs())
    keep_[o.value()] = true;
  for (auto &[id, t] : weights_) {
    if (last)
      values_[id] = std::move(t);
    else
      sessionWeights_[id] = &t;
  }
  if (last)
    weights_.clear();
  for (const ValueDesc &v : plan_.values)
    if (v.source == ValueSource::Constant)
      values_[v.id] =
          RingTensor(v.shape, std::vector<u64>(v.info->public_data().begin(),
                                               v.info->public_data().end()));
}

llvm::Error PartyRun::setup() {
  auto t0 = Clock::now();
  uint64_t sent = peer_.bytesSent(), recvd = peer_.bytesReceived(),
           rounds = peer_.rounds();
  // W - B of every weight is one one-way message (one round), sent in
  // batches of about kSetupBatchBytes so that party 0 never holds W - B of
  // all weights at once next to W (bert-base: 870 MB more at its peak).
  constexpr uint64_t kSetupBatchBytes = uint64_t(64) << 20;
  const std::vector<const ValueDesc *> &ws = plan_.setupWeights;
  for (size_t first = 0, next = 0; first < ws.size(); first = next) {
    uint64_t bytes = 0;
    for (next = first;
         next < ws.size() && (next == first || bytes < kSetupBatchBytes);
         ++next)
      bytes += wordBytes(uint64_t(ws[next]->numElements()));
    std::deque<ExchangeSlot> slots;
    std::deque<Party> parties;
    std::vector<Proto<int>> protos;
    bool moved = peer_.bytesSent() != sent || peer_.bytesReceived() != recvd;
    StepRunner runner(peer_, /*continuesRound=*/moved);
    for (size_t i = first; i < next; ++i) {
      const ValueDesc *w = ws[i];
      slots.emplace_back();
      parties.emplace_back(id_, &*common_, &slots.back());
      protos.push_back(pwSetup(parties.back(), session_.masks, w->id,
                               id_ == 0 ? &value(w->id) : nullptr, w->shape));
      runner.add(protos.back().handle(), &slots.back());
    }
    if (llvm::Error e = runner.run())
      return addContext(std::move(e), who() + ": set-up (W - B of " +
                                          std::to_string(ws.size()) +
                                          " weights): ");
  }
  prof_.setupSeconds = secondsSince(t0);
  prof_.setupRounds = peer_.rounds() - rounds;
  prof_.setupBytes01 =
      id_ == 0 ? peer_.bytesSent() - sent : peer_.bytesReceived() - recvd;
  return llvm::Error::success();
}

std::vector<const RingTensor *> PartyRun::inputsOf(const OpDesc &op) {
  std::vector<const RingTensor *> in;
  for (const ValueDesc *v : op.in)
    in.push_back(&value(v->id));
  return in;
}

llvm::Error PartyRun::store(const OpDesc &op, OpOutputs outs) {
  if (outs.size() != op.out.size())
    return opError(op, "internal error: {} outputs for {} values", outs.size(),
                   op.out.size());
  for (size_t i = 0; i < outs.size(); ++i) {
    const ValueDesc &v = *op.out[i];
    bool held = v.heldBy(id_);
    if (held && llvm::ArrayRef<int64_t>(outs[i].shape()) !=
                    llvm::ArrayRef<int64_t>(v.shape))
      return opError(op, "internal error: {} computed with shape {}",
                     v.describe(), shapeString(outs[i].shape()));
    values_[v.id] = held ? std::move(outs[i]) : RingTensor();
  }
  return llvm::Error::success();
}

/// Drops values whose last reader is in [first, last), and the material of
/// those ops.
void PartyRun::release(size_t first, size_t last) {
  for (size_t i = first; i < last; ++i) {
    material_[i].reset();
    for (const ValueDesc *v : plan_.ops[i].in)
      if (plan_.lastUse[v->id] == int(i) && !keep_[v->id])
        values_[v->id] = RingTensor();
  }
}

llvm::Error PartyRun::runStep(size_t first, size_t last) {
  // Local ops first, in plan order (later ops of the step may read them).
  for (size_t i = first; i < last; ++i) {
    const OpDesc &op = plan_.ops[i];
    if (op.kernel->interactive())
      continue;
    auto t0 = Clock::now();
    ExchangeSlot slot;
    Party party(id_, &*common_, &slot);
    std::vector<const RingTensor *> in = inputsOf(op);
    Proto<OpOutputs> proto =
        op.kernel->run(party, op, in, material_[i], session_);
    proto.handle().resume();
    if (!proto.done())
      return opError(op, "internal error: a local kernel waited on an "
                         "exchange");
    if (llvm::Error e = store(op, proto.take()))
      return e;
    prof_.ops[i].seconds = secondsSince(t0);
  }

  // Interactive ops together.
  std::vector<size_t> idx;
  for (size_t i = first; i < last; ++i)
    if (plan_.ops[i].kernel->interactive())
      idx.push_back(i);
  if (idx.empty())
    return llvm::Error::success();
  std::deque<ExchangeSlot> slots;
  std::deque<Party> parties;
  std::vector<std::vector<const RingTensor *>> ins;
  std::vector<Proto<OpOutputs>> protos;
  ins.reserve(idx.size());
  protos.reserve(idx.size());
  StepRunner runner(peer_);
  auto t0 = Clock::now();
  for (size_t i : idx) {
    const OpDesc &op = plan_.ops[i];
    slots.emplace_back();
    parties.emplace_back(id_, &*common_, &slots.back());
    ins.push_back(inputsOf(op));
    protos.push_back(
        op.kernel->run(parties.back(), op, ins.back(), material_[i], session_));
    runner.add(protos.back().handle(), &slots.back());
  }
  if (llvm::Error e = runner.run()) {
    const OpDesc &op = plan_.ops[idx[0]];
    std::string more =
        idx.size() > 1 ? fmt::format(" and {} more", idx.size() - 1) : "";
    return addContext(std::move(e),
                      fmt::format("{}: online step {} ({}{}): ", who(), op.step,
                                  op.describe(), more));
  }
  double wall = secondsSince(t0);

  double compute = 0;
  uint64_t words = 0;
  for (const ExchangeSlot &s : slots) {
    compute += s.computeSeconds;
    words += s.wordsSent + s.wordsReceived;
  }
  double comm = std::max(0.0, wall - compute);
  for (size_t j = 0; j < idx.size(); ++j) {
    const OpDesc &op = plan_.ops[idx[j]];
    const ExchangeSlot &s = slots[j];
    OpProfile &row = prof_.ops[idx[j]];
    uint64_t mine = s.wordsSent + s.wordsReceived;
    // Added to what the embedding lookups measured for their ops before
    // the offline phase (Lookups.cpp); zero for every other op.
    row.rounds += s.rounds;
    row.bytes01 += wordBytes(id_ == 0 ? s.wordsSent : s.wordsReceived);
    row.bytes10 += wordBytes(id_ == 0 ? s.wordsReceived : s.wordsSent);
    row.seconds +=
        s.computeSeconds + comm * (words ? double(mine) / double(words)
                                         : 1.0 / double(idx.size()));
    if (llvm::Error e = store(op, protos[j].take()))
      return e;
  }
  return llvm::Error::success();
}

/// Inputs: private ones are stored as they are; shared ones are split with
/// the common PRG (no messages), in input order on both parties.
llvm::Error PartyRun::shareInputs() {
  ExchangeSlot slot;
  Party party(id_, &*common_, &slot);
  for (const plan::PlanInput &in : plan_.proto->inputs()) {
    const ValueDesc &v = plan_.value(in.value());
    auto it = inputs_.find(v.id);
    const RingTensor *x = it == inputs_.end() ? nullptr : &it->second;
    if (in.owner() == id_ && !x)
      return mpc::error("{}: input '{}' was not given", who(), in.name());
    if (v.vis == Vis::Shared)
      values_[v.id] = shareFromOwner(party, in.owner(), x, v.shape);
    else if (in.owner() == id_)
      values_[v.id] = std::move(it->second);
  }
  wipe(inputs_);
  return llvm::Error::success();
}

/// The online phase of schedule steps \p steps; the first window also
/// takes the inputs. Times, bytes and rounds add up over the windows.
llvm::Error PartyRun::online(StepRange steps) {
  auto t0 = Clock::now();
  uint64_t sent = peer_.bytesSent(), recvd = peer_.bytesReceived(),
           rounds = peer_.rounds();
  if (steps.first == 0)
    if (llvm::Error e = shareInputs())
      return e;
  for (size_t s = steps.first; s < steps.second; ++s) {
    auto [first, last] = plan_.steps[s];
    if (llvm::Error e = runStep(first, last))
      return e;
    release(first, last);
    if (opts_.progress)
      opts_.progress({"online", last, plan_.ops.size(),
                      prof_.onlineSeconds + secondsSince(t0)});
  }
  prof_.onlineSeconds += secondsSince(t0);
  prof_.onlineRounds += peer_.rounds() - rounds;
  uint64_t s = peer_.bytesSent() - sent, r = peer_.bytesReceived() - recvd;
  prof_.onlineBytes01 += id_ == 0 ? s : r;
  prof_.onlineBytes10 += id_ == 0 ? r : s;
  return llvm::Error::success();
}

llvm::Error PartyRun::shareOutputsWithParty0() {
  std::vector<u64> words;
  size_t n = 0;
  for (const plan::PlanOutput &o : plan_.proto->outputs()) {
    const ValueDesc &v = plan_.value(o.value());
    if (v.vis != Vis::Private1)
      continue;
    n += size_t(v.numElements());
    if (id_ == 1)
      words.insert(words.end(), values_[v.id].vec().begin(),
                   values_[v.id].vec().end());
  }
  if (n == 0)
    return llvm::Error::success();
  uint64_t rounds = peer_.rounds();
  if (id_ == 0)
    words.resize(n);
  llvm::Error e = id_ == 1 ? sendWords(peer_, words) : recvWords(peer_, words);
  if (e)
    return addContext(std::move(e), who() + ": sending the outputs to party "
                                            "0 (--reveal-to-both): ");
  prof_.outputRounds = peer_.rounds() - rounds;
  prof_.outputBytes10 = wordBytes(n);
  if (id_ == 0) {
    size_t pos = 0;
    for (const plan::PlanOutput &o : plan_.proto->outputs()) {
      const ValueDesc &v = plan_.value(o.value());
      if (v.vis != Vis::Private1)
        continue;
      values_[v.id] = RingTensor(
          v.shape, std::vector<u64>(words.begin() + pos,
                                    words.begin() + pos + v.numElements()));
      pos += size_t(v.numElements());
    }
  }
  return llvm::Error::success();
}

PartyResult PartyRun::collect() {
  PartyResult res;
  for (const plan::PlanOutput &o : plan_.proto->outputs()) {
    const ValueDesc &v = plan_.value(o.value());
    bool mine = v.heldBy(id_) || (opts_.revealToBoth && id_ == 0);
    if (!mine || v.vis == Vis::Shared)
      continue;
    const RingTensor &t = value(v.id);
    std::vector<int64_t> shape(v.shape.begin(), v.shape.end());
    if (v.isInt) {
      std::vector<int64_t> xs(t.vec().begin(), t.vec().end());
      res.outputs[o.name()] = HostTensor::ints(shape, std::move(xs));
    } else {
      res.outputs[o.name()] =
          HostTensor::floats(shape, decodeTensor(t, v.frac));
    }
  }
  prof_.peakRssBytes = peakRssBytes();
  res.profile = std::move(prof_);
  return res;
}

} // namespace

PartyData::~PartyData() {
  wipe(weights);
  wipe(inputs);
}

Request::~Request() { wipe(inputs); }

llvm::Error mpc::rt::runPartySession(int party, const LoadedPlan &plan,
                                     WeightMap weights, Channel &peer,
                                     Channel &dealer, const RunOptions &opts,
                                     SessionHooks &hooks) {
  if (party != 0 && party != 1)
    return mpc::error("party must be 0 or 1, not {}", party);
  PartyRun run(party, plan, std::move(weights), peer, dealer, opts);
  return run.run(hooks);
}

llvm::Expected<PartyResult> mpc::rt::runParty(int party, const LoadedPlan &plan,
                                              PartyData data, Channel &peer,
                                              Channel &dealer,
                                              const RunOptions &opts) {
  // Party 1 asks for one request; party 0 serves whatever party 1 asks.
  Wiped<std::map<int, RingTensor>> inputs(std::move(data.inputs));
  std::optional<PartyResult> first;
  SessionHooks hooks;
  hooks.next = [&](size_t) -> llvm::Expected<std::optional<Request>> {
    Request r;
    r.inputs = *inputs;
    r.last = party == 1;
    return std::optional<Request>(std::move(r));
  };
  hooks.done = [&](size_t k, PartyResult res) {
    if (k == 0)
      first = std::move(res);
    return llvm::Error::success();
  };
  if (llvm::Error e = runPartySession(party, plan, std::move(data.weights),
                                      peer, dealer, opts, hooks))
    return e;
  if (!first)
    return mpc::error("{}: party 1 asked for no request", roleName(party));
  return std::move(*first);
}
