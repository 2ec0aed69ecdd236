#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Accuracy and speed benchmark: `lethe read --json` over the labelled benchmark sets, scored.
#
# Usage: tests/bench/accuracy.sh [DATA_DIR] [-- extra lethe read options]
#   DATA_DIR  folder with us/ eu/ br/ (each with images and labels.tsv);
#             default: ../shared/data/benchmarks relative to the repository.
# Environment: LETHE (binary, default build/release/src/lethe; built with the release preset
#   if missing), THREADS (default 1), TOP (default 5), SCORER (default ../shared/tools/score-reads),
#   KEEP (a folder to keep the JSON lines in).
# Prints one table: top-1 %, top-N %, detection %, false reads per 100 images, median ms.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
data=${1:-$repo/../shared/data/benchmarks}
shift || true
[[ ${1:-} == -- ]] && shift
lethe=${LETHE:-$repo/build/release/src/lethe}
scorer=${SCORER:-$repo/../shared/tools/score-reads}
threads=${THREADS:-1}
top=${TOP:-5}

if [[ ! -x $lethe ]]; then
	echo "accuracy: building the release binary" >&2
	(cd "$repo" && cmake --preset release >/dev/null && cmake --build --preset release --target lethe -j 2 >/dev/null)
fi
[[ -d $data ]] || { echo "accuracy: no benchmark data at $data" >&2; exit 2; }
[[ -x $scorer ]] || { echo "accuracy: no scorer at $scorer" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-6s %7s %7s %7s %9s %7s %10s %9s\n' region images top1% topN% detect% false false/100 median_ms
for region in us eu br; do
	dir=$data/$region
	[[ -f $dir/labels.tsv ]] || continue
	# Exit status 1 only means some file could not be read; the scorer counts it.
	"$lethe" read --json --region "$region" --threads "$threads" --top "$top" "$@" "$dir" \
		>"$work/$region.jsonl" || true
	if [[ -n ${KEEP:-} ]]; then mkdir -p "$KEEP" && cp "$work/$region.jsonl" "$KEEP/"; fi
	"$scorer" "$dir/labels.tsv" "$work/$region.jsonl" --json >"$work/$region.score"
	python3 - "$region" "$work/$region.score" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
n = max(1, r["images"])
print("%-6s %7d %7.1f %7.1f %9.1f %7d %10.1f %9.1f" % (
    sys.argv[1], r["images"], r["top1_pct"], r["topN_pct"], r["detected_pct"],
    r["false_reads"], 100.0 * r["false_reads"] / n, r["median_ms"] or 0.0))
PY
done
