#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build the libFuzzer targets (preset `fuzz`) and run each for a set time, reporting executions
# and crashes. Not part of CI (it takes SECONDS x targets). Crashes are kept in
# build/fuzz/findings/<target>/ — fix each and add the input as a regression test.
# Usage: run-fuzz.sh [SECONDS_PER_TARGET (default 600)] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
shift || true
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi
printf '%-22s %8s %14s %8s\n' target seconds executions crashes
for t in "${targets[@]}"; do
  work=build/fuzz/work/$t findings=build/fuzz/findings/$t
  mkdir -p "$work" "$findings"
  seeds=tests/fuzz/corpus/${t%_fuzz}
  seed_args=()
  [[ -d $seeds ]] && seed_args=("$seeds")
  log=build/fuzz/$t.log
  set +e
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  "build/fuzz/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$findings/" -print_final_stats=1 "$work" "${seed_args[@]}" \
    >"$log" 2>&1
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  crashes=$(find "$findings" -type f | wc -l)
  printf '%-22s %8s %14s %8s\n' "$t" "$seconds" "${execs:-?}" "$crashes"
done
