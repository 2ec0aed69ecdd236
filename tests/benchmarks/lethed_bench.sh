#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# lethed benchmarks (docs/performance.md): frames/s per core at 720p and 1080p with and without
# plates, frame → broker latency, peak RSS over a long run. Release build; not a test.
#
# Usage: tests/benchmarks/lethed_bench.sh [BUILD_DIR]   (default build/release)
#   RSS_SECONDS=600 (length of the peak-RSS run), FRAMES=120 (frames per throughput run)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
build=${1:-build/release}
lethe=$repo/$build/src/lethe
lethed=$repo/$build/src/lethed
rss_seconds=${RSS_SECONDS:-600}
frames=${FRAMES:-120}
samples=$repo/tests/data/samples
work=$(mktemp -d /tmp/lethe-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

# An empty scene (no plate anywhere) as a still, for the "without plates" runs.
python3 - "$work/empty.ppm" <<'PY'
import sys
w, h = 640, 480
rows = bytearray()
for y in range(h):
    v = 90 + 60 * y // h
    rows += bytes([v, v, v]) * w
open(sys.argv[1], "wb").write(b"P6\n%d %d\n255\n" % (w, h) + rows)
PY

config() { # config FILE REPLAY_DIR WORKERS EXTRA_CAMERA EXTRA_BROKER
	cat > "$1" <<CONF
[device]
id = "bench"
state_dir = "$work/state"
trust_dir = "$work/trust"
runtime_dir = "$work/run"
[log]
levels = "*:Warning,Daemon:Info"
[pipeline]
workers = $3
frame_queue = 4
[[camera]]
id = "bench"
source = "replay"
uri = "$2"
fps = 25
${4:-}
${5:-}
CONF
}
mkdir -p "$work"/{state,trust,run}
chmod 0750 "$work/state"

echo "# lethed throughput: one worker pinned to one core, replay as fast as possible"
echo "| frames | plates | frames/s (1 core) |"
echo "|---|---|---|"
vehicles=$(( (frames + 9) / 10 ))
for size in 1280x720 1920x1080; do
	for kind in plates none; do
		dir=$work/seq-$size-$kind
		if [[ $kind == plates ]]; then
			stills=()
			for ((i = 0; i < vehicles; i++)); do
				all=("$samples"/us-front.jpg "$samples"/us-angle.jpg "$samples"/br-front.jpg "$samples"/br-angle.jpg)
				stills+=("${all[i % 4]}")
			done
			"$lethe" camera make-replay --out "$dir" --size "$size" --frames 8 --gap 2 "${stills[@]}" >/dev/null
		else
			"$lethe" camera make-replay --out "$dir" --size "$size" --frames "$frames" --gap 0 "$work/empty.ppm" >/dev/null
		fi
		config "$work/bench.toml" "$dir" 1
		out=$("${pin[@]}" "$lethed" --config "$work/bench.toml" --exit-when-done 2>&1)
		fps=$(grep -o 'frames read in [0-9.]* s ([0-9.]* frames/s)' <<<"$out" | tail -1 | grep -o '([0-9.]*' | tr -d '(')
		n=$(grep -o '[0-9]* frames read' <<<"$out" | tail -1 | cut -d' ' -f1)
		printf '| %s %s | %s | %.1f |\n' "$size" "$n" "$kind" "$fps"
	done
done

echo
echo "# frame → broker latency (paced replay at 25 fps, real mosquitto on loopback)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
mosquitto_sub -h 127.0.0.1 -p "$port" -t lethe/bench/hits -q 1 -F '%U %p' > "$work/arrivals.txt" &
pids+=($!)
"$lethe" policy keygen --out "$work/officer" >/dev/null
cp "$work/officer.pub" "$work/trust/"
sed -e "s/@BROKER@/127.0.0.1:$port/" -e 's#lethe/demo/hits#lethe/bench/hits#' config/demo/policy.toml.in > "$work/policy.toml"
"$lethe" policy sign --key "$work/officer.key" --out "$work/policy.bundle" "$work/policy.toml" >/dev/null
"$lethe" policy install --trust "$work/trust" --state-dir "$work/state" "$work/policy.bundle" >/dev/null 2>&1
"$lethe" hotlist sign --key "$work/officer.key" --out "$work/hotlist.bundle" --id bench --version 1 config/demo/hotlist.csv >/dev/null
"$lethe" hotlist install --trust "$work/trust" --state-dir "$work/state" "$work/hotlist.bundle" >/dev/null 2>&1
stills=()
for ((i = 0; i < 10; i++)); do stills+=("$samples/us-front.jpg" "$samples/us-angle.jpg"); done
"$lethe" camera make-replay --out "$work/latency" --frames 8 --gap 8 "${stills[@]}" >/dev/null
config "$work/lat.toml" "$work/latency" 2 "replay_fps = 25" "[[broker]]
name = \"bench\"
port = $port
hit_topic = \"lethe/bench/hits\""
"$lethed" --config "$work/lat.toml" --exit-when-done 2>/dev/null
sleep 1
python3 - "$work/arrivals.txt" <<'PY'
import json, sys, datetime, statistics
lat = []
for line in open(sys.argv[1]):
    ts, _, payload = line.partition(" ")
    ev = json.loads(payload)
    seen = datetime.datetime.fromisoformat(ev["time"].replace("Z", "+00:00")).timestamp()
    lat.append(float(ts) - seen)
# "time" is when the vehicle was first seen; it stays in view 8 frames (0.32 s) and its track
# ends after the tracker's time-out, so the figure includes both by design.
lat.sort()
if lat:
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print(f"{len(lat)} hits: first sighting → broker p50 {p(0.5)*1000:.0f} ms, p99 {p(0.99)*1000:.0f} ms, "
          f"max {lat[-1]*1000:.0f} ms (includes 320 ms in view + tracker time-out)")
else:
    print("no hits arrived")
PY

echo
echo "# peak RSS: ${rss_seconds} s of 720p at 25 fps (looping replay, 2 workers)"
config "$work/rss.toml" "$work/seq-1280x720-plates" 2 "replay_fps = 25
loop = true"
/usr/bin/time -f '%M' -o "$work/rss.txt" timeout -s TERM "$rss_seconds" "$lethed" --config "$work/rss.toml" 2>/dev/null || true
echo "peak RSS $(( $(tail -1 "$work/rss.txt") / 1024 )) MiB"
