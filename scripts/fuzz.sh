#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang-14 under AddressSanitizer
# and UndefinedBehaviorSanitizer (asserts on) and runs each, one after the
# other, for SECONDS seconds, starting from the committed seeds
# (fuzz/corpus/NAME) and the regression inputs (fuzz/regressions/NAME).
# Prints per target: executions, executions per second, corpus size,
# findings. New corpus entries go to BUILD/fuzz-corpus/NAME, findings
# (crash-*, leak-*, timeout-*, oom-*) to BUILD/fuzz-findings/NAME;
# reproduce one with
#   BUILD/fuzz/fuzz_NAME FILE
# and, once fixed, commit it to fuzz/regressions/NAME (the ctest entry
# fuzz-replay-NAME replays it in every build).
#
#   scripts/fuzz.sh SECONDS [TARGET...]     (default: every target)
#
# Exits non-zero when a target has findings in this run (files an earlier
# run left in BUILD/fuzz-findings/NAME are not counted again).
# MPCC_FUZZ_BUILD_DIR sets the build directory (default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
  exit 2
fi
seconds=$1
shift

MPCC_WITH_FUZZ=1 ./scripts/install-deps.sh
build=${MPCC_FUZZ_BUILD_DIR:-build-fuzz}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DMPCC_FUZZ=ON \
  >/dev/null
if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  targets=()
  for d in fuzz/corpus/*/; do
    targets+=("$(basename "$d")")
  done
fi
for t in "${targets[@]}"; do
  if [[ ! -d "fuzz/corpus/$t" ]]; then
    echo "fuzz.sh: no target '$t' (no fuzz/corpus/$t)" >&2
    exit 2
  fi
done
# Only the binaries that will run (the npy target needs one library, the
# onnx target most of the tree).
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

summary=()
failed=0
for t in "${targets[@]}"; do
  bin="$build/fuzz/fuzz_$t"
  if [[ ! -x "$bin" ]]; then
    echo "fuzz.sh: no target '$t' ($bin)" >&2
    exit 2
  fi
  work="$build/fuzz-corpus/$t"
  findings="$build/fuzz-findings/$t"
  mkdir -p "$work" "$findings"
  dirs=("$work" "fuzz/corpus/$t")
  [[ -d "fuzz/regressions/$t" ]] && dirs+=("fuzz/regressions/$t")
  log="$build/fuzz-$t.log"
  started="$build/fuzz-$t.started"
  : >"$started"
  echo "== $t: ${seconds}s (log $log)"
  # -timeout: one input may take 10 s at most (a hang is a finding);
  # -rss_limit_mb / -malloc_limit_mb: no input may make a reader hold or
  # ask for more than 2 GiB.
  status=0
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "${dirs[@]}" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$work" "fuzz/corpus/$t" -type f | wc -l)
  found=$(find "$findings" -type f -newer "$started" | wc -l)
  if ((status != 0 || found > 0)); then
    failed=1
    tail -n 40 "$log" >&2
  fi
  summary+=("$(printf '%-12s %12s %8s %8s %8s %6s' "$t" "${execs:-?}" \
    "${rate:-?}" "$corpus" "$found" "$status")")
done

echo
printf '%-12s %12s %8s %8s %8s %6s\n' target executions exec/s corpus \
  findings exit
printf '%s\n' "${summary[@]}"
if ((failed)); then
  echo "fuzz.sh: findings in $build/fuzz-findings (see the logs above)" >&2
  exit 1
fi
