//===- bench/bench_matmul.cpp - Ring matmul against OpenBLAS sgemm --------===//
//
// The local ring matmul (Z_2^64) is the one plaintext-sized computation left
// in the online phase of private inference, so its speed bounds the online
// time. This prints, for the BERT-base linear-layer shapes, the median time
// of matmul() next to OpenBLAS cblas_sgemm on float matrices of the same
// shape with the same number of threads (1 and 2), and their ratio. The
// target is a ratio of at most 4 (the ring does 64-bit multiplies on twice
// the bytes of a float GEMM).
//
// Usage: bench_matmul [reps]   (default 9; the median is printed)
//
//===----------------------------------------------------------------------===//

#include "runtime/Ring.h"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

using namespace mpc::rt;

namespace {

using Clock = std::chrono::steady_clock;

struct MatShape {
  int64_t m, k, n;
  const char *what;
};

const MatShape kShapes[] = {
    {128, 768, 768, "Q/K/V/output projection"},
    {128, 768, 3072, "FFN up"},
    {128, 3072, 768, "FFN down"},
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F> double timeOnce(F f) {
  auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Row {
  MatShape s;
  int threads;
  double ring, sgemm;
};

Row measure(const MatShape &s, int threads, int reps) {
  std::mt19937_64 rng(1);
  RingTensor a({s.m, s.k}), b({s.k, s.n});
  for (u64 &x : a.vec())
    x = rng();
  for (u64 &x : b.vec())
    x = rng();
  std::uniform_real_distribution<float> uni(-1, 1);
  std::vector<float> fa(s.m * s.k), fb(s.k * s.n), fc(s.m * s.n);
  for (float &x : fa)
    x = uni(rng);
  for (float &x : fb)
    x = uni(rng);

  setRingThreads(threads);
  openblas_set_num_threads(threads);
  RingTensor c;
  auto ring = [&] { c = matmul(a, b); };
  auto sgemm = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(s.m), int(s.n),
                int(s.k), 1.0f, fa.data(), int(s.k), fb.data(), int(s.n), 0.0f,
                fc.data(), int(s.n));
  };
  // Each kernel runs as a block after a warm-up (page faults, thread
  // pools). They are not interleaved: OpenBLAS's idle workers spin for a
  // while after each call and would steal a core from the ring matmul, so
  // the ring block runs first, after a pause that lets them go to sleep.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<double> tr, ts;
  ring();
  for (int r = 0; r < reps; ++r)
    tr.push_back(timeOnce(ring));
  sgemm();
  for (int r = 0; r < reps; ++r)
    ts.push_back(timeOnce(sgemm));
  Row row{s, threads, median(tr), median(ts)};
  return row;
}

} // namespace

int main(int argc, char **argv) {
  int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 9;
  fmt::print("Ring matmul (Z_2^64) vs OpenBLAS cblas_sgemm, median of {} "
             "runs\n\n",
             reps);
  fmt::print("{:<16} {:<24} {:>7} {:>10} {:>10} {:>9} {:>9} {:>7}\n",
             "m x k x n", "layer", "threads", "ring ms", "sgemm ms",
             "ring GMAC", "sgemm GMAC", "ratio");
  std::vector<Row> rows;
  for (int threads : {1, 2})
    for (const MatShape &s : kShapes) {
      Row r = measure(s, threads, reps);
      double macs = double(s.m) * s.k * s.n;
      fmt::print("{:<16} {:<24} {:>7} {:>10.2f} {:>10.2f} {:>9.1f} {:>10.1f} "
                 "{:>7.2f}\n",
                 fmt::format("{}x{}x{}", s.m, s.k, s.n), s.what, threads,
                 r.ring * 1e3, r.sgemm * 1e3, macs / r.ring / 1e9,
                 macs / r.sgemm / 1e9, r.ring / r.sgemm);
      rows.push_back(r);
    }
  double worst = 0;
  for (const Row &r : rows)
    worst = std::max(worst, r.ring / r.sgemm);
  fmt::print("\nworst ratio {:.2f} (target <= 4)\n", worst);

  // Private-weight linear layer (DESIGN.md §5): its online time at these
  // shapes is measured by bench_pwlinear, which runs the two-party protocol;
  // its figure belongs next to the ring matmul rows above when reported.
  fmt::print("private-weight linear layer (online, two parties): see "
             "bench_pwlinear\n");
  return 0;
}
