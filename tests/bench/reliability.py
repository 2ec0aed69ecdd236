#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Reliability table of reported confidences over `lethe read --json` lines kept by accuracy.sh.
"""Usage: tests/bench/reliability.py KEEP_DIR [DATA_DIR] [--per-region]

KEEP_DIR  the folder `KEEP=... tests/bench/accuracy.sh` filled ({us,eu,br}.jsonl)
DATA_DIR  the labelled sets ({us,eu,br}/labels.tsv; default ../shared/data/benchmarks)

Every plate read is counted once, in the bin of its reported confidence:
  right       its box overlaps a labelled plate with IoU > 0.4 and its text is the label
  wrong text  its box overlaps a labelled plate (IoU > 0.4) but the text differs
  false box   its box overlaps no labelled plate (IoU <= 0.4)
precision = right / (right + wrong text + false box). Texts compare as A-Z0-9 upper case
(as shared/tools/score-reads). Prints a Markdown table (all regions; --per-region: one each).
"""
import json
import os
import re
import sys
from collections import defaultdict

BINS = [(0.0, 0.3, "< 0.3")] + [(a / 10, (a + 1) / 10, "%.1f-%.1f" % (a / 10, (a + 1) / 10))
				  for a in range(3, 9)] + [(0.9, float("inf"), ">= 0.9")]


def norm(t):
	return re.sub(r"[^A-Z0-9]", "", str(t).upper())


def iou(a, b):
	ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
	iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
	inter = ix * iy
	union = a[2] * a[3] + b[2] * b[3] - inter
	return inter / union if union > 0 else 0.0


def classify(keep, data, region):
	labels = defaultdict(list)
	with open(os.path.join(data, region, "labels.tsv")) as f:
		f.readline()
		for line in f:
			p = line.rstrip("\n").split("\t")
			if len(p) >= 6:
				labels[p[0]].append(([float(v) for v in p[1:5]], norm(p[5])))
	out = []  # (confidence, "right" | "wrong" | "false")
	with open(os.path.join(keep, region + ".jsonl")) as f:
		for line in f:
			if not line.strip():
				continue
			r = json.loads(line)
			gts = labels.get(os.path.basename(r["file"]), [])
			for p in r.get("plates") or []:
				box = [float(v) for v in p["box"]]
				match = [t for b, t in gts if iou(b, box) > 0.4]
				kind = "false" if not match else ("right" if norm(p["text"]) in match else "wrong")
				out.append((float(p["confidence"]), kind))
	return out


def table(rows, title):
	print("%s\n\n| confidence | right | wrong text | false box | precision |\n|---|---|---|---|---|" % title)
	for lo, hi, name in BINS:
		k = [kind for c, kind in rows if lo <= c < hi]
		n = len(k)
		print("| %s | %d | %d | %d | %s |" % (name, k.count("right"), k.count("wrong"), k.count("false"),
						      "%.2f" % (k.count("right") / n) if n else "-"))
	hi = [kind for c, kind in rows if c >= 0.9]
	print("\n%d reads in all; %d at >= 0.9, %d of them right%s.\n" % (
		len(rows), len(hi), hi.count("right"),
		" (%.1f %%)" % (100.0 * hi.count("right") / len(hi)) if hi else ""))


def main(argv):
	args = [a for a in argv if not a.startswith("--")]
	if not args:
		print(__doc__, file=sys.stderr)
		return 2
	keep = args[0]
	repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
	data = args[1] if len(args) > 1 else os.path.join(repo, "..", "shared", "data", "benchmarks")
	regions = [r for r in ("us", "eu", "br") if os.path.exists(os.path.join(keep, r + ".jsonl"))]
	if not regions:
		print("reliability: no {us,eu,br}.jsonl in %s" % keep, file=sys.stderr)
		return 2
	per = {r: classify(keep, data, r) for r in regions}
	table([x for r in regions for x in per[r]], "All regions (%s)" % ", ".join(regions))
	if "--per-region" in argv:
		for r in regions:
			table(per[r], r)
	return 0


if __name__ == "__main__":
	sys.exit(main(sys.argv[1:]))
