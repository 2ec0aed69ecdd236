#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build the `tsan` preset (ThreadSanitizer) and run the threaded tests under it: pipeline,
# capture threads, tracker, publisher (libmosquitto network thread), retention purge worker,
# audit log writers, lethed end to end and its crash/disk-full harness. Every report fails
# the run (halt_on_error=1). Not part of CI (see docs/hardening.md for the time it takes).
#
# Usage: tests/run-tsan.sh [CTEST_REGEX]     (default: the threaded tests, below; a regex
#        builds every test executable)
# Environment: JOBS (default nproc), LETHE_CRASH_KILLS (the crash harness, default 30 here),
#   LETHE_TEST_TIME_SCALE (default 5: timing bars of the tests stretched for TSan's slowdown,
#   tests/support/time_scale.h; behaviour bars are unchanged).
# Suppressions: tests/tsan.supp (uninstrumented third-party internals only, each commented).
set -euo pipefail
cd "$(dirname "$0")/.."

# Threaded code by test name: capture threads and the pipeline, the tracker's expiry, the
# publisher and outbox, the purge worker, concurrent audit writers, the daemon end to end.
default_regex='^(Capture|CaptureThread|Pipeline|ReaderPipeline|Tracker|Publish|Publisher|Outbox|RetentionPurge|RetentionErase|AuditLog\.Concurrent|Lethed|LethedAudit|LethedCrash|DiskFull)'
# The test executables that hold them (the default run builds only these, lethe and lethed).
default_targets=(lethe lethed capture_test reader_pipeline_test tracker_test publish_test
  retention_purge_test retention_erase_test audit_log_test disk_full_test lethed_test
  lethed_audit_test lethed_crash_test)
regex=${1:-$default_regex}
targets=()
[[ $# -eq 0 ]] && for t in "${default_targets[@]}"; do targets+=(--target "$t"); done
jobs=${JOBS:-$(nproc)}

cache=/var/cache/lethe
mkdir -p "$cache" 2>/dev/null && [[ -w $cache ]] || cache=$PWD/build/cache
mkdir -p "$cache"
export CCACHE_DIR=${CCACHE_DIR:-$cache/ccache} CCACHE_BASEDIR=$PWD
launcher=()
command -v ccache >/dev/null &&
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

t0=$(date +%s)
cmake --preset tsan "${launcher[@]}" >/dev/null
cmake --build --preset tsan -j "$jobs" "${targets[@]}"
t_build=$(($(date +%s) - t0))

# halt_on_error: the first report fails the test. second_deadlock_stack: both stacks of a
# lock-order inversion. die_after_fork=0: Publish.KilledMidPublishIsDeliveredAfterRestart forks
# a publishing child from the threaded test process (TSan would kill it). The daemon and CLI
# the tests spawn inherit these options.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 die_after_fork=0 suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}"
export LETHE_CRASH_KILLS=${LETHE_CRASH_KILLS:-30}
export LETHE_TEST_TIME_SCALE=${LETHE_TEST_TIME_SCALE:-5}
log=build/tsan/tsan-tests.log
t1=$(date +%s)
set +e
ctest --test-dir build/tsan -R "$regex" -j "$jobs" --timeout 1800 --output-on-failure \
  >"$log" 2>&1
rc=$?
set -e
t_tests=$(($(date +%s) - t1))
tests=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log" | tail -n1)
failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n1)
reports=$(grep -c '^WARNING: ThreadSanitizer' "$log" || true)
tail -n 25 "$log"
echo "run-tsan: ${tests:-?} tests, ${failed:-?} failed, $reports ThreadSanitizer report(s);" \
  "build ${t_build} s, tests ${t_tests} s (log: $log)"
exit $rc
