#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The README's main-job command: install dependencies, build a release, then run the appliance
# end to end on the bundled sample: a local mosquitto, a demo policy and hot list signed with a
# throwaway key, lethed on a replay of vehicles passing, and the hits as they reach the broker.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

# The demo needs no test packages (install-deps.sh build has none): the test suite is not
# configured. `run.sh --configure-only DIR` runs just this configure step into DIR with GoogleTest
# made unfindable; tests/run-all.sh calls it so that CI, whose machine has GoogleTest, proves
# the demo's build does not need it.
demo_cmake=(-DLETHE_BUILD_TESTS=OFF)
if [[ ${1:-} == --configure-only ]]; then
	cmake --preset release -B "${2:?usage: run.sh --configure-only BUILD_DIR}" "${demo_cmake[@]}" \
		-DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON -DCMAKE_DISABLE_FIND_PACKAGE_GMock=ON
	exit
fi

bash toolchains/install-deps.sh build
cache=/var/cache/lethe
mkdir -p "$cache" 2>/dev/null && [[ -w $cache ]] || cache=$PWD/build/cache
export CCACHE_DIR=${CCACHE_DIR:-$cache/ccache} CCACHE_BASEDIR=$PWD
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake --preset release "${demo_cmake[@]}" "${launcher[@]}" >/dev/null
cmake --build --preset release -j "$(nproc)" --target lethe lethed
lethe=$repo/build/release/src/lethe
lethed=$repo/build/release/src/lethed

work=$(mktemp -d /tmp/lethe-demo.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work"/{state,trust,run,broker}
chmod 0750 "$work/state"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "local MQTT broker"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/broker/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
CONF
# stderr, not a log file: mosquitto started as root drops to its own user, which cannot
# write into our private work directory.
mosquitto -c "$work/broker/mosquitto.conf" 2>"$work/broker/mosquitto.log" &
pids+=($!)
for _ in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
	sleep 0.1
done
echo "mosquitto on 127.0.0.1:$port"
# Everything lethed sends, hits and status, as a consumer would see it.
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'lethe/#' -v -q 1 > "$work/received.txt" &
pids+=($!)

say "throwaway privacy-officer key, demo policy and hot list (signed now)"
"$lethe" policy keygen --out "$work/officer" >/dev/null
cp "$work/officer.pub" "$work/trust/"
sed "s/@BROKER@/127.0.0.1:$port/" config/demo/policy.toml.in > "$work/policy.toml"
"$lethe" policy sign --key "$work/officer.key" --out "$work/policy.bundle" "$work/policy.toml"
"$lethe" policy install --trust "$work/trust" --state-dir "$work/state" "$work/policy.bundle"
"$lethe" hotlist sign --key "$work/officer.key" --out "$work/hotlist.bundle" --id demo-list \
	--version 1 config/demo/hotlist.csv
"$lethe" hotlist install --trust "$work/trust" --state-dir "$work/state" "$work/hotlist.bundle"

say "sample sequence: four vehicles passing (tests/data/samples)"
samples=tests/data/samples
"$lethe" camera make-replay --out "$work/replay" --frames 8 --gap 6 \
	"$samples/us-front.jpg" "$samples/us-angle.jpg" "$samples/br-front.jpg" "$samples/br-angle.jpg"
echo "on the demo hot list: 7ABC123 (us-front), PAG5219 (br-front); not listed: the other two"

sed -e "s#@WORK@#$work#g" -e "s/@PORT@/$port/" -e "s/@REGION@/us/" config/demo/lethed.toml.in \
	> "$work/lethed.toml"
"$lethe" config check "$work/lethed.toml"

say "lethed --exit-when-done (capture → read → track → match → publish / forget)"
"$lethed" --config "$work/lethed.toml" --exit-when-done
sleep 1

say "what arrived at the broker (topic, then the event)"
cp "$work/received.txt" /tmp/demo-received.txt 2>/dev/null || true
python3 - "$work/received.txt" <<'PY'
import json, sys
hits = 0
for line in open(sys.argv[1]):
    topic, _, payload = line.partition(" ")
    try:
        msg = json.loads(payload)
    except ValueError:
        print(f"{topic}: {payload.strip()}")
        continue
    if "plate" in msg:
        hits += 1
        hl = msg.get("hotlist", {})
        print(f"HIT  {topic}: plate {msg['plate']}  list {hl.get('list_id')} "
              f"({hl.get('category')}, match {hl.get('match_type')})  camera {msg.get('camera_id')}  "
              f"confidence {msg.get('confidence', 0):.2f}  stale {msg.get('stale')}  "
              f"crop {len(msg.get('crop_jpeg_base64', ''))} base64 chars  event {msg.get('event_id')}")
    else:
        print(f"     {topic}: {json.dumps(msg)[:160]}")
print(f"\n{hits} hit event(s) received; non-hits never leave the device "
      "(kept only as keyed digests under the demo policy).")
PY
