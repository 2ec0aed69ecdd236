#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# lethed benchmarks (docs/performance.md): frames/s per core at 720p and 1080p with and without
# plates, frame → broker latency, peak RSS over a long run. Release build; not a test.
#
# Usage: tests/benchmarks/lethed_bench.sh [BUILD_DIR]   (default build/release)
#   RSS_SECONDS=600 (length of the RSS/CPU run), FRAMES=120 (frames per throughput run),
#   LAT_VEHICLES=40 (hit vehicles in the latency run, each followed by a non-hit one),
#   LAT_FPS=25 (pace of the latency run: frames/s, real time)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
build=${1:-build/release}
lethe=$repo/$build/src/lethe
lethed=$repo/$build/src/lethed
rss_seconds=${RSS_SECONDS:-600}
frames=${FRAMES:-120}
lat_vehicles=${LAT_VEHICLES:-40}
lat_fps=${LAT_FPS:-25}
samples=$repo/tests/data/samples
work=$(mktemp -d /tmp/lethe-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

# An empty scene (no plate anywhere) as a still, for the "without plates" runs.
python3 - "$work/empty.bmp" <<'PY'
import struct, sys
w, h = 640, 480  # 24-bit BMP (the image loader takes JPEG, PNG and BMP): rows bottom-up
rows = bytearray()
for y in reversed(range(h)):
    v = 90 + 60 * y // h
    rows += bytes([v, v, v]) * w  # w * 3 is a multiple of 4: no row padding
header = struct.pack("<2sIHHI", b"BM", 54 + len(rows), 0, 0, 54)
info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(rows), 2835, 2835, 0, 0)
open(sys.argv[1], "wb").write(header + info + rows)
PY
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -m), $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# RSS_SECONDS=$rss_seconds FRAMES=$frames LAT_VEHICLES=$lat_vehicles LAT_FPS=$lat_fps $0 $build"
echo

config() { # config FILE REPLAY_DIR WORKERS EXTRA_CAMERA EXTRA_BROKER [FPS]
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
fps = ${6:-25}
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
			"$lethe" camera make-replay --out "$dir" --size "$size" --frames "$frames" --gap 0 "$work/empty.bmp" >/dev/null
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
for ((i = 0; i < lat_vehicles; i++)); do stills+=("$samples/us-front.jpg" "$samples/us-angle.jpg"); done
n_lat=$("$lethe" camera make-replay --out "$work/latency" --frames 8 --gap 8 "${stills[@]}" | grep -o '^[0-9]*')
config "$work/lat.toml" "$work/latency" 2 "replay_fps = $lat_fps" "[[broker]]
name = \"bench\"
port = $port
hit_topic = \"lethe/bench/hits\"" "$lat_fps"
t0=$(date +%s.%N)
"$lethed" --config "$work/lat.toml" --exit-when-done 2>/dev/null
t1=$(date +%s.%N)
sleep 1
python3 - "$work/arrivals.txt" "$lat_fps" "$n_lat" "$t0" "$t1" <<'PY'
import json, sys, datetime
fps, frames, t0, t1 = float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
lat = []
for line in open(sys.argv[1]):
    ts, _, payload = line.partition(" ")
    ev = json.loads(payload)
    seen = datetime.datetime.fromisoformat(ev["time"].replace("Z", "+00:00")).timestamp()
    lat.append(float(ts) - seen)
print(f"{frames} frames at {fps:g} fps: {frames / fps:.1f} s of video, replayed in {t1 - t0:.1f} s "
      f"({'kept up' if t1 - t0 < frames / fps + 5 else 'FELL BEHIND: latency includes queueing'})")
# "time" is when the vehicle was first seen. By design the event leaves when its track ends:
# the vehicle is in view for 8 frames, then the track ends after max_missed_frames (15) frames
# or timeout_ms (1000 ms) of frame time without it, whichever comes first.
in_view = 7 / fps
end_wait = min(15 / fps, 1.0)
lat.sort()
if lat:
    p = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))]
    after = sorted(x - in_view - end_wait for x in lat)
    print(f"{len(lat)} hits: first sighting → broker p50 {p(lat, 0.5)*1000:.0f} ms, "
          f"p99 {p(lat, 0.99)*1000:.0f} ms, max {lat[-1]*1000:.0f} ms")
    print(f"  of which {in_view*1000:.0f} ms in view + {end_wait*1000:.0f} ms end-of-track wait "
          f"(tracker, by design); after the track ended (read, match, outbox fsync, publish, "
          f"broker): p50 {p(after, 0.5)*1000:.0f} ms, p99 {p(after, 0.99)*1000:.0f} ms")
else:
    print("no hits arrived")
PY

echo
echo "# RSS and CPU: ${rss_seconds} s of 720p at 25 fps (looping replay, 2 workers)"
config "$work/rss.toml" "$work/seq-1280x720-plates" 2 "replay_fps = 25
loop = true"
"$lethed" --config "$work/rss.toml" 2>"$work/rss.log" &
lp=$!
pids+=("$lp")
tick=$(getconf CLK_TCK)
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$lp/status" 2>/dev/null || echo 0; }
start=$SECONDS
: >"$work/rss-samples.txt"
while ((SECONDS - start < rss_seconds)) && kill -0 "$lp" 2>/dev/null; do
	sleep 5
	echo "$((SECONDS - start)) $(rss_kib)" >>"$work/rss-samples.txt"
done
# CPU of every lethed thread (utime + stime, /proc/PID/stat fields 14 and 15) and the peak RSS,
# read before SIGTERM so that shutdown is not counted.
read -r utime stime < <(awk '{print $14, $15}' "/proc/$lp/stat")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$lp/status")
kill -TERM "$lp"
wait "$lp" || true
summary=$(grep -o 'pipeline stopped: .*' "$work/rss.log" | tail -1)
echo "lethed ${summary#pipeline stopped: }"
python3 - "$work/rss-samples.txt" "$hwm" "$utime" "$stime" "$tick" "$summary" <<'PY'
import re, sys
samples = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
hwm, utime, stime, tick = (int(x) for x in sys.argv[2:6])
frames = re.search(r"(\d+) frames read", sys.argv[6])
mib = lambda kib: kib / 1024
if samples:
    after_1min = [r for t, r in samples if t >= 60] or [r for _, r in samples]
    print(f"RSS (VmRSS every 5 s): at {samples[0][0]} s {mib(samples[0][1]):.0f} MiB, "
          f"after 1 min min {mib(min(after_1min)):.0f} / max {mib(max(after_1min)):.0f} MiB, "
          f"at {samples[-1][0]} s {mib(samples[-1][1]):.0f} MiB; peak (VmHWM) {mib(hwm):.0f} MiB")
cpu = (utime + stime) / tick
line = f"CPU {cpu:.1f} s (user {utime / tick:.1f} s, system {stime / tick:.1f} s)"
if frames and int(frames.group(1)):
    line += f", {cpu / int(frames.group(1)) * 1000:.0f} ms CPU per frame read (all threads)"
print(line)
PY
