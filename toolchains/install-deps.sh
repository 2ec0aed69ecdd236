#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Install (idempotently) the Debian 12 packages Lethe needs to build, test and run.
# Usage: install-deps.sh [build|test|cross]
#   build: what builds and runs lethe and lethed (the demo); no test packages
#   test:  build + what the test suite needs (GoogleTest, the tools tests call)
#   cross: test + the aarch64 cross compiler and qemu-user (tests/run-all.sh's default)
set -euo pipefail

what=${1:-test}
packages=(
  build-essential cmake ninja-build pkg-config ccache git
  libopencv-dev libtesseract-dev libleptonica-dev tesseract-ocr-eng
  libcamera-dev libmosquitto-dev libsqlite3-dev libssl-dev libsystemd-dev
  libtomlplusplus-dev nlohmann-json3-dev libcli11-dev
  mosquitto mosquitto-clients openssl sqlite3 python3
)
# Everything a test probes for lives here: tests/run-all.sh sets LETHE_REQUIRE_TOOLS=1, which
# turns a skip caused by a missing tool into a failure (tests/support/required_tool.h).
test_packages=(libgtest-dev libgmock-dev python3-numpy python3-jsonschema systemd)
case "$what" in
  build) ;;
  test) packages+=("${test_packages[@]}") ;;
  cross) packages+=("${test_packages[@]}" g++-aarch64-linux-gnu qemu-user-static) ;;
  *) echo "usage: $0 [build|test|cross]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages (run as root to install): ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The demo and tests start their own broker; keep the packaged one from holding port 1883.
if command -v systemctl >/dev/null && systemctl is-active --quiet mosquitto 2>/dev/null; then
  systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
