#!/usr/bin/env bash
# Installs dependencies, checks the C++ format (scripts/check-format.sh),
# builds mpcc and runs every test (unit, two-party, golden lit tests,
# end-to-end). This is what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# With torch: ctest's distill-e2e runs python/mpcc_distill.
MPCC_WITH_TORCH=1 ./scripts/install-deps.sh
./scripts/check-format.sh
build=${MPCC_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMPCC_WERROR=ON
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 900
