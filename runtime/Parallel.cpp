//===- runtime/Parallel.cpp - A small persistent thread pool --------------===//
//
// One process-wide pool of ringThreads() - 1 workers. A call publishes a job
// (a task count and a body) under a generation number; the workers and the
// caller take task indices from an atomic counter until none are left, and
// the caller waits until every worker has left the job. Only one caller uses
// the pool at a time; a concurrent caller runs its tasks inline.
//
//===----------------------------------------------------------------------===//

#include "runtime/Parallel.h"
#include "runtime/Ring.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using namespace mpc::rt;

namespace {

class Pool {
public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i)
      workers_.emplace_back([this] { workerLoop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread &t : workers_)
      t.join();
  }

  int threads() const { return int(workers_.size()) + 1; }

  /// Runs the job on the pool, or returns false if another caller holds it.
  bool tryRun(int64_t n, llvm::function_ref<void(int64_t)> body) {
    std::unique_lock<std::mutex> call(callMu_, std::try_to_lock);
    if (!call.owns_lock())
      return false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      body_ = body;
      tasks_ = n;
      next_.store(0, std::memory_order_relaxed);
      busy_ = int(workers_.size());
      ++generation_;
    }
    wake_.notify_all();
    drain(body, n);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return busy_ == 0; });
    return true;
  }

private:
  void drain(llvm::function_ref<void(int64_t)> body, int64_t n) {
    for (;;) {
      int64_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= n)
        return;
      body(i);
    }
  }

  void workerLoop() {
    uint64_t seen = 0;
    for (;;) {
      llvm::function_ref<void(int64_t)> body;
      int64_t n;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_)
          return;
        seen = generation_;
        body = body_;
        n = tasks_;
      }
      drain(body, n);
      {
        std::lock_guard<std::mutex> lock(mu_);
        --busy_;
      }
      done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex callMu_; ///< Held by the one caller using the pool.
  std::mutex mu_;
  std::condition_variable wake_, done_;
  llvm::function_ref<void(int64_t)> body_;
  int64_t tasks_ = 0;
  std::atomic<int64_t> next_{0};
  int busy_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

int defaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : int(n);
}

std::mutex poolMu;
int requestedThreads = defaultThreads();

/// The pool for the current thread count, created on first use. Replaced
/// (old workers joined) when setRingThreads changes the count.
std::shared_ptr<Pool> currentPool() {
  static std::shared_ptr<Pool> pool;
  std::lock_guard<std::mutex> lock(poolMu);
  if (!pool || pool->threads() != requestedThreads)
    pool = std::make_shared<Pool>(requestedThreads);
  return pool;
}

} // namespace

void mpc::rt::setRingThreads(int n) {
  std::lock_guard<std::mutex> lock(poolMu);
  requestedThreads = std::max(1, n);
}

int mpc::rt::ringThreads() {
  std::lock_guard<std::mutex> lock(poolMu);
  return requestedThreads;
}

void mpc::rt::parallelFor(int64_t n, llvm::function_ref<void(int64_t)> body) {
  if (n <= 0)
    return;
  if (n > 1 && ringThreads() > 1) {
    std::shared_ptr<Pool> pool = currentPool();
    if (pool->tryRun(n, body))
      return;
  }
  for (int64_t i = 0; i < n; ++i)
    body(i);
}

void mpc::rt::parallelRange(int64_t total, int64_t grain,
                            llvm::function_ref<void(int64_t, int64_t)> body) {
  if (total <= 0)
    return;
  int64_t chunks =
      std::min<int64_t>(ringThreads(), std::max<int64_t>(1, total / grain));
  if (chunks <= 1) {
    body(0, total);
    return;
  }
  parallelFor(chunks, [&](int64_t c) {
    body(total * c / chunks, total * (c + 1) / chunks);
  });
}
