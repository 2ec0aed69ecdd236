#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# run.sh of the plate-line training pack (models/train/pack.sh copies this in as run.sh).
#
# Usage: ./run.sh OUT_DIR [BUDGET_SECONDS=540] [VARIANTS=all|name,name]
# Trains the variants in variants.tsv in parallel from scratch (each with OMP threads =
# cores / variants, at most 4) for the wall-clock budget, stops each cleanly right after it
# wrote a checkpoint, and converts the last checkpoint of each into OUT_DIR/NAME/:
#   plt.traineddata (float), plt-int.traineddata (integer, --convert_to_int), train.log,
#   convert.log, the checkpoint itself; OUT_DIR/summary.txt: iterations and error rates.
# Needs only glibc >= 2.36 and coreutils (timeout); the Tesseract 5.3 training binaries and
# every other library they use are in bin/ and lib.tar.xz (unpacked into OUT_DIR/.lib).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 OUT_DIR [BUDGET_SECONDS] [VARIANTS]" >&2; exit 2; }
mkdir -p "$1" && out=$(cd "$1" && pwd)
budget=${2:-540}
want=${3:-all}
start=$(date +%s)
deadline=$((start + budget))
# Keep this much of the budget for stopping and converting.
reserve=$((budget / 12 < 20 ? 20 : budget / 12))

lib=$out/.lib
mkdir -p "$lib"
if ! tar -xJf "$here/lib.tar.xz" -C "$lib" 2>/dev/null; then
	python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
		"$here/lib.tar.xz" "$lib" || { echo "run.sh: cannot unpack lib.tar.xz" >&2; exit 1; }
fi
export LD_LIBRARY_PATH=$lib
train=$here/bin/lstmtraining
"$train" --version >"$out/version.txt" 2>&1 || { echo "run.sh: lstmtraining does not start:" >&2; cat "$out/version.txt" >&2; exit 1; }

sed "s|^|$here/lstmf/|" "$here/train.list" >"$out/train.list"
sed "s|^|$here/lstmf/|" "$here/eval.list" >"$out/eval.list"
starter=$here/starter/plt.traineddata
classes=$(cat "$here/net_classes.txt")

mapfile -t variants < <(grep -v '^#' "$here/variants.tsv" | grep -v '^$')
if [[ $want != all ]]; then
	keep=()
	for v in "${variants[@]}"; do
		[[ ",$want," == *",${v%%	*},"* ]] && keep+=("$v")
	done
	variants=("${keep[@]}")
fi
n=${#variants[@]}
[[ $n -gt 0 ]] || { echo "run.sh: no variants selected" >&2; exit 2; }
cores=$(nproc)
threads=$((cores / n))
((threads > 4)) && threads=4 # Tesseract's LSTM parallelises over its 4 gates
((threads < 1)) && threads=1
echo "run.sh: $n variant(s), $threads OMP thread(s) each, budget ${budget}s (reserve ${reserve}s), $cores cores" | tee "$out/summary.txt"

pids=()
names=()
for v in "${variants[@]}"; do
	IFS=$'\t' read -r name spec lr <<<"$v"
	spec=${spec//###/$classes}
	mkdir -p "$out/$name"
	echo "$spec lr=$lr" >"$out/$name/spec.txt"
	OMP_NUM_THREADS=$threads OMP_THREAD_LIMIT=$threads nice -n "${NICE:-0}" "$train" \
		--traineddata "$starter" --net_spec "$spec" --learning_rate "$lr" \
		--model_output "$out/$name/plt" --train_listfile "$out/train.list" \
		--eval_listfile "$out/eval.list" --max_iterations 10000000 \
		--target_error_rate 0.001 --debug_interval 0 >"$out/$name/train.log" 2>&1 &
	pids+=($!)
	names+=("$name")
done

# Stop each run right after it rewrote its checkpoint (written every 100 lines), so that
# the file is complete: SIGTERM ends lstmtraining at once (background jobs of a script
# ignore SIGINT).
stop_after_checkpoint() {
	local pid=$1 ck=$2 t0 m0 m
	m0=$(stat -c %y "$ck" 2>/dev/null || echo none)
	t0=$(date +%s)
	while kill -0 "$pid" 2>/dev/null && (($(date +%s) - t0 < 60)); do
		m=$(stat -c %y "$ck" 2>/dev/null || echo none)
		if [[ $m != "$m0" ]]; then
			sleep 0.3
			break
		fi
		sleep 0.05
	done
	kill -TERM "$pid" 2>/dev/null
	sleep 1
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

while (($(date +%s) < deadline - reserve)); do
	alive=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	((alive)) || break
	sleep 2
done
for i in "${!pids[@]}"; do
	stop_after_checkpoint "${pids[$i]}" "$out/${names[$i]}/plt_checkpoint" &
done
wait

for name in "${names[@]}"; do
	d=$out/$name
	ok=0
	# The last checkpoint, else the newest "best" checkpoint lstmtraining kept.
	for ck in "$d/plt_checkpoint" $(ls -t "$d"/plt_*.checkpoint 2>/dev/null); do
		[[ -s $ck ]] || continue
		if "$train" --stop_training --continue_from "$ck" --traineddata "$starter" \
			--model_output "$d/plt.traineddata" >"$d/convert.log" 2>&1 &&
			"$train" --stop_training --convert_to_int --continue_from "$ck" \
				--traineddata "$starter" --model_output "$d/plt-int.traineddata" \
				>>"$d/convert.log" 2>&1; then
			ok=1
			echo "from $ck" >>"$d/convert.log"
			break
		fi
	done
	last=$(grep -E '^At iteration' "$d/train.log" | tail -1)
	if ((ok)); then
		echo "$name: $(cat "$d/spec.txt"); $last; $(du -b "$d/plt.traineddata" | cut -f1) B float, $(du -b "$d/plt-int.traineddata" | cut -f1) B int" | tee -a "$out/summary.txt"
	else
		echo "$name: FAILED to convert (see $d/convert.log, $d/train.log); $last" | tee -a "$out/summary.txt"
	fi
	# Best eval figures seen while training (on the held-out real lines).
	grep -E 'BCER eval' "$d/train.log" | tail -1 | sed "s/^/$name eval: /" >>"$out/summary.txt"
done
rm -rf "$lib"
echo "run.sh: done in $(($(date +%s) - start)) s" | tee -a "$out/summary.txt"
