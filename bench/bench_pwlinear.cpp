//===- bench/bench_pwlinear.cpp - Private-weight linear layer, online -----===//
//
// Online time and bytes of the private-weight linear layer (DESIGN.md §5) at
// the BERT-base shapes 128x768x768, 128x768x3072 and 128x3072x768, between
// two parties in one process over an in-memory channel and over loopback
// TCP, next to one local ring matmul of the same shape. The target is an
// online time within 1.5x of that matmul: the protocol's online work is one
// plaintext-sized ring matmul plus one activation-sized message.
//
// Usage: bench_pwlinear [reps [threads]]   (default 7 reps, the median is
// printed; ring threads default to the core count)
//
//===----------------------------------------------------------------------===//
#include "runtime/Channel.h"
#include "runtime/Corr.h"
#include "runtime/Proto.h"
#include "runtime/Ring.h"
#include "runtime/protocols/Arith.h"

#include <fmt/format.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdlib>
#include <future>
#include <random>
#include <thread>

using namespace mpc::rt;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

[[noreturn]] void die(llvm::Error e, const char *what) {
  fmt::print(stderr, "bench_pwlinear: {}: {}\n", what,
             llvm::toString(std::move(e)));
  std::exit(1);
}

using ChannelPair =
    std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>>;

ChannelPair makeChannels(bool tcp) {
  if (!tcp) {
    auto [a, b] = MemChannel::pair();
    return {std::move(a), std::move(b)};
  }
  auto listener = TcpListener::listen("127.0.0.1:0");
  if (!listener)
    die(listener.takeError(), "listen");
  std::string addr = "127.0.0.1:" + std::to_string((*listener)->port());
  auto acceptor = std::async(std::launch::async, [&] {
    return (*listener)->accept(std::chrono::seconds(10));
  });
  auto c1 = TcpChannel::connect(addr, std::chrono::seconds(10));
  auto c0 = acceptor.get();
  if (!c0)
    die(c0.takeError(), "accept");
  if (!c1)
    die(c1.takeError(), "connect");
  return {std::move(*c0), std::move(*c1)};
}

struct Figures {
  double online = 0; ///< Median over reps of the slower party's time.
  double party0 = 0; ///< Median of party 0's time (it does the matmul).
  double matmul = 0; ///< Median local ring matmul time, same shape.
  double ratio = 0;  ///< Median over reps of online / matmul.
  uint64_t bytes01 = 0, bytes10 = 0, rounds = 0;
};

/// Runs pwLinear for X [m, k] . W [k, n] \p reps times over \p tcp or an
/// in-memory link. Set-up and dealing happen once, untimed (the online work
/// does not depend on the material). Each rep first times one local ring
/// matmul of the same shape on party 0 while party 1 waits, then the online
/// phase from a common start on both parties, so that both see the same
/// machine load; the ratio is taken per rep.
Figures benchPwLinear(int64_t m, int64_t k, int64_t n, int reps, bool tcp) {
  std::mt19937_64 rng(42);
  Shape xShape{m, k}, wShape{k, n};
  RingTensor w(wShape), x(xShape);
  for (u64 &v : w.vec())
    v = rng();
  for (u64 &v : x.vec())
    v = rng();
  RingTensor x0(xShape), x1(xShape);
  for (int64_t i = 0; i < x.size(); ++i) {
    x0[i] = rng();
    x1[i] = x[i] - x0[i];
  }

  auto [ch0, ch1] = makeChannels(tcp);
  Channel *chans[2] = {ch0.get(), ch1.get()};
  Seed maskSeed = randomSeed(), s0 = randomSeed(), s1 = randomSeed(),
       common = randomSeed();
  WeightMasks masks[3] = {WeightMasks::withSeed(int(Role::P0), maskSeed),
                          WeightMasks::forParty1(),
                          WeightMasks::withSeed(int(Role::Dealer), maskSeed)};

  // Per-session set-up: W - B to party 1.
  auto setup = [&](int id) {
    Prg prg(common);
    ExchangeSlot slot;
    Party p(id, &prg, &slot);
    auto r = runProtocol(
        *chans[id], pwSetup(p, masks[id], 0, id == 0 ? &w : nullptr, wShape),
        slot);
    if (!r)
      die(r.takeError(), "set-up");
  };
  auto f1 = std::async(std::launch::async, setup, 1);
  setup(0);
  f1.get();

  // Dealer material.
  std::vector<u64> corrections;
  Corr dealer = Corr::dealer(s0, s1, &corrections);
  (void)dealPwLinear(dealer, masks[2], xShape, {0}, {wShape});
  Corr c0 = Corr::party(0, s0), c1 = Corr::party(1, s1);
  c1.setInput(corrections);
  PwLinearMat mat[2] = {dealPwLinear(c0, masks[0], xShape, {0}, {wShape}),
                        dealPwLinear(c1, masks[1], xShape, {0}, {wShape})};

  std::vector<double> times[2], local;
  std::barrier sync(2);
  auto online = [&](int id) {
    Prg prg(common);
    const RingTensor *weights[1] = {id == 0 ? &w : nullptr};
    const RingTensor &share = id == 0 ? x0 : x1;
    for (int r = 0; r < reps + 1; ++r) { // Rep 0 warms up.
      sync.arrive_and_wait();
      if (id == 0) {
        auto t0 = Clock::now();
        RingTensor y = matmul(x, w);
        auto t1 = Clock::now();
        if (r > 0)
          local.push_back(seconds(t0, t1));
      }
      chans[id]->resetCounters();
      ExchangeSlot slot;
      Party p(id, &prg, &slot);
      sync.arrive_and_wait();
      auto t0 = Clock::now();
      auto y =
          runProtocol(*chans[id], pwLinear(p, share, weights, mat[id]), slot);
      auto t1 = Clock::now();
      if (!y)
        die(y.takeError(), "pwLinear");
      if (r > 0)
        times[id].push_back(seconds(t0, t1));
    }
  };
  auto g1 = std::async(std::launch::async, online, 1);
  online(0);
  g1.get();

  Figures fig;
  std::vector<double> slower(reps), ratios(reps);
  for (int r = 0; r < reps; ++r) {
    slower[r] = std::max(times[0][r], times[1][r]);
    ratios[r] = slower[r] / local[r];
  }
  fig.online = median(slower);
  fig.party0 = median(times[0]);
  fig.matmul = median(local);
  fig.ratio = median(ratios);
  fig.bytes01 = ch0->bytesSent();
  fig.bytes10 = ch1->bytesSent();
  fig.rounds = ch0->rounds();
  return fig;
}

} // namespace

int main(int argc, char **argv) {
  int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  if (argc > 2)
    setRingThreads(std::max(1, std::atoi(argv[2])));
  struct Case {
    int64_t m, k, n;
  };
  const Case cases[] = {{128, 768, 768}, {128, 768, 3072}, {128, 3072, 768}};

  fmt::print("private-weight linear layer, online phase (median of {} reps, "
             "{} ring threads)\n",
             reps, ringThreads());
  fmt::print("{:<14} {:<4} {:>10} {:>10} {:>8} {:>7} {:>7} {:>10} {:>8}\n",
             "shape m.k.n", "link", "matmul ms", "online ms", "P0 ms", "ratio",
             "rounds", "P1->P0 B", "P0->P1 B");
  for (const Case &c : cases) {
    Cost want = pwLinearCost({c.m, c.k}, {Shape{c.k, c.n}});
    for (bool tcp : {false, true}) {
      Figures f = benchPwLinear(c.m, c.k, c.n, reps, tcp);
      bool match = f.bytes10 == want.bytes10 && f.bytes01 == want.bytes01 &&
                   f.rounds == want.rounds;
      fmt::print("{:<14} {:<4} {:>10.2f} {:>10.2f} {:>8.2f} {:>7.2f} {:>7} "
                 "{:>10} {:>8}{}\n",
                 fmt::format("{}x{}x{}", c.m, c.k, c.n), tcp ? "tcp" : "mem",
                 f.matmul * 1e3, f.online * 1e3, f.party0 * 1e3, f.ratio,
                 f.rounds, f.bytes10, f.bytes01,
                 match ? "" : "  (MISMATCH with pwLinearCost)");
    }
  }
  fmt::print("online = until both parties hold their shares; P0 ms = party "
             "0 alone;\nratio = median over reps of online / one local ring "
             "matmul of the same shape,\ntimed back to back (target <= 1.5). "
             "Both parties share this machine's cores.\n");
  return 0;
}
