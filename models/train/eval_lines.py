#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Read the held-out real plate lines with a Tesseract model: exact-line accuracy and CER.
"""Compare OCR models on the held-out real lines (never on the benchmark photos).

The lines are WORK/eval_lines.tsv from models/train/plate_lines.py: the three renderings
Lethe hands to Tesseract, cut by Lethe's row finder from the ~10 % of the real crops
(../shared/data/plate-crops, training/br-plate-crops) that training never sees. Tesseract
runs as Lethe configures it: LSTM only, one text line (psm 7), no dictionaries, A-Z 0-9
whitelist, 300 dpi.

Usage: models/train/eval_lines.py [--work .trainwork] MODEL [MODEL...]
  MODEL: a .traineddata path, or a language name found in Debian's tessdata (eng).
Prints per model and rendering: lines, exact %, character error rate % (edit distance /
label length), and the same on the rows whose blob count matches the label.
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WHITELIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def read_lines(model, images):
    if model.endswith(".traineddata"):
        p = Path(model).resolve()
        tessdir, lang = str(p.parent), p.name[: -len(".traineddata")]
    else:
        tessdir, lang = "/usr/share/tesseract-ocr/5/tessdata", model
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as lst:
        lst.write("".join(f"{i}\n" for i in images))
        lst.flush()
        cmd = ["tesseract", lst.name, "stdout", "--tessdata-dir", tessdir, "-l", lang, "--oem", "1",
               "--psm", "7", "-c", f"tessedit_char_whitelist={WHITELIST}", "-c", "user_defined_dpi=300",
               "-c", "page_separator=\f"]
        for d in ("load_system_dawg", "load_freq_dawg", "load_punc_dawg", "load_number_dawg",
                  "load_unambig_dawg", "load_bigram_dawg"):
            cmd += ["-c", f"{d}=0"]
        res = subprocess.run(cmd, capture_output=True, text=True, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"})
        if res.returncode != 0:
            sys.exit(f"eval_lines: tesseract failed for {model}: {res.stderr[-500:]}")
    pages = res.stdout.split("\f")
    texts = ["".join(c for c in p if c in WHITELIST) for p in pages[: len(images)]]
    if len(texts) != len(images):
        sys.exit(f"eval_lines: {len(texts)} results for {len(images)} lines ({model})")
    return texts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=str(REPO / ".trainwork"))
    ap.add_argument("--show", type=int, default=0, help="print this many misread lines per model")
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    rows = [l.rstrip("\n").split("\t") for l in open(Path(a.work) / "eval_lines.tsv")][1:]
    images = [r[0] for r in rows]
    print(f"{'model':<40} {'rendering':<9} {'lines':>5} {'exact%':>7} {'CER%':>6}   "
          f"{'rows=len':>8} {'exact%':>7} {'CER%':>6}")
    for model in a.models:
        texts = read_lines(model, images)
        shown = 0
        # Per rendering, then all renderings per region (line files are named REGION_...).
        for rend in ("b50", "b25", "g", "all", "all-us", "all-br"):
            sel = [i for i, r in enumerate(rows)
                   if rend in ("all", r[2]) or rend == "all-" + Path(r[0]).name.split("_")[0]]
            ok = [i for i in sel if int(rows[i][3]) == len(rows[i][1])]

            def score(ix):
                if not ix:
                    return 0, 0.0, 0.0
                exact = sum(texts[i] == rows[i][1] for i in ix)
                errs = sum(edit_distance(texts[i], rows[i][1]) for i in ix)
                chars = sum(len(rows[i][1]) for i in ix)
                return len(ix), 100.0 * exact / len(ix), 100.0 * errs / chars

            n, ex, cer = score(sel)
            n2, ex2, cer2 = score(ok)
            print(f"{Path(model).name:<40} {rend:<9} {n:>5} {ex:>7.1f} {cer:>6.1f}   {n2:>8} {ex2:>7.1f} {cer2:>6.1f}")
        for i, r in enumerate(rows):
            if shown < a.show and texts[i] != r[1]:
                print(f"  {Path(r[0]).name}: {r[1]} -> {texts[i]}")
                shown += 1


if __name__ == "__main__":
    main()
