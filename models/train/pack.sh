#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Device pack for the plate-line model: everything a bare x86-64 Linux (glibc >= 2.36, no
# Tesseract, no network) needs to train it: .lstmf files and lists, the starter traineddata,
# lstmtraining + combine_tessdata with every non-glibc shared library they load (ldd), the
# net variants and run.sh (models/train/trainpack_run.sh). See docs/models.md.
#
# Usage: models/train/pack.sh [WORK=.trainwork] [PACK=.trainpack]
#   WORK is the output of models/train/plate_lines.py. The pack must stay <= 40 MiB.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(cd "${1:-$repo/.trainwork}" && pwd)
pack=${2:-$repo/.trainpack}
rm -rf "$pack"
mkdir -p "$pack/bin" "$pack/lstmf" "$pack/starter"

for b in lstmtraining combine_tessdata; do
	cp "$(command -v $b)" "$pack/bin/"
done
# Libraries: the ldd closure of both binaries, less glibc's own (the target has glibc).
libs=$(mktemp -d)
trap 'rm -rf "$libs"' EXIT
ldd "$pack/bin/lstmtraining" "$pack/bin/combine_tessdata" | awk '/=> \//{print $3}' | sort -u |
	while read -r so; do
		case $(basename "$so") in
		libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libresolv.so.* | \
			libutil.so.* | libanl.so.* | ld-linux*) continue ;;
		esac
		cp -L "$so" "$libs/"
	done
tar -C "$libs" -cf - . | xz -T1 -9 >"$pack/lib.tar.xz"
ls "$libs" >"$pack/libs.txt"

for m in $(cat "$work/train.list" "$work/eval.list"); do cp "$m" "$pack/lstmf/"; done
xargs -n1 basename <"$work/train.list" >"$pack/train.list"
xargs -n1 basename <"$work/eval.list" >"$pack/eval.list"
cp "$work/starter/plt/plt.traineddata" "$pack/starter/"
cp "$work/net_classes.txt" "$work/summary.txt" "$pack/"
cp "$repo/models/train/variants.tsv" "$pack/"
cp "$repo/models/train/trainpack_run.sh" "$pack/run.sh"
chmod +x "$pack/run.sh"
{
	echo "Lethe plate-line training pack, made $(date -u +%FT%TZ) from $(git -C "$repo" rev-parse --short HEAD)"
	echo "Tesseract: $(lstmtraining --version 2>&1 | head -1)"
	echo "Run: ./run.sh OUT_DIR [BUDGET_SECONDS=540] [VARIANTS=all]  (docs/models.md)"
} >"$pack/README.txt"
size=$(du -sb "$pack" | cut -f1)
echo "pack: $pack, $((size / 1024 / 1024)) MiB ($size bytes)"
if ((size > 40 * 1024 * 1024)); then
	echo "pack: over 40 MiB — make fewer lines (plate_lines.py --synth)" >&2
	exit 1
fi
