#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Fit the reader's confidence calibration (models/ocr/calibration-MODEL.tsv) on labelled crops.
"""Fit a monotone map raw confidence -> P(read is right) for one recogniser model.

Each labelled plate crop of the training sets (never ../shared/data/benchmarks, which is for
evaluation only) is pasted onto a scene-like canvas (the reader does not find plates in tight
crops alone), the canvases are read with

    lethe read --json --top 5 --calibration none --region us|br [EXTRA...]

and the read whose box holds the pasted plate's centre is scored: right when its best text
equals the label. Isotonic regression (pool-adjacent-violators) of right/wrong on the raw
confidence, pooled further until every block holds at least --min-block reads, gives the
knots of the piecewise-linear map, written as a TSV with provenance comments (the format
ConfidenceCalibration::create() reads, docs/reader.md). The reliability table on those crops
is printed.

Held-out data: a recogniser trained on these crops must be calibrated on crops it did not
train on. Pass the held-out list with --files LIST (one crop file name a line, '#' comments)
and the model with `-- --ocr-model NAME`.

Needs /usr/bin/python3 with Debian's python3-opencv and python3-numpy. Canvases go to a
temporary folder outside the repository, removed at the end.
"""
import argparse
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
SETS = [  # (region, folder with labels.tsv `file<TAB>plate`)
	("us", os.path.join(DATA, "plate-crops")),
	("br", os.path.join(DATA, "training", "br-plate-crops")),
]
CANVAS = (960, 540)  # w, h


def load_labels(folder):
	out = []
	with open(os.path.join(folder, "labels.tsv")) as f:
		header = f.readline().rstrip("\n").split("\t")
		if header[:2] != ["file", "plate"]:
			sys.exit("%s/labels.tsv: bad header %r" % (folder, header))
		for line in f:
			p = line.rstrip("\n").split("\t")
			if len(p) >= 2:
				out.append((p[0], "".join(ch for ch in p[1].upper() if ch.isalnum())))
	return out


def canvas_with(crop, rng):
	"""A car-like scene: gradient, body panel, grille bars, noise; the plate on the panel."""
	w, h = CANVAS
	img = np.zeros((h, w, 3), np.float32)
	top = np.array([rng.uniform(90, 200)] * 3) + rng.uniform(-20, 20, 3)
	bot = np.array([rng.uniform(40, 120)] * 3) + rng.uniform(-15, 15, 3)
	ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
	img[:] = top * (1 - ramp) + bot * ramp
	# Plate size: a width like a camera frame's plates (benchmarks: median 89 px us, 262 px
	# br), never upscaled more than 1.5x.
	ch, cw = crop.shape[:2]
	tw = int(np.clip(rng.uniform(100, 260), 60, 1.5 * cw))
	scale = tw / cw
	crop = cv2.resize(crop, (tw, max(8, int(round(ch * scale)))),
			  interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
	ph, pw = crop.shape[:2]
	cx = int(rng.uniform(0.3, 0.7) * w)
	cy = int(rng.uniform(0.45, 0.75) * h)
	body = np.array([rng.uniform(20, 230) for _ in range(3)], np.float32)
	bx0, by0 = max(0, cx - 3 * pw), max(0, cy - 2 * ph)
	bx1, by1 = min(w, cx + 3 * pw), min(h, cy + 2 * ph)
	img[by0:by1, bx0:bx1] = body
	# Grille: dark horizontal bars above the plate.
	for k in range(int(rng.integers(0, 4))):
		y = cy - ph - 12 * (k + 1)
		if y > by0:
			img[y:y + 5, max(bx0, cx - 2 * pw):min(bx1, cx + 2 * pw)] = body * 0.4
	x0, y0 = cx - pw // 2, cy - ph // 2
	x0, y0 = max(0, min(w - pw, x0)), max(0, min(h - ph, y0))
	img[y0:y0 + ph, x0:x0 + pw] = crop.astype(np.float32)
	img += rng.normal(0, rng.uniform(2, 7), img.shape).astype(np.float32)
	img = np.clip(img, 0, 255).astype(np.uint8)
	if rng.random() < 0.5:
		img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.3, 0.9))
	return img, (x0 + pw / 2.0, y0 + ph / 2.0)


def pav(xs, ys):
	"""Isotonic (non-decreasing) fit; returns blocks [x_min, x_max, x_mean, y_mean, n]."""
	blocks = []
	for x, y in sorted(zip(xs, ys)):
		if blocks and blocks[-1][1] == x:  # ties pool first
			b = blocks[-1]
			b[2] = (b[2] * b[4] + x) / (b[4] + 1)
			b[3] = (b[3] * b[4] + y) / (b[4] + 1)
			b[4] += 1
		else:
			blocks.append([x, x, x, float(y), 1])
		while len(blocks) > 1 and blocks[-2][3] >= blocks[-1][3]:
			merge(blocks)
	return blocks


def merge(blocks, i=None):
	"""Merge block i+1 into block i (default: the last two)."""
	if i is None:
		i = len(blocks) - 2
	a, b = blocks[i], blocks[i + 1]
	n = a[4] + b[4]
	blocks[i] = [a[0], b[1], (a[2] * a[4] + b[2] * b[4]) / n, (a[3] * a[4] + b[3] * b[4]) / n, n]
	del blocks[i + 1]


def knots(blocks, min_block):
	"""Pool small blocks into a neighbour until each holds min_block reads; knots at block
	means, plus the ends 0 and 1."""
	blocks = [list(b) for b in blocks]
	while len(blocks) > 1:
		small = [i for i, b in enumerate(blocks) if b[4] < min_block]
		if not small:
			break
		i = min(small, key=lambda k: blocks[k][4])
		if i == 0:
			merge(blocks, 0)
		elif i == len(blocks) - 1:
			merge(blocks, i - 1)
		else:  # into the neighbour with the closer rate
			left = abs(blocks[i - 1][3] - blocks[i][3]) <= abs(blocks[i + 1][3] - blocks[i][3])
			merge(blocks, i - 1 if left else i)
	pts = [(round(b[2], 4), round(b[3], 4)) for b in blocks]
	out = []
	for x, y in pts:
		if out and x <= out[-1][0]:
			continue
		out.append((x, y))
	if out[0][0] > 0:
		out.insert(0, (0.0, out[0][1]))
	if out[-1][0] < 1:
		out.append((1.0, out[-1][1]))
	return out, blocks


def apply(kn, x):
	if x <= kn[0][0]:
		return kn[0][1]
	for (x0, y0), (x1, y1) in zip(kn, kn[1:]):
		if x <= x1:
			return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
	return kn[-1][1]


BINS = [(0.0, 0.3, "< 0.3")] + [(a / 10, a / 10 + 0.1, "%.1f-%.1f" % (a / 10, a / 10 + 0.1))
				  for a in range(3, 9)] + [(0.9, 1.01, ">= 0.9")]


def table(rows, title):
	"""rows: (confidence, right) pairs."""
	print("\n%s\n\n| confidence | right | wrong | precision |\n|---|---|---|---|" % title)
	for lo, hi, name in BINS:
		r = sum(1 for c, ok in rows if lo <= c < hi and ok)
		n = sum(1 for c, ok in rows if lo <= c < hi)
		print("| %s | %d | %d | %s |" % (name, r, n - r, "%.2f" % (r / n) if n else "-"))


def main():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("--lethe", default=os.path.join(REPO, "build", "release", "src", "lethe"))
	ap.add_argument("--model", default="eng", help="recogniser model name (file name key)")
	ap.add_argument("--out", help="TSV to write (default models/ocr/calibration-MODEL.tsv)")
	ap.add_argument("--files", help="only these crops (file names, one a line): a held-out list")
	ap.add_argument("--threads", type=int, default=1)
	ap.add_argument("--seed", type=int, default=7)
	ap.add_argument("--min-block", type=int, default=40)
	ap.add_argument("--reads", help="reuse a JSON cache of reads from an earlier run")
	ap.add_argument("--keep-reads", help="write the scored reads (JSON) here")
	ap.add_argument("extra", nargs="*", help="after --: more `lethe read` options")
	a = ap.parse_args()
	out = a.out or os.path.join(REPO, "models", "ocr", "calibration-%s.tsv" % a.model)
	only = None
	if a.files:
		with open(a.files) as f:
			only = {os.path.basename(l.strip()) for l in f if l.strip() and not l.startswith("#")}

	rng = np.random.default_rng(a.seed)
	scored = []  # (region, file, label, raw confidence, best text)
	no_read = {}
	counts = {}
	if a.reads:
		with open(a.reads) as f:
			cache = json.load(f)
		scored = [tuple(r) for r in cache["scored"]]
		no_read, counts = cache["no_read"], cache["counts"]
	else:
		# Raw confidences: calibration off (a binary from before calibration has none to turn off).
		helptext = subprocess.run([a.lethe, "read", "--help"], stdout=subprocess.PIPE, text=True).stdout
		none = ["--calibration", "none"] if "--calibration" in helptext else []
		tmp = tempfile.mkdtemp(prefix="lethe-calib-")
		try:
			for region, folder in SETS:
				labels = [(f, t) for f, t in load_labels(folder) if only is None or f in only]
				# Labels the region syntax can never produce (specimen "0", stacked characters
				# dropped to 3-4) are label noise, not reader errors: left out.
				labels = [(f, t) for f, t in labels if 5 <= len(t) <= 8]
				counts[region] = len(labels)
				d = os.path.join(tmp, region)
				os.makedirs(d)
				centres = {}
				for i, (f, t) in enumerate(labels):
					crop = cv2.imread(os.path.join(folder, f), cv2.IMREAD_COLOR)
					if crop is None:
						continue
					img, c = canvas_with(crop, rng)
					name = "%05d.jpg" % i
					cv2.imwrite(os.path.join(d, name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
					centres[name] = (f, t, c)
				cmd = [a.lethe, "read", "--json", "--top", "5"] + none + [
				       "--region", region, "--threads", str(a.threads)] + a.extra + [d]
				print("calibrate: %s: %d canvases: %s" % (region, len(centres), " ".join(cmd[:-1])),
				      file=sys.stderr, flush=True)
				p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
				if p.returncode not in (0, 1):
					sys.exit("calibrate: lethe read failed (%d)" % p.returncode)
				miss = 0
				for line in p.stdout.splitlines():
					r = json.loads(line)
					f, t, (cx, cy) = centres[os.path.basename(r["file"])]
					hit = [q for q in r.get("plates", []) if q["box"][0] <= cx <= q["box"][0] + q["box"][2]
					       and q["box"][1] <= cy <= q["box"][1] + q["box"][3]]
					if not hit:
						miss += 1
						continue
					q = max(hit, key=lambda q: q["confidence"])
					scored.append((region, f, t, q["confidence"], q["text"]))
				no_read[region] = miss
		finally:
			shutil.rmtree(tmp, ignore_errors=True)
		if a.keep_reads:
			with open(a.keep_reads, "w") as f:
				json.dump({"scored": scored, "no_read": no_read, "counts": counts}, f)

	totals = {r: len(load_labels(folder)) for r, folder in SETS}
	try:
		commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
					text=True).stdout.strip() or "?"
	except OSError:
		commit = "?"
	xs = [s[3] for s in scored]
	ys = [1.0 if s[4] == s[2] else 0.0 for s in scored]
	kn, blocks = knots(pav(xs, ys), a.min_block)
	right = int(sum(ys))
	os.makedirs(os.path.dirname(out), exist_ok=True)
	with open(out, "w") as f:
		f.write("# Lethe confidence calibration for the recogniser model '%s'.\n" % a.model)
		f.write("# Fitted by models/train/calibrate.py on %s at %s (seed %d, min block %d; lethe read\n"
			"# --top 5 --calibration none, other options %s).\n"
			% (datetime.date.today().isoformat(), commit, a.seed, a.min_block, " ".join(a.extra) or "default"))
		f.write("# Data: crops pasted on synthetic scenes (training crops, never the benchmarks): %s;\n"
			% ", ".join("%s %d of %d (labels of 5-8 characters), %d gave no read" % (
				r, counts.get(r, 0), totals[r], no_read.get(r, 0)) for r, _ in SETS))
		f.write("# us = ../shared/data/plate-crops, br = ../shared/data/training/br-plate-crops.\n")
		f.write("# %d reads, %d right (best text == label). %s\n"
			% (len(scored), right, "Held-out list: %s." % os.path.basename(a.files) if a.files else "All crops."))
		f.write("# Isotonic regression (pool-adjacent-violators) of P(right) on the raw confidence,\n")
		f.write("# blocks pooled to >= %d reads; knots at block means; linear between.\n" % a.min_block)
		f.write("raw\tcalibrated\n")
		for x, y in kn:
			f.write("%.4f\t%.4f\n" % (x, y))
	print("calibrate: wrote %s (%d knots) from %d reads (%d right); not read: %s" % (
		out, len(kn), len(scored), right, ", ".join("%s %d/%d" % (r, no_read.get(r, 0), counts.get(r, 0)) for r, _ in SETS)))
	print("\nblocks (raw min..max, mean raw, P(right), reads):")
	for b in blocks:
		print("  %.3f..%.3f  %.3f  %.3f  %d" % (b[0], b[1], b[2], b[3], b[4]))
	for region in [None] + [r for r, _ in SETS]:
		rows = [(s[3], s[4] == s[2]) for s in scored if region is None or s[0] == region]
		table(rows, "raw confidence, %s crops" % (region or "all"))
		table([(apply(kn, c), ok) for c, ok in rows], "calibrated confidence (in-sample), %s crops" % (region or "all"))
	return 0


if __name__ == "__main__":
	sys.exit(main())
