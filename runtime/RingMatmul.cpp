//===- runtime/RingMatmul.cpp - Blocked, vectorised ring matmul -----------===//
//
// C = A.B over Z_2^64, the hot loop of private inference. The structure is
// GotoBLAS's: B is packed in KC x NR panels (one stays in L1 while a block
// of A streams past), A in MR x KC panels (a block of them stays in L2), and
// a register-blocked micro-kernel accumulates an MR x NR tile of C in vector
// registers: C[i][j..j+NR) += A[i][p] * B[p][j..j+NR). With GCC vector
// extensions and -march=native the product is AVX-512 vpmullq and the sum
// vpaddq (eight lanes each); on narrower machines GCC splits the vectors.
//
// Work is split over the ring thread pool by output region: batches first,
// then column blocks (each thread packs only its own part of B), then row
// blocks when the output is too narrow to split by columns.
//
//===----------------------------------------------------------------------===//

#include "runtime/Parallel.h"
#include "runtime/Ring.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

using namespace mpc::rt;

namespace {

typedef u64 V8 __attribute__((vector_size(64)));
// V8 values cross no ABI boundary (every function here is internal and
// inlined), so GCC's warning that a 64-byte vector is returned differently
// without AVX-512 does not apply. The pragma cannot silence the note GCC
// prints for a V8 argument passed by value, so none is: storeV takes a
// reference.
#pragma GCC diagnostic ignored "-Wpsabi"

constexpr int kMR = 8;       ///< Rows of the register tile.
constexpr int kNV = 3;       ///< Vectors per tile row.
constexpr int kNR = 8 * kNV; ///< Columns of the register tile.
constexpr int64_t kKC = 256; ///< Depth of a packed block.
constexpr int64_t kMC = 128; ///< Rows of A packed at once.
constexpr int64_t kNC = 768; ///< Columns of B packed at once.
/// Below this many multiply-adds a product runs on the calling thread.
constexpr int64_t kParallelMacs = int64_t(1) << 20;
static_assert(kNC % kNR == 0 && kMC % kMR == 0, "blocks hold whole tiles");

__attribute__((always_inline)) inline V8 loadV(const u64 *p) {
  V8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
__attribute__((always_inline)) inline void storeV(u64 *p, const V8 &v) {
  std::memcpy(p, &v, sizeof(v));
}

/// tile[MR][NR] += Apanel[kc][MR] . Bpanel[kc][NR], for a full tile written
/// straight into C (leading dimension ldc).
__attribute__((always_inline)) inline void microKernel(int64_t kc,
                                                       const u64 *__restrict ap,
                                                       const u64 *__restrict bp,
                                                       u64 *c, int64_t ldc) {
  V8 acc[kMR][kNV];
#pragma GCC unroll 8
  for (int i = 0; i < kMR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v)
      acc[i][v] = V8{};
  for (int64_t p = 0; p < kc; ++p) {
    V8 b[kNV];
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v)
      b[v] = loadV(bp + p * kNR + 8 * v);
#pragma GCC unroll 8
    for (int i = 0; i < kMR; ++i) {
      V8 a = V8{} + ap[p * kMR + i];
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v)
        acc[i][v] += a * b[v];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < kMR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v)
      storeV(c + i * ldc + 8 * v, loadV(c + i * ldc + 8 * v) + acc[i][v]);
}

/// A partial tile (\p rows x \p cols of C): computed in a scratch tile.
__attribute__((always_inline)) inline void edgeKernel(int64_t kc, const u64 *ap,
                                                      const u64 *bp, u64 *c,
                                                      int64_t ldc, int64_t rows,
                                                      int64_t cols) {
  alignas(64) u64 tile[kMR * kNR] = {};
  microKernel(kc, ap, bp, tile, kNR);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      c[i * ldc + j] += tile[i * kNR + j];
}

/// Packs A[0:rows, 0:kc] (leading dim lda) as MR-row panels, p-major within
/// a panel; rows past the end are zero.
void packA(const u64 *a, int64_t lda, int64_t rows, int64_t kc, u64 *dst) {
  for (int64_t i0 = 0; i0 < rows; i0 += kMR) {
    int64_t mr = std::min<int64_t>(kMR, rows - i0);
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t r = 0; r < mr; ++r)
        dst[p * kMR + r] = a[(i0 + r) * lda + p];
      for (int64_t r = mr; r < kMR; ++r)
        dst[p * kMR + r] = 0;
    }
    dst += kMR * kc;
  }
}

/// Packs B[0:kc, 0:cols] (leading dim ldb) as NR-column panels; columns past
/// the end are zero.
void packB(const u64 *b, int64_t ldb, int64_t kc, int64_t cols, u64 *dst) {
  for (int64_t j0 = 0; j0 < cols; j0 += kNR) {
    int64_t nr = std::min<int64_t>(kNR, cols - j0);
    for (int64_t p = 0; p < kc; ++p) {
      const u64 *src = b + p * ldb + j0;
      u64 *d = dst + p * kNR;
      std::memcpy(d, src, nr * sizeof(u64));
      std::fill(d + nr, d + kNR, u64(0));
    }
    dst += kNR * kc;
  }
}

/// Per-thread packing buffers, grown on demand.
struct PackBuffers {
  std::vector<u64> a, b;
};
thread_local PackBuffers packBuffers;

/// C[0:m, 0:n] += A[0:m, 0:k] . B[0:k, 0:n] on the calling thread.
/// Compiled twice, the kernels inlined into each: for x86-64-v4 (AVX-512,
/// whose 32 registers hold the 8x3 tile and which multiplies 64-bit lanes
/// in one instruction) and for the build's -march; the loader picks the
/// first the CPU runs (GCC function multiversioning).
__attribute__((target_clones("arch=x86-64-v4", "default"))) void
gemmBlock(const u64 *a, int64_t lda, const u64 *b, int64_t ldb, u64 *c,
          int64_t ldc, int64_t m, int64_t k, int64_t n) {
  PackBuffers &buf = packBuffers;
  int64_t ncMax = std::min(kNC, (n + kNR - 1) / kNR * kNR);
  int64_t mcMax = std::min(kMC, (m + kMR - 1) / kMR * kMR);
  buf.b.resize(std::max<size_t>(buf.b.size(), kKC * ncMax));
  buf.a.resize(std::max<size_t>(buf.a.size(), kKC * mcMax));
  for (int64_t jc = 0; jc < n; jc += kNC) {
    int64_t nc = std::min(kNC, n - jc);
    for (int64_t pc = 0; pc < k; pc += kKC) {
      int64_t kc = std::min(kKC, k - pc);
      packB(b + pc * ldb + jc, ldb, kc, nc, buf.b.data());
      for (int64_t ic = 0; ic < m; ic += kMC) {
        int64_t mc = std::min(kMC, m - ic);
        packA(a + ic * lda + pc, lda, mc, kc, buf.a.data());
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const u64 *bp = buf.b.data() + jr * kc;
          int64_t nr = std::min<int64_t>(kNR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const u64 *ap = buf.a.data() + ir * kc;
            u64 *cp = c + (ic + ir) * ldc + jc + jr;
            int64_t mr = std::min<int64_t>(kMR, mc - ir);
            if (mr == kMR && nr == kNR)
              microKernel(kc, ap, bp, cp, ldc);
            else
              edgeKernel(kc, ap, bp, cp, ldc, mr, nr);
          }
        }
      }
    }
  }
}

/// One unit of parallel work: a rectangle of one batch's output.
struct Region {
  int64_t batch, i0, i1, j0, j1;
};

/// Splits \p batches products of m x k x n into regions for the pool.
std::vector<Region> splitWork(int64_t batches, int64_t m, int64_t k,
                              int64_t n) {
  int64_t threads = ringThreads();
  if (batches * m * k * n < kParallelMacs)
    threads = 1;
  std::vector<Region> regions;
  int64_t perBatch = batches >= threads ? 1 : (threads + batches - 1) / batches;
  int64_t colPanels = (n + kNR - 1) / kNR;
  int64_t rowPanels = (m + kMR - 1) / kMR;
  int64_t colParts = std::min(perBatch, colPanels);
  int64_t rowParts = std::min((perBatch + colParts - 1) / colParts, rowPanels);
  for (int64_t bt = 0; bt < batches; ++bt)
    for (int64_t r = 0; r < rowParts; ++r)
      for (int64_t cpart = 0; cpart < colParts; ++cpart)
        regions.push_back(
            {bt, rowPanels * r / rowParts * kMR,
             std::min(m, rowPanels * (r + 1) / rowParts * kMR),
             colPanels * cpart / colParts * kNR,
             std::min(n, colPanels * (cpart + 1) / colParts * kNR)});
  return regions;
}

/// Batched C_b (+)= A_b . B_b with element strides between batches (a
/// stride of 0 shares an operand).
void batchedGemm(const u64 *a, int64_t strideA, const u64 *b, int64_t strideB,
                 u64 *c, int64_t batches, int64_t m, int64_t k, int64_t n,
                 bool accumulate) {
  if (m == 0 || n == 0 || batches == 0)
    return;
  if (!accumulate)
    std::fill(c, c + batches * m * n, u64(0));
  if (k == 0)
    return;
  std::vector<Region> regions = splitWork(batches, m, k, n);
  parallelFor(int64_t(regions.size()), [&](int64_t t) {
    const Region &r = regions[t];
    gemmBlock(a + r.batch * strideA + r.i0 * k, k, b + r.batch * strideB + r.j0,
              n, c + r.batch * m * n + r.i0 * n + r.j0, n, r.i1 - r.i0, k,
              r.j1 - r.j0);
  });
}

} // namespace

void mpc::rt::matmulRaw(const u64 *a, const u64 *b, u64 *c, int64_t m,
                        int64_t k, int64_t n, bool accumulate) {
  batchedGemm(a, 0, b, 0, c, 1, m, k, n, accumulate);
}

RingTensor mpc::rt::matmul(const RingTensor &a, const RingTensor &b) {
  assert(a.rank() >= 2 && b.rank() >= 2 && "matmul operands need rank >= 2");
  int64_t m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
  assert(b.dim(-2) == k && "matmul inner dimensions differ");
  Shape outShape(a.shape().begin(), a.shape().end() - 2);
  int64_t batches = numElements(outShape);
  outShape.push_back(m);
  outShape.push_back(n);
  RingTensor c(outShape);
  if (b.rank() == 2) {
    // A shared B: the batch folds into the rows of one product.
    batchedGemm(a.data(), 0, b.data(), 0, c.data(), 1, batches * m, k, n,
                /*accumulate=*/true);
    return c;
  }
  assert(llvm::ArrayRef<int64_t>(a.shape()).drop_back(2) ==
             llvm::ArrayRef<int64_t>(b.shape()).drop_back(2) &&
         "matmul batch dimensions differ");
  batchedGemm(a.data(), m * k, b.data(), k * n, c.data(), batches, m, k, n,
              /*accumulate=*/true);
  return c;
}
