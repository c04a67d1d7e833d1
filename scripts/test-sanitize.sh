#!/usr/bin/env bash
# The sanitizer build CI runs after scripts/test.sh (.ci/run): mpcc built
# Debug (asserts on) with AddressSanitizer and UndefinedBehaviorSanitizer
# (GCC; -DMPCC_SANITIZE=ON, any report aborts the process), then the unit,
# two-party, mpc-run and fuzz-replay tests under them. Left out: the lit
# golden tests and ONNX's node tests (they run the same readers and passes
# as the unit tests, through the tools, and take half of the Release test
# time; neither is configured here) and the benchmarks. The libraries are
# instrumented, the test programs' own code is not (tests/CMakeLists.txt:
# Catch's macros cost 3.4x the compile time under ASan). Most of the time
# is the build: the tests take ~1.5 min. Run it alone:
#
#   scripts/test-sanitize.sh          (build directory build-sanitize, or
#                                      MPCC_SANITIZE_BUILD_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
build=${MPCC_SANITIZE_BUILD_DIR:-build-sanitize}
# -O1: instrumented code fast enough for the two-party tests (asserts stay
# on: Debug sets no NDEBUG); -g1: line tables for the reports, at a
# fraction of full debug information's build time.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DMPCC_SANITIZE=ON -DMPCC_WERROR=ON \
  -DMPCC_ENABLE_LIT=OFF
cmake --build "$build" -j"$(nproc)"

# detect_leaks: a leak fails the test like any other report;
# print_stacktrace: UBSan reports say where. Not detect_stack_use_after_return:
# with GCC 12 at -O1 its fake stack frames make a Catch test case crash
# (SEGV) while building a std::vector from an initializer list
# (RingShapeTest.cpp "slice") that it does not have without the option;
# not root-caused yet.
export ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1:strict_init_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 900
