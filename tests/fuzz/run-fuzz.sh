#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build the libFuzzer targets (preset `fuzz`) and run each for a set time, one after the other,
# reporting executions, exec/s, corpus size and crashes. Not part of CI (it takes SECONDS x
# targets). Findings (crash-*, leak-*, timeout-*, oom-*) are kept in build/fuzz/findings/<target>/
# — fix each and add the input as a regression test (tests/unit/fuzz_regressions_test.cpp).
# The corpus each run grows is kept in build/fuzz/work/<target>/ and reused by the next run.
# A summary line per target is appended to build/fuzz/summary.tsv.
# Usage: run-fuzz.sh [SECONDS_PER_TARGET (default 600)] [TARGET...]   (targets: *_fuzz names)
# Env: FUZZ_JOBS (build parallelism, default nproc), FUZZ_NICE (nice level, default 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
shift || true
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${FUZZ_JOBS:-$(nproc)}"
targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi
summary=build/fuzz/summary.tsv
[[ -f $summary ]] || printf 'date\ttarget\tseconds\texecutions\texec_per_s\tcorpus\tnew_units\tpeak_rss_mb\tfindings\n' >"$summary"
printf '%-20s %7s %12s %8s %7s %6s %8s\n' target seconds executions exec/s corpus rss_mb findings
for t in "${targets[@]}"; do
  work=build/fuzz/work/$t findings=build/fuzz/findings/$t
  mkdir -p "$work" "$findings"
  seeds=tests/fuzz/corpus/${t%_fuzz}
  seed_args=()
  [[ -d $seeds ]] && seed_args=("$seeds")
  log=build/fuzz/$t.log
  # Targets that talk to a live daemon or publisher wait on it (up to 15-30 s) themselves.
  timeout=10
  case $t in mqtt_broker_fuzz | control_fuzz) timeout=60 ;; esac
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  set +e
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0 \
  nice -n "${FUZZ_NICE:-0}" "build/fuzz/tests/fuzz/$t" -max_total_time="$seconds" \
    -rss_limit_mb=2048 -timeout="$timeout" -artifact_prefix="$findings/" -print_final_stats=1 \
    "$work" "${seed_args[@]}" >"$log" 2>&1
  set -e
  final_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n1; }
  execs=$(final_stat number_of_executed_units) rate=$(final_stat average_exec_per_sec)
  added=$(final_stat new_units_added) rss=$(final_stat peak_rss_mb)
  corpus=$(find "$work" -type f | wc -l)
  crashes=$(find "$findings" -type f | wc -l)
  printf '%-20s %7s %12s %8s %7s %6s %8s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" \
    "$corpus" "${rss:-?}" "$crashes"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$started" "$t" "$seconds" "${execs:-?}" \
    "${rate:-?}" "$corpus" "${added:-?}" "${rss:-?}" "$crashes" >>"$summary"
done
