#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build the .deb from a release build and test install, upgrade (state kept) and purge
# (state destroyed) on this machine with dpkg. Needs root. Usage: package-test.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
[[ $(id -u) -eq 0 ]] || { echo "package-test: needs root (dpkg -i)" >&2; exit 1; }
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
(cd "$build" && cpack -G DEB -B "$out/v1" >/dev/null)
(cd "$build" && cpack -G DEB -B "$out/v2" -D CPACK_PACKAGE_VERSION="$version+upgrade1" >/dev/null)
deb1=$(ls "$out"/v1/lethe_*.deb)
deb2=$(ls "$out"/v2/lethe_*.deb)

# Start clean: a previous failed run may have left the package behind.
dpkg -s lethe >/dev/null 2>&1 && dpkg --purge lethe >/dev/null

echo "package-test: install $version"
dpkg -i "$deb1" >/dev/null || fail "dpkg -i failed (missing runtime dependencies?)"
for f in /usr/bin/lethe /usr/bin/lethed; do [[ -x $f ]] || fail "$f not installed"; done
/usr/bin/lethe --version >/dev/null || fail "installed lethe does not run"
# The reader's default models ship in the package (the installed folder is searched first).
for m in detector/plates.onnx ocr/plates.traineddata ocr/calibration-plates.tsv ocr/calibration-eng.tsv; do
  [[ -s /usr/share/lethe/models/$m ]] || fail "model $m not installed"
done
/usr/bin/lethe read --json tests/data/samples/us-front.jpg 2>/dev/null | grep -q '"text":"7ABC123"' ||
  fail "installed lethe read does not read the us sample with its default models"
for unit in /lib/systemd/system/lethed*.service; do
  [[ -e $unit ]] || continue
  if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$unit" 2>&1 | grep -v -e 'Failed to create' -e 'skipping' \
      | grep . && fail "systemd-analyze verify $unit"
  fi
done

# State a device accumulates: keys and an installed policy. Upgrades must keep them.
mkdir -p /var/lib/lethe/keys /var/lib/lethe/policies
echo "sentinel-key" >/var/lib/lethe/keys/package-test.key
echo "sentinel-policy" >/var/lib/lethe/policies/package-test.bundle
[[ -e /etc/lethe/lethed.toml ]] && echo "# technician edit" >>/etc/lethe/lethed.toml

echo "package-test: upgrade to $version+upgrade1"
dpkg -i "$deb2" >/dev/null || fail "upgrade failed"
[[ $(dpkg-query -W -f='${Version}' lethe) == "$version+upgrade1" ]] || fail "version after upgrade"
grep -q sentinel-key /var/lib/lethe/keys/package-test.key || fail "upgrade lost keys"
grep -q sentinel-policy /var/lib/lethe/policies/package-test.bundle || fail "upgrade lost policies"
if [[ -e /etc/lethe/lethed.toml ]]; then
  grep -q "technician edit" /etc/lethe/lethed.toml || fail "upgrade overwrote the config"
fi

echo "package-test: purge"
dpkg --purge lethe >/dev/null || fail "purge failed"
[[ ! -e /usr/bin/lethe ]] || fail "binary left after purge"
[[ ! -e /var/lib/lethe ]] || fail "state directory left after purge"
echo "package-test: install, upgrade and purge OK"
