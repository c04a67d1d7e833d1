//===- runtime/Parallel.h - A small persistent thread pool -----*- C++ -*-===//
//
// The runtime's local kernels (ring matmul, large element-wise loops) split
// their work over ringThreads() threads: the calling thread plus a persistent
// pool of workers, so a call does not pay for thread creation. When two
// threads of one process call in at once (the two parties of an in-process
// test, say) the second caller runs its work alone instead of waiting.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>

namespace mpc::rt {

/// Runs \p body(i) for every i in [0, n), spread over the pool. Returns when
/// all calls have finished. \p body must be safe to call concurrently for
/// different i.
void parallelFor(int64_t n, llvm::function_ref<void(int64_t)> body);

/// Splits [0, total) into at most ringThreads() contiguous chunks of at
/// least \p grain elements and runs \p body(begin, end) on each.
void parallelRange(int64_t total, int64_t grain,
                   llvm::function_ref<void(int64_t, int64_t)> body);

} // namespace mpc::rt
