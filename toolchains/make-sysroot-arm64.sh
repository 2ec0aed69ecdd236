#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build a private Debian 12 arm64 sysroot for cross-compiling Lethe (no root, no dpkg changes).
#
# The arm64 -dev packages of OpenCV and Leptonica cannot be co-installed with the amd64 ones
# (multi-arch conflicts), so we resolve and download them with a private apt configuration
# (APT::Architecture=arm64, empty dpkg status) and unpack each .deb with `dpkg-deb -x`.
# Usage: make-sysroot-arm64.sh [SYSROOT]   (default build/sysroot-arm64; reused if complete)
set -euo pipefail
cd "$(dirname "$0")/.."

sysroot=$(realpath -m "${1:-build/sysroot-arm64}")
state=$(realpath -m "build/apt-arm64")
packages=(
  libc6-dev libstdc++-12-dev
  libopencv-dev libtesseract-dev libleptonica-dev libcamera-dev libmosquitto-dev
  libsqlite3-dev libssl-dev libsystemd-dev libgtest-dev libgmock-dev
  libtomlplusplus-dev nlohmann-json3-dev libcli11-dev
)
stamp="$sysroot/.lethe-sysroot-$(printf '%s\n' "${packages[@]}" | sha256sum | cut -c1-16)"
if [[ -f $stamp ]]; then
  echo "sysroot: $sysroot is up to date"
  exit 0
fi

mkdir -p "$state"/{lists/partial,cache/archives/partial} "$sysroot"
: >"$state/status"
apt_opts=(
  -o "APT::Architecture=arm64" -o "APT::Architectures=arm64"
  -o "Dir::State=$state" -o "Dir::State::Lists=$state/lists"
  -o "Dir::State::status=$state/status" -o "Dir::Cache=$state/cache"
  -o "Debug::NoLocking=1" -o "APT::Get::AllowUnauthenticated=false"
  -o "APT::Install-Recommends=false"
)
echo "sysroot: resolving arm64 packages"
apt-get "${apt_opts[@]}" update -qq
apt-get "${apt_opts[@]}" install -y -qq --download-only "${packages[@]}" >/dev/null

echo "sysroot: unpacking $(ls "$state"/cache/archives/*.deb | wc -l) packages into $sysroot"
for deb in "$state"/cache/archives/*.deb; do
  dpkg-deb -x "$deb" "$sysroot"
done

# Links that maintainer scripts (update-alternatives) would have made.
lib="$sysroot/usr/lib/aarch64-linux-gnu"
for alt in blas lapack; do
  for so in lib$alt.so.3 lib$alt.so; do
    if [[ ! -e $lib/$so ]]; then
      cand=$(find "$lib" -path "*/$alt/lib$alt.so.3" | head -n1 || true)
      [[ -n $cand ]] && ln -sf "$(realpath --relative-to="$lib" "$cand")" "$lib/$so"
    fi
  done
done

# Absolute symlinks would point into the build machine's root: make them relative.
find "$sysroot" -type l -lname '/*' | while read -r link; do
  target=$(readlink "$link")
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$target")" "$link"
done

rm -f "$sysroot"/.lethe-sysroot-*
touch "$stamp"
du -sh "$sysroot"
