#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Training data for Lethe's Tesseract plate-line model: synthetic plates + real crops -> lines.
"""Build everything the plate-line LSTM training needs, under one work folder.

1. Synthetic plates (us/eu/br syntaxes, fonts from Debian packages, frames, bolts, stickers,
   state names, perspective, blur, noise, JPEG, lighting, polarity) and real crops
   (../shared/data/plate-crops, US; ../shared/data/training/br-plate-crops, BR; about 10 % of
   them held out by file / by plate text, fixed seed) are written as plate crops.
2. Lethe's own row finder (the dev tool `ocr_lines`, built with the tests) cuts from each crop
   the three line renderings PlateReader hands to Tesseract; a crop is kept for training only
   when the row holds as many characters as its label.
3. Lines become multi-page TIFFs with WordStr boxes around the ink (Tesseract crops the line
   to its blobs plus 4 px at inference too), then `.lstmf` files via `tesseract ... lstm.train`.
4. The unicharset (A-Z 0-9) and the starter traineddata (`combine_lang_model`).

Nothing is read from ../shared/data/benchmarks. Output (never committed): WORK/
  lines/{train,eval}/...png  lstmf/*.lstmf  train.list  eval.list  eval_lines.tsv
  starter/plt/plt.traineddata  net_classes.txt  summary.txt
Usage: nice -n 10 models/train/plate_lines.py [--work .trainwork] [--synth 12000] ...
"""
import argparse
import math
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[2]
CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
LETTERS = CHARS[:26]
DIGITS = CHARS[26:]

# Fonts (Debian packages; docs/models.md lists them with their licences).
FONT_FILES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",  # fonts-dejavu-core
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf",  # fonts-liberation
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Regular.ttf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Bold.otf",  # fonts-urw-base35
    "/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Regular.otf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",  # fonts-roboto
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Regular.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Medium.ttf",
]

US_FORMATS = ["NLLLNNN", "LLLNNNN", "LLLNNN", "NNNLLL", "LLNNNNN", "NNNNNN", "LLNLNNN",
              "NNLLNNN", "LLLNNNL", "NLNNNN", "LLNNNN", "NNNNNNN", "LNNNNN", "LLLLNN",
              "NLLNNNN", "NNNLNN", "LLNNNL", "LLLNN", "NNNNN", "*", "*"]  # * = vanity 5-8
EU_FORMATS = ["LLNNNLL", "LLNNNLL", "LLLNNNN", "LLNNNN", "LLNNNNL", "LLLLNNN", "NLLNNNN",
              "LLNNLL", "LNNNLLL"]
BR_FORMATS = ["LLLNNNN", "LLLNNNN", "LLLNLNN"]
STATES = ["CALIFORNIA", "TEXAS", "FLORIDA", "NEW YORK", "OHIO", "GEORGIA", "ILLINOIS",
          "ARIZONA", "NEVADA", "OREGON", "MICHIGAN", "VIRGINIA", "COLORADO", "MAINE", "IOWA",
          "UTAH", "ALASKA", "MONTANA", "KANSAS", "INDIANA", "NEW JERSEY", "WISCONSIN"]
SLOGANS = ["SUNSHINE STATE", "GARDEN STATE", "EMPIRE STATE", "LAND OF LINCOLN",
           "GREAT LAKES", "DMV.GOV", "WILD WONDERFUL", "VACATIONLAND", "BIG SKY COUNTRY",
           "PEACH STATE", "GRAND CANYON STATE", "LONE STAR STATE"]
BR_CITIES = ["SAO PAULO", "CURITIBA", "RIO DE JANEIRO", "BELO HORIZONTE", "CAMPINAS",
             "PORTO ALEGRE", "SANTOS", "SALVADOR", "RECIFE", "BRASIL"]


def plate_text(rng, fmt):
    if fmt == "*":
        n = rng.randint(5, 8)
        return "".join(rng.choice(CHARS) for _ in range(n))
    return "".join(rng.choice(LETTERS) if c == "L" else rng.choice(DIGITS) for c in fmt)


class Fonts:
    def __init__(self):
        self.files = [f for f in FONT_FILES if os.path.exists(f)]
        if not self.files:
            sys.exit("plate_lines: none of the fonts is installed (docs/models.md)")
        self.cache = {}

    def get(self, path, cap_height):
        """A font whose capital H is about cap_height px tall."""
        key = (path, int(cap_height))
        if key not in self.cache:
            probe = ImageFont.truetype(path, 100)
            b = probe.getbbox("H")
            ratio = (b[3] - b[1]) / 100.0
            self.cache[key] = ImageFont.truetype(path, max(6, int(cap_height / ratio)))
        return self.cache[key]


def text_mask(font, groups, spacing, sep_kind, sep_w):
    """Render character groups into an L mask (255 = ink), tight vertically on the caps."""
    h_box = font.getbbox("H")
    cap_top, cap_h = h_box[1], h_box[3] - h_box[1]
    widths = []
    for g in groups:
        widths.append(sum(font.getbbox(c)[2] - font.getbbox(c)[0] for c in g) + spacing * (len(g) - 1))
    total = sum(widths) + sep_w * (len(groups) - 1) + 4
    im = Image.new("L", (int(total) + 4, int(cap_h * 1.3) + 4), 0)
    d = ImageDraw.Draw(im)
    x = 2
    for gi, g in enumerate(groups):
        for c in g:
            b = font.getbbox(c)
            d.text((x - b[0], 2 - cap_top), c, font=font, fill=255)
            x += b[2] - b[0] + spacing
        x -= spacing
        if gi < len(groups) - 1:
            cx = x + sep_w / 2
            cy = 2 + cap_h / 2
            if sep_kind == "dash":
                d.rectangle([cx - sep_w * 0.3, cy - cap_h * 0.05, cx + sep_w * 0.3, cy + cap_h * 0.05], fill=255)
            elif sep_kind == "dot":
                r = cap_h * 0.06
                d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
            elif sep_kind == "emblem":  # a small outlined shape between groups
                r = min(sep_w * 0.35, cap_h * 0.3)
                d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=255, width=max(1, int(r / 4)))
            x += sep_w
    return im.crop((0, 0, int(x) + 2, int(cap_h) + 4))


def rand_colour(rng, lo, hi):
    return tuple(rng.randint(lo, hi) for _ in range(3))


def render_plate(rng, fonts, region):
    """One synthetic plate crop (BGR uint8) and its text."""
    if region == "us":
        fmt = rng.choice(US_FORMATS)
        W, H = 600, 300
        char_h = rng.uniform(0.38, 0.5) * H
    elif region == "eu":
        fmt = rng.choice(EU_FORMATS)
        W, H = 780, 165
        char_h = rng.uniform(0.62, 0.72) * H
    else:
        fmt = rng.choice(BR_FORMATS)
        W, H = 690, 225
        char_h = rng.uniform(0.45, 0.55) * H
    text = plate_text(rng, fmt)
    mercosur = region == "br" and fmt == "LLLNLNN"

    # Colours: mostly dark on light; some light on dark (polarity).
    light_on_dark = rng.random() < (0.15 if region == "us" else 0.1)
    if region == "br" and not mercosur and rng.random() < 0.25:
        bg, fg = (40, 40, rng.randint(150, 210)), (235, 235, 235)  # red plate (BGR)
    elif light_on_dark:
        bg, fg = rand_colour(rng, 10, 90), rand_colour(rng, 190, 255)
    else:
        if region == "eu" and rng.random() < 0.2:
            bg = (40, rng.randint(190, 220), rng.randint(220, 250))  # yellow
        elif region == "br" and not mercosur:
            g = rng.randint(150, 215)
            bg = (g, g, g)
        else:
            bg = rand_colour(rng, 185, 255)
        fg = rand_colour(rng, 0, 70) if rng.random() < 0.6 else (
            rng.randint(60, 140), rng.randint(0, 60), rng.randint(0, 60))  # blue-ish ink
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = bg
    # Background artwork (us): soft colour bands and blobs.
    if region == "us" and rng.random() < 0.7:
        for _ in range(rng.randint(1, 4)):
            col = tuple(int(c) for c in np.clip(np.array(bg) + rng.randint(-70, 40), 0, 255))
            if rng.random() < 0.5:
                y = rng.randint(0, H)
                cv2.ellipse(img, (rng.randint(0, W), y + H), (rng.randint(W // 3, W), rng.randint(H // 3, H)),
                            0, 0, 360, col, -1)
            else:
                y = rng.randint(0, H)
                cv2.rectangle(img, (0, y), (W, y + rng.randint(5, H // 4)), col, -1)
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(1, 6))

    pil = Image.fromarray(img)
    d = ImageDraw.Draw(pil)
    fpath = rng.choice(fonts.files)
    small = fonts.get(rng.choice(fonts.files), max(8, char_h * rng.uniform(0.16, 0.3)))
    top_band = 0
    if region == "us":
        if rng.random() < 0.85:
            col = tuple(int(c) for c in (fg if rng.random() < 0.5 else rand_colour(rng, 0, 200)))
            st = rng.choice(STATES)
            tw = small.getbbox(st)[2]
            d.text(((W - tw) / 2 + rng.uniform(-40, 40), H * rng.uniform(0.04, 0.12)), st, font=small, fill=col)
        if rng.random() < 0.6:
            sl = rng.choice(SLOGANS)
            f2 = fonts.get(rng.choice(fonts.files), max(7, char_h * rng.uniform(0.12, 0.22)))
            tw = f2.getbbox(sl)[2]
            d.text(((W - tw) / 2, H * rng.uniform(0.8, 0.88)), sl, font=f2, fill=tuple(fg))
    elif region == "eu":
        band = int(W * 0.085)
        d.rectangle([0, 0, band, H], fill=(170, 60, 30))
        sf = fonts.get(fonts.files[0], H * 0.18)
        d.text((band * 0.25, H * 0.6), rng.choice(["SK", "D", "CZ", "A", "PL", "F", "I"]), font=sf, fill=(255, 255, 255))
        for k in range(8):
            a = 2 * math.pi * k / 8
            cx, cy = band / 2 + band * 0.3 * math.cos(a), H * 0.3 + band * 0.3 * math.sin(a)
            d.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=(40, 210, 240))
    elif region == "br":
        top_band = int(H * 0.2)
        if mercosur:
            d.rectangle([0, 0, W, top_band], fill=(160, 60, 20))
            d.text((W * 0.4, top_band * 0.15), "BRASIL", font=fonts.get(fonts.files[0], top_band * 0.55), fill=(255, 255, 255))
        else:
            city = rng.choice(BR_CITIES)
            cf = fonts.get(fpath, top_band * 0.55)
            tw = cf.getbbox(city)[2]
            d.text(((W - tw) / 2, top_band * 0.2), city, font=cf, fill=tuple(fg))

    # The characters.
    font = fonts.get(fpath, char_h)
    groups = [text]
    sep_kind, sep_w = "none", 0
    if region == "us" and len(text) >= 6 and rng.random() < 0.5:
        k = rng.randint(2, len(text) - 3)
        groups = [text[:k + 1], text[k + 1:]]
        sep_kind = rng.choice(["space", "dash", "emblem", "space"])
        sep_w = char_h * rng.uniform(0.3, 0.8)
    elif region == "br" and not mercosur:
        groups = [text[:3], text[3:]]
        sep_kind = rng.choice(["dash", "dot", "space"])
        sep_w = char_h * rng.uniform(0.3, 0.6)
    elif region == "eu" and rng.random() < 0.7:
        groups = [text[:2], text[2:]]
        sep_kind = rng.choice(["space", "emblem", "dash"])
        sep_w = char_h * rng.uniform(0.4, 0.8)
    spacing = int(char_h * rng.uniform(0.03, 0.18))
    m = text_mask(font, groups, spacing, sep_kind, sep_w)
    # Condense/expand to fit and to vary stroke proportions.
    x0 = int(W * (0.11 if region == "eu" else 0.05))
    avail = W - x0 - int(W * 0.05)
    sx = rng.uniform(0.8, 1.15)
    tw = int(m.width * sx)
    if tw > avail:
        tw = avail
    m = m.resize((max(4, tw), m.height), Image.BILINEAR)
    ox = x0 + rng.randint(0, max(0, avail - m.width))
    oy = max(0, int(top_band + (H - top_band - m.height) / 2 + rng.uniform(-0.05, 0.05) * H))
    ink = Image.new("RGB", m.size, tuple(int(c) for c in fg))
    pil.paste(ink, (ox, oy), m)
    img = np.array(pil)
    if rng.random() < 0.35:  # embossed look: a shifted shadow of the characters
        mm = np.array(m) > 0
        dx, dy = rng.randint(1, 4), rng.randint(1, 4)
        sh = np.zeros((H, W), bool)
        core = np.zeros((H, W), bool)
        hh, ww = min(mm.shape[0], H - oy - dy), min(mm.shape[1], W - ox - dx)
        sh[oy + dy:oy + dy + hh, ox + dx:ox + dx + ww] = mm[:hh, :ww]
        hh, ww = min(mm.shape[0], H - oy), min(mm.shape[1], W - ox)
        core[oy:oy + hh, ox:ox + ww] = mm[:hh, :ww]
        shade = sh & ~core
        img[shade] = (img[shade] * 0.6).astype(np.uint8)

    # Distractors: bolts, stickers, frame.
    for _ in range(rng.choice([0, 2, 2, 4])):
        bx = rng.choice([rng.uniform(0.15, 0.3), rng.uniform(0.7, 0.85)]) * W
        by = rng.choice([rng.uniform(0.08, 0.22), rng.uniform(0.78, 0.92)]) * H
        r = rng.uniform(0.025, 0.05) * H * (2 if region == "eu" else 1)
        col = rand_colour(rng, 60, 220)
        cv2.circle(img, (int(bx), int(by)), int(r), col, -1, cv2.LINE_AA)
        cv2.circle(img, (int(bx), int(by)), int(r), (30, 30, 30), 1, cv2.LINE_AA)
    for _ in range(rng.choice([0, 0, 1, 2])):
        sw, sh_ = rng.uniform(0.08, 0.16) * W, rng.uniform(0.1, 0.2) * H
        sx0 = rng.choice([rng.uniform(0.01, 0.1), rng.uniform(0.75, 0.9)]) * W
        sy0 = rng.choice([rng.uniform(0.02, 0.12), rng.uniform(0.7, 0.85)]) * H
        col = rand_colour(rng, 0, 255)
        cv2.rectangle(img, (int(sx0), int(sy0)), (int(sx0 + sw), int(sy0 + sh_)), col, -1)
        if rng.random() < 0.6:
            cv2.putText(img, str(rng.randint(10, 99)), (int(sx0 + sw * 0.1), int(sy0 + sh_ * 0.8)),
                        cv2.FONT_HERSHEY_SIMPLEX, sh_ / 40.0, (0, 0, 0), max(1, int(sh_ / 15)))
    if rng.random() < 0.6:
        t = rng.randint(2, 14)
        cv2.rectangle(img, (0, 0), (W - 1, H - 1), rand_colour(rng, 0, 120), t)
    if region == "us" and rng.random() < 0.25:  # dealer frame: a dark band at the bottom
        fh = int(H * rng.uniform(0.08, 0.16))
        cv2.rectangle(img, (0, H - fh), (W, H), rand_colour(rng, 0, 60), -1)
        cv2.putText(img, "DEALER", (int(W * 0.35), H - fh // 4), cv2.FONT_HERSHEY_SIMPLEX, fh / 40.0,
                    (200, 200, 200), max(1, fh // 12))
    return img, text


def photometric(rng, img, out_w):
    """Perspective, crop margin, scale, blur, lighting, noise, JPEG, as a camera would."""
    H, W = img.shape[:2]
    pad = int(0.25 * H)
    canvas = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                                value=rand_colour(rng, 0, 255))
    if rng.random() < 0.5:
        noise = np.random.default_rng(rng.randint(0, 1 << 30)).integers(0, 60, canvas.shape[:2], dtype=np.uint8)
        canvas = cv2.add(canvas, cv2.cvtColor(noise, cv2.COLOR_GRAY2BGR))
        canvas[pad:pad + H, pad:pad + W] = img
    # Perspective: jitter the plate corners; then crop the plate with a random margin.
    src = np.float32([[pad, pad], [pad + W, pad], [pad + W, pad + H], [pad, pad + H]])
    j = 0.07
    dst = src + np.float32([[rng.uniform(-j, j) * W, rng.uniform(-j, j) * H] for _ in range(4)])
    ang = math.radians(rng.uniform(-5, 5))
    c = dst.mean(axis=0)
    rot = np.float32([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    dst = (dst - c) @ rot.T + c
    M = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(canvas, M, (canvas.shape[1], canvas.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    x0, y0 = dst.min(axis=0)
    x1, y1 = dst.max(axis=0)
    mw, mh = (x1 - x0), (y1 - y0)
    mx = [rng.uniform(-0.03, 0.1) * mw for _ in range(2)]
    my = [rng.uniform(-0.04, 0.12) * mh for _ in range(2)]
    cx0, cy0 = max(0, int(x0 - mx[0])), max(0, int(y0 - my[0]))
    cx1, cy1 = min(warped.shape[1], int(x1 + mx[1])), min(warped.shape[0], int(y1 + my[1]))
    crop = warped[cy0:cy1, cx0:cx1]
    return camera(rng, crop, out_w)


def camera(rng, crop, out_w):
    h, w = crop.shape[:2]
    s = out_w / float(w)
    if rng.random() < 0.3:  # blur before downscaling (focus), too
        crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.5, 2.5))
    out = cv2.resize(crop, (out_w, max(8, int(h * s * rng.uniform(0.85, 1.15)))), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.4:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.2))
    if rng.random() < 0.15:  # horizontal motion blur
        k = rng.randint(2, 5)
        out = cv2.filter2D(out, -1, np.ones((1, k), np.float32) / k)
    # Lighting: a gradient and sometimes a shadow band; contrast and brightness.
    f = out.astype(np.float32)
    hh, ww = f.shape[:2]
    gx = np.linspace(rng.uniform(0.6, 1.2), rng.uniform(0.6, 1.2), ww)[None, :, None]
    gy = np.linspace(rng.uniform(0.7, 1.2), rng.uniform(0.7, 1.2), hh)[:, None, None]
    f = f * gx * gy
    if rng.random() < 0.2:
        x = rng.randint(0, ww)
        f[:, x:x + rng.randint(ww // 8, ww // 2)] *= rng.uniform(0.4, 0.8)
    f = (f - 128) * rng.uniform(0.5, 1.2) + 128 + rng.uniform(-40, 40)
    f += np.random.default_rng(rng.randint(0, 1 << 30)).normal(0, rng.uniform(0, 10), f.shape)
    out = np.clip(f, 0, 255).astype(np.uint8)
    ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(25, 95)])
    return cv2.imdecode(enc, cv2.IMREAD_COLOR)


def augment_real(rng, img):
    """A camera-like variant of a real crop: perspective, rotation, scale, blur, noise, JPEG."""
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    j = 0.05
    dst = src + np.float32([[rng.uniform(-j, j) * w, rng.uniform(-j, j) * h] for _ in range(4)])
    M = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(img, M, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.1:
        warped = 255 - warped  # polarity
    out_w = int(min(w, 320) * rng.uniform(0.35, 1.0))
    return camera(rng, warped, max(60, out_w))


def read_labels(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 2:
                rows.append((p[0], p[1]))
    return rows


def ink_box(grey):
    """Bounding box (x0, y0, x1, y1) of the dark pixels after Otsu, or None."""
    _, b = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    ys, xs = np.nonzero(b)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def balanced_copies(rows, held_out, base, cap):
    """Augmented copies per real training crop (file -> count). cap <= 1: `base` for every
    crop. Otherwise a crop whose rarest letter (or digit) is r times rarer than the mean
    letter (digit) of this region's training labels gets round(base x r) copies, at most
    base x cap: real crops are the only examples of each region's own plate font, and a
    letter the labels seldom hold (br: O, 50 of 3,432 letters) is otherwise learnt as its
    commoner look-alike (D, 121) — class balancing by oversampling."""
    train = [(f, t) for f, t in rows if not held_out(f, t)]
    if cap <= 1:
        return {f: base for f, _ in rows}
    count = {c: 0 for c in CHARS}
    for _, t in train:
        for c in t:
            count[c] += 1
    mean = {}
    for group in (LETTERS, DIGITS):
        m = sum(count[c] for c in group) / len(group)
        for c in group:
            mean[c] = m
    out = {}
    for f, t in rows:
        r = max(mean[c] / max(1, count[c]) for c in t)
        out[f] = int(min(base * cap, max(base, round(base * r))))
    return out


def run_ocr_lines(tool, jobs, any_count=False):
    """jobs: (image, label, out_prefix, region) -> list of (prefix, label, nchars, status)."""
    inp = "".join(f"{a}\t{b}\t{c}\t{d}\n" for a, b, c, d in jobs)
    cmd = [str(tool)] + (["--any"] if any_count else [])
    res = subprocess.run(cmd, input=inp, capture_output=True, text=True, check=True)
    out = []
    for line in res.stdout.splitlines():
        p = line.split("\t")
        out.append((p[2], p[1], int(p[3]), p[4]))
    return out


def one_blob(grey):
    """Lethe does not hand such lines to Tesseract (binarises_to_one_blob), and Tesseract's
    training makes no line of them either."""
    _, b = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return cv2.connectedComponents(b, connectivity=8)[0] == 2


def make_lstmf(lines, out_dir, chunk, rng, scale):
    """lines: list of (png, label). Multi-page TIFF + WordStr box -> .lstmf per chunk.

    Each line is cropped to its ink plus 8 px and scaled by `scale`: Tesseract crops a line to
    its blobs plus 4 px and scales it to the net's 36 px input anyway (Lethe's 32 px
    characters reach it ~29 px tall), so 0.7 loses little it would see and keeps the pack
    small (.lstmf stores PNG). Binary renderings stay as they are (scaling them would make
    them grey and larger as PNG)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = lines[:]
    rng.shuffle(lines)
    made = []
    skipped = 0
    for ci in range(0, len(lines), chunk):
        base = out_dir / f"lines{ci // chunk:04d}"
        pages, box = [], []
        part = lines[ci:ci + chunk]
        # A binary rendering first: if Tesseract makes no line of a file's first page it
        # cannot append the later ones (it reloads the .lstmf it did not write).
        part.sort(key=lambda x: not str(x[0]).endswith("_b50.png"))
        for png, label in part:
            g = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
            if g is None:
                continue
            b = ink_box(g)
            if b is None or one_blob(g):
                skipped += 1
                continue
            # Crop to the ink plus a margin (Tesseract uses the box plus 4 px).
            m = 8
            x0, y0 = max(0, b[0] - m), max(0, b[1] - m)
            x1, y1 = min(g.shape[1], b[2] + m), min(g.shape[0], b[3] + m)
            g = g[y0:y1, x0:x1]
            bx0, by0, bx1, by1 = b[0] - x0, b[1] - y0, b[2] - x0, b[3] - y0
            if scale != 1.0 and len(np.unique(g)) > 2:  # binary renderings: PNG keeps them tiny
                g = cv2.resize(g, (max(1, round(g.shape[1] * scale)), max(1, round(g.shape[0] * scale))),
                               interpolation=cv2.INTER_AREA)
                bx0, by0 = int(bx0 * scale), int(by0 * scale)
                bx1 = min(g.shape[1], int(math.ceil(bx1 * scale)))
                by1 = min(g.shape[0], int(math.ceil(by1 * scale)))
            H = g.shape[0]
            page = len(pages)
            box.append(f"WordStr {bx0} {H - by1} {bx1} {H - by0} {page} #{label}")
            box.append(f"\t {bx1} {H - by1} {bx1 + 1} {H - by0} {page}")
            pages.append(Image.fromarray(g))
        if not pages:
            continue
        pages[0].save(f"{base}.tif", save_all=True, append_images=pages[1:], compression="tiff_lzw")
        Path(f"{base}.box").write_text("\n".join(box) + "\n")
        r = subprocess.run(["tesseract", f"{base}.tif", str(base), "--psm", "7", "lstm.train"],
                           capture_output=True, text=True)
        if r.returncode != 0 or not Path(f"{base}.lstmf").exists():
            print(f"plate_lines: tesseract made no {base}.lstmf: {r.stderr[-300:]}", file=sys.stderr)
            continue
        os.remove(f"{base}.tif")
        os.remove(f"{base}.box")
        made.append(Path(f"{base}.lstmf").resolve())
    print(f"plate_lines: {out_dir.name}: {len(lines) - skipped} lines in {len(made)} .lstmf files, "
          f"{skipped} one-blob lines skipped", file=sys.stderr)
    return made


def make_starter(work):
    sd = work / "starter" / "script"
    sd.mkdir(parents=True, exist_ok=True)
    # combine_lang_model always reads a radical-stroke table (used only for CJK recoding).
    (sd / "radical-stroke.txt").write_text("3400\t1.3\n")
    chars = work / "starter" / "chars.txt"
    chars.write_text(LETTERS + "\n" + DIGITS + "\n")
    uni = work / "starter" / "plt.unicharset"
    subprocess.run(["unicharset_extractor", "--output_unicharset", str(uni), str(chars)],
                   check=True, capture_output=True)
    subprocess.run(["combine_lang_model", "--input_unicharset", str(uni), "--script_dir", str(sd),
                    "--output_dir", str(work / "starter"), "--lang", "plt", "--pass_through_recoder"],
                   check=True, capture_output=True)
    n = sum(1 for _ in open(uni)) - 1  # first line is the count
    (work / "net_classes.txt").write_text(f"{n}\n")
    return work / "starter" / "plt" / "plt.traineddata", n


def collect(a, work, tool, rng, summary):
    """Steps 1-2: crops -> line renderings; returns the training (png, label) list."""
    crops = work / "crops"
    for d in ("real", "synth", "eval"):
        (crops / d).mkdir(parents=True, exist_ok=True)
    ltrain, leval = work / "lines" / "train", work / "lines" / "eval"
    ltrain.mkdir(parents=True, exist_ok=True)
    leval.mkdir(parents=True, exist_ok=True)

    # Real crops: hold out ~10 % (US by file, BR by plate text: several crops per vehicle).
    split_rng = random.Random(a.seed)
    train_jobs, eval_jobs, held_files = [], [], []
    for region, folder in (("us", Path(a.us_crops)), ("br", Path(a.br_crops))):
        rows = [(f, t) for f, t in read_labels(folder / "labels.tsv")
                if 4 <= len(t) <= 9 and all(c in CHARS for c in t)]
        keys = sorted({(t if region == "br" else f) for f, t in rows})
        held = set(split_rng.sample(keys, max(1, round(len(keys) * a.holdout))))
        copies = balanced_copies(rows, lambda f, t: (t if region == "br" else f) in held,
                                 a.real_copies, a.balance)
        for f, t in rows:
            stem = f"{region}_{Path(f).stem}"
            if (t if region == "br" else f) in held:
                eval_jobs.append((str(folder / f), t, str(leval / stem), region))
                continue
            train_jobs.append((str(folder / f), t, str(ltrain / f"{stem}_0"), region))
            img = cv2.imread(str(folder / f), cv2.IMREAD_COLOR)
            for k in range(1, copies[f] + 1):
                out = crops / "real" / f"{stem}_{k}.jpg"
                cv2.imwrite(str(out), augment_real(rng, img))
                train_jobs.append((str(out), t, str(ltrain / f"{stem}_{k}"), region))
        summary.append(f"{region}: {len(rows)} labelled crops usable, {len(held)} held-out keys")
        held_files.extend(sorted(f for f, t in rows if (t if region == "br" else f) in held))
    # The held-out crops by file name, for calibrating a model trained here on crops it never
    # saw (models/train/calibrate.py --files).
    (work / "heldout_crops.txt").write_text(
        "# crops plate_lines.py held out (seed %d, holdout %g)\n" % (a.seed, a.holdout)
        + "".join(f + "\n" for f in held_files))
    res = run_ocr_lines(tool, train_jobs)
    real_ok = [(p, lab) for p, lab, n, s in res if s == "ok"]
    summary.append(f"real train crops (incl. augmented): {len(train_jobs)}, rows with the label's "
                   f"character count: {len(real_ok)}")
    eres = run_ocr_lines(tool, eval_jobs, any_count=True)
    with open(work / "eval_lines.tsv", "w") as f:
        f.write("line\tlabel\trendering\trow_chars\n")
        for p, lab, n, s in eres:
            if s != "ok":
                continue
            for suf in ("b50", "b25", "g"):
                if Path(f"{p}_{suf}.png").exists():
                    f.write(f"{p}_{suf}.png\t{lab}\t{suf}\t{n}\n")
    summary.append(f"held-out crops: {len(eval_jobs)}, with a row: {sum(s == 'ok' for *_, s in eres)}")

    # Synthetic plates: us 50 %, eu 25 %, br 25 % (old and Mercosur).
    fonts = Fonts()
    synth_jobs = []
    for i in range(a.synth):
        region = rng.choice(["us", "us", "eu", "br"])
        img, text = render_plate(rng, fonts, region)
        out_w = int(math.exp(rng.uniform(math.log(70), math.log(320))))
        crop = photometric(rng, img, out_w)
        p = crops / "synth" / f"s{i:06d}.jpg"
        cv2.imwrite(str(p), crop)
        synth_jobs.append((str(p), text, str(ltrain / f"s{i:06d}"), region))
    sres = run_ocr_lines(tool, synth_jobs)
    synth_ok = [(p, lab) for p, lab, n, s in sres if s == "ok"]
    summary.append(f"synthetic plates: {len(synth_jobs)}, rows with the right count: {len(synth_ok)}")

    lines = []
    for p, lab in real_ok + synth_ok:
        for suf in ("b50", "b25", "g"):
            if Path(f"{p}_{suf}.png").exists():
                lines.append((f"{p}_{suf}.png", lab))
    summary.append(f"training lines: {len(lines)} ({3 * len(real_ok)} real, {3 * len(synth_ok)} synthetic)")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=str(REPO / ".trainwork"))
    ap.add_argument("--synth", type=int, default=5000, help="synthetic plates (3 lines each; the pack must stay <= 40 MiB)")
    ap.add_argument("--real-copies", type=int, default=3, help="augmented copies per real train crop")
    ap.add_argument("--balance", type=float, default=0.0,
                    help="oversample real crops with rare characters, up to this many times "
                         "--real-copies (0 = off, as the shipped model's data; docs/models.md)")
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--chunk", type=int, default=400, help="lines per .lstmf")
    ap.add_argument("--line-scale", type=float, default=0.7, help="scale of the stored grey lines")
    ap.add_argument("--lstmf-only", action="store_true", help="redo only the .lstmf files from WORK/lines")
    ap.add_argument("--ocr-lines", default=str(REPO / "build/debug/tests/ocr_lines"))
    ap.add_argument("--us-crops", default=str(REPO.parent / "shared/data/plate-crops"))
    ap.add_argument("--br-crops", default=str(REPO.parent / "shared/data/training/br-plate-crops"))
    a = ap.parse_args()
    for p in (a.us_crops, a.br_crops):
        if "benchmarks" in Path(p).resolve().parts:
            sys.exit("plate_lines: never train on the benchmarks")
    work = Path(a.work).resolve()
    tool = Path(a.ocr_lines)
    if not tool.exists():
        sys.exit(f"plate_lines: no {tool} (cmake --build --preset debug --target ocr_lines)")
    rng = random.Random(a.seed)
    np.random.seed(a.seed)
    summary = []
    if a.lstmf_only:
        old = work / "summary.txt"
        summary = [l for l in old.read_text().splitlines() if not l.startswith(".lstmf")] if old.exists() else []
        lines = [tuple(l.split("\t")) for l in (work / "train_lines.tsv").read_text().splitlines()]
        for d in ("train", "eval"):
            for f in (work / "lstmf" / d).glob("*.lstmf"):
                f.unlink()
    else:
        lines = collect(a, work, tool, rng, summary)
        (work / "train_lines.tsv").write_text("".join(f"{p}\t{l}\n" for p, l in lines))
        (work / "summary.txt").write_text("\n".join(summary) + "\n")
    made = make_lstmf(lines, work / "lstmf" / "train", a.chunk, rng, a.line_scale)
    eval_lines = [(l.split("\t")[0], l.split("\t")[1]) for l in open(work / "eval_lines.tsv").read().splitlines()[1:]]
    made_eval = make_lstmf(eval_lines, work / "lstmf" / "eval", a.chunk, rng, a.line_scale)
    (work / "train.list").write_text("".join(f"{m}\n" for m in made))
    (work / "eval.list").write_text("".join(f"{m}\n" for m in made_eval))
    starter, n = make_starter(work)
    size = sum(m.stat().st_size for m in made + made_eval)
    summary.append(f".lstmf: {len(made)} train + {len(made_eval)} eval files, {size / 2**20:.1f} MiB; "
                   f"unicharset {n} classes; starter {starter}")
    (work / "summary.txt").write_text("\n".join(summary) + "\n")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
