//===- support/MallocTuning.h - Allocator settings for big tensors -*- C++ -*-//
//
// The runtime allocates and frees tensors of tens of megabytes thousands of
// times per inference. With glibc's defaults every such block is a fresh
// mmap: the kernel zero-fills it page by page on first touch and unmaps it
// on free, and for bert-base that page-fault work took more time than the
// protocols themselves (7.2 s online, 72 s offline; 4.1 s and 16 s with the
// settings below, same bytes and rounds). glibc reads its allocator
// tunables only at process start, so the tools re-execute themselves once
// with them set.
//
//===----------------------------------------------------------------------===//
#pragma once

namespace mpc {

/// The GLIBC_TUNABLES the tools run with: blocks up to 32 MiB come from the
/// heap and are reused (never trimmed back to the kernel), and allocations
/// use transparent huge pages (512x fewer page faults).
extern const char *const kMallocTunables;

/// Re-executes the running program (argv as given) with kMallocTunables
/// appended to GLIBC_TUNABLES, once: the re-executed process (or one whose
/// GLIBC_TUNABLES already sets glibc.malloc.hugetlb) returns at once, as
/// does a process started with MPCC_MALLOC_TUNING=0 (to measure the
/// difference). Returns normally, untuned, where the re-exec is
/// not possible (no /proc/self/exe): the tuning is a speed-up, never a
/// requirement. Call first thing in main(), before threads exist.
void reexecWithMallocTuning(char **argv);

} // namespace mpc
