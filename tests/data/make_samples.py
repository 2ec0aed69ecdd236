#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Render the bundled synthetic sample frames (tests/data/samples): plates on a car-like scene.
#
# Needs Debian's python3-pil, python3-numpy and fonts-dejavu-core (DejaVu Sans Condensed Bold,
# Bitstream Vera/DejaVu licence). Deterministic: the same files every run. Run from anywhere:
#   /usr/bin/python3 tests/data/make_samples.py
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "samples")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf"
SMALL = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

# name, region, text as printed, plate text, plate width px, rotation deg, perspective
SAMPLES = [
    ("us-front.jpg", "us", "7ABC123", "7ABC123", 180, 0.0, 0.00),
    ("us-angle.jpg", "us", "KLM4829", "KLM4829", 170, 7.0, 0.08),
    ("eu-front.jpg", "eu", "BA 482 KR", "BA482KR", 240, 0.0, 0.00),
    ("eu-angle.jpg", "eu", "RK 517 AN", "RK517AN", 230, -6.0, 0.06),
    ("br-front.jpg", "br", "PAG-5219", "PAG5219", 220, 0.0, 0.00),
    ("br-angle.jpg", "br", "MXQ-1601", "MXQ1601", 210, 5.0, 0.07),
]


def plate_image(region, printed, width):
    """The plate alone, RGBA, upright: rim, background, characters (and band/strip)."""
    if region == "us":
        w, h = width, width // 2
    elif region == "eu":
        w, h = width, int(width * 110 / 520)
    else:
        w, h = width, int(width * 130 / 400)
    im = Image.new("RGBA", (w, h), (235, 235, 228, 255))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w - 1, h - 1], outline=(40, 40, 40, 255), width=max(2, w // 90))
    x0 = 0
    if region == "eu":
        band = int(w * 45 / 520)
        d.rectangle([2, 2, band, h - 3], fill=(20, 50, 160, 255))
        f = ImageFont.truetype(SMALL, max(8, h // 5))
        d.text((band // 2, h - h // 4), "SK", font=f, fill=(255, 255, 255, 255), anchor="mm")
        x0 = band
    char_h = {"us": 0.48, "eu": 0.70, "br": 0.50}[region] * h
    size = int(char_h * 1.32)
    font = ImageFont.truetype(FONT, size)
    # Fit the text to the plate (88 % of the width left of any band), keeping cap height.
    while size > 8:
        l, t, r, b = d.textbbox((0, 0), printed, font=font, anchor="lt")
        if r - l <= 0.88 * (w - x0):
            break
        size -= 1
        font = ImageFont.truetype(FONT, size)
    cy = {"us": 0.52, "eu": 0.52, "br": 0.62}[region] * h
    d.text(((x0 + w) / 2, cy), printed, font=font, fill=(25, 25, 30, 255), anchor="mm")
    if region == "us":
        f = ImageFont.truetype(SMALL, max(8, h // 8))
        d.text((w / 2, h * 0.12), "SAMPLE STATE", font=f, fill=(150, 30, 30, 255), anchor="mm")
    elif region == "br":
        f = ImageFont.truetype(SMALL, max(8, h // 7))
        d.text((w / 2, h * 0.16), "SP - SAO PAULO", font=f, fill=(30, 30, 30, 255), anchor="mm")
    return im


def scene(rng, size=(640, 420)):
    """A car-like scene: sky/road gradient, a car body, bumper, grille, lights."""
    w, h = size
    y = np.linspace(0, 1, h)[:, None]
    base = (np.array([120, 130, 140]) * (1 - y) + np.array([70, 70, 72]) * y)
    img = np.repeat(base[:, None, :], w, axis=1).reshape(h, w, 3)
    img += rng.normal(0, 4, img.shape)
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    body = tuple(int(v) for v in rng.choice([[140, 20, 25], [30, 40, 90], [170, 170, 175]]))
    d.rounded_rectangle([60, 70, w - 60, h - 60], radius=40, fill=body)
    d.rectangle([90, 110, w - 90, 170], fill=(25, 25, 28))  # grille
    for gy in range(115, 170, 10):
        d.line([100, gy, w - 100, gy], fill=(70, 70, 75), width=2)
    d.ellipse([75, 95, 150, 140], fill=(230, 230, 210))
    d.ellipse([w - 150, 95, w - 75, 140], fill=(230, 230, 210))
    d.rectangle([50, h - 95, w - 50, h - 65], fill=(45, 45, 48))  # bumper
    return im


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for i, (name, region, printed, text, pw, rot, persp) in enumerate(SAMPLES):
        rng = np.random.default_rng(1000 + i)
        random.seed(1000 + i)
        im = scene(rng)
        plate = plate_image(region, printed, pw)
        if persp:
            w, h = plate.size
            k = persp * h
            # Shrink the right edge: the plate turned away from the camera.
            coeffs = find_coeffs([(0, 0), (w, k), (w, h - k), (0, h)],
                                 [(0, 0), (w, 0), (w, h), (0, h)])
            plate = plate.transform((w, h), Image.PERSPECTIVE, coeffs, Image.BICUBIC)
        plate = plate.rotate(rot, resample=Image.BICUBIC, expand=True)
        px = (im.width - plate.width) // 2 + int(rng.integers(-30, 30))
        py = 195 + int(rng.integers(-6, 6))
        im.paste(plate, (px, py), plate)
        # Plate rim box: the opaque pixels of the pasted plate.
        alpha = np.array(plate.split()[3]) > 128
        ys, xs = np.nonzero(alpha)
        box = (px + xs.min(), py + ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        im = im.filter(ImageFilter.GaussianBlur(0.6))
        arr = np.asarray(im).astype(np.float64) + rng.normal(0, 3, (im.height, im.width, 3))
        im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        im.save(os.path.join(OUT, name), quality=80)
        rows.append("%s\t%d\t%d\t%d\t%d\t%s\t%s" % ((name,) + tuple(int(v) for v in box) + (text, region)))
    with open(os.path.join(OUT, "labels.tsv"), "w") as f:
        f.write("file\tx\ty\tw\th\tplate\tregion\n")
        f.write("\n".join(rows) + "\n")


def find_coeffs(pa, pb):
    """PIL perspective coefficients mapping output quad pa to input quad pb."""
    m = []
    for p1, p2 in zip(pa, pb):
        m.append([p1[0], p1[1], 1, 0, 0, 0, -p2[0] * p1[0], -p2[0] * p1[1]])
        m.append([0, 0, 0, p1[0], p1[1], 1, -p2[1] * p1[0], -p2[1] * p1[1]])
    a = np.array(m, dtype=np.float64)
    b = np.array(pb, dtype=np.float64).reshape(8)
    return np.linalg.solve(a, b).tolist()


if __name__ == "__main__":
    main()
