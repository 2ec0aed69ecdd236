#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The README's test command: install dependencies, build, and run every test.
# Builds the `debug` preset (ASan+UBSan, warnings as errors) and runs ctest on it,
# plus a release build of the binaries (what ships and what benchmarks measure).
set -euo pipefail
cd "$(dirname "$0")/.."

bash toolchains/install-deps.sh test
jobs=$(nproc)
start=$(date +%s)

export CCACHE_DIR=${CCACHE_DIR:-$PWD/build/ccache} CCACHE_BASEDIR=$PWD
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

cmake --preset debug "${launcher[@]}" >/dev/null
cmake --build --preset debug -j "$jobs"
# ASan's leak checker needs ptrace, which some sandboxes forbid; UBSan stays fatal.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --preset debug -j "$jobs" --timeout 600

cmake --preset release "${launcher[@]}" >/dev/null
cmake --build --preset release -j "$jobs"

echo "run-all: done in $(( $(date +%s) - start )) s"
