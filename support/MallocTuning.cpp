//===- support/MallocTuning.cpp - Allocator settings for big tensors ------===//
//
// The re-exec keeps argv[0] and the rest of argv, so the program cannot
// tell it happened except by the marker variable; /proc/self/exe names the
// same binary even when argv[0] is a bare name found through PATH.
//
//===----------------------------------------------------------------------===//
#include "support/MallocTuning.h"

#include <cstdlib>
#include <string>

#include <unistd.h>

namespace mpc {

const char *const kMallocTunables =
    "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:"
    "glibc.malloc.trim_threshold=17179869184";

void reexecWithMallocTuning(char **argv) {
  const char *wanted = std::getenv("MPCC_MALLOC_TUNING");
  if (wanted && std::string(wanted) == "0")
    return;
  std::string tunables = kMallocTunables;
  if (const char *old = std::getenv("GLIBC_TUNABLES"); old && *old) {
    // Already set up (we are the re-executed process, or the user chose
    // their own hugetlb setting): run as started.
    if (std::string(old).find("glibc.malloc.hugetlb=") != std::string::npos)
      return;
    tunables = std::string(old) + ":" + tunables;
  }
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0)
    return;
  execv("/proc/self/exe", argv);
  // Still here: this process runs untuned; children it starts get the
  // settings from the environment at their start.
}

} // namespace mpc
