#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The README's main-job command: install dependencies, build a release, and run Lethe
# on the bundled sample input.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash toolchains/install-deps.sh build
export CCACHE_DIR=${CCACHE_DIR:-$PWD/build/ccache} CCACHE_BASEDIR=$PWD
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake --preset release "${launcher[@]}" >/dev/null
cmake --build --preset release -j "$(nproc)" --target lethe lethed

# Until the daemon pipeline lands (issue 5) the main job reads the bundled samples.
exec build/release/src/lethe read tests/data/samples
