#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Train Lethe's plate detector (a small CenterNet-style CNN) and export it to ONNX for cv::dnn.
#
# Needs Debian's python3-torch (1.13), python3-opencv, python3-numpy and fonts-dejavu-core.
# Data (read in place, never copied into the repository):
#   --ccby   DIR   training/us-plates-ccby (YOLO boxes, CC BY 4.0): train/ for training, valid/
#                  for the figures printed each epoch
#   --crops  DIR   plate-crops (US, AGPL-3.0) and --br DIR training/br-plate-crops (AGPL-3.0):
#                  real plates pasted onto the ccby scenes at random size, angle and light
#   EU-style plates are rendered (white/yellow, blue band, DejaVu Sans Condensed Bold).
# The benchmarks are never read. Deterministic for a given --seed (up to torch's CPU kernels).
#
#   nice -n 19 /usr/bin/python3 models/train/train_detector.py --steps 2500 \
#       --ccby ../shared/data/training/us-plates-ccby --crops ../shared/data/plate-crops \
#       --br ../shared/data/training/br-plate-crops --out models/detector
#
# Model: input 1x3xHxW BGR in 0..1 (H, W multiples of 32), output 1x5x(H/8)x(W/8):
#   [0] plate-centre heat (sigmoid), [1..2] log(box w, h / 8), [3..4] centre offset in cells.
import argparse
import glob
import math
import os
import random
import time

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDE = 8
# LETHE_FONT lets a machine without fonts-dejavu-core (a rented GPU box) use a copied file.
FONT = os.environ.get("LETHE_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf")


# ---------------------------------------------------------------- model

def cbr(i, o, s=1, k=3):
    return nn.Sequential(nn.Conv2d(i, o, k, s, k // 2, bias=False), nn.BatchNorm2d(o),
                         nn.ReLU(inplace=True))


class PlateNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.s2 = cbr(3, 12, 2)
        self.s4 = cbr(12, 24, 2)
        self.s8 = nn.Sequential(cbr(24, 40, 2), cbr(40, 40))
        self.s16 = nn.Sequential(cbr(40, 64, 2), cbr(64, 64))
        self.s32 = nn.Sequential(cbr(64, 96, 2), cbr(96, 96))
        self.lat32 = cbr(96, 32, 1, 1)
        self.up16 = cbr(64 + 32, 48)
        self.up8 = cbr(40 + 48, 32, 1, 1)
        self.head = nn.Sequential(cbr(32, 32), nn.Conv2d(32, 5, 1))
        nn.init.constant_(self.head[1].bias, 0.0)
        self.head[1].bias.data[0] = -4.0  # rare positives: start with a low heat

    def forward(self, x):
        c8 = self.s8(self.s4(self.s2(x)))
        c16 = self.s16(c8)
        c32 = self.lat32(self.s32(c16))
        # scale_factor (not size=) keeps Shape/Gather out of the ONNX graph for cv::dnn.
        u16 = self.up16(torch.cat([c16, F.interpolate(c32, scale_factor=2.0, mode="nearest")], 1))
        u8 = self.up8(torch.cat([c8, F.interpolate(u16, scale_factor=2.0, mode="nearest")], 1))
        y = self.head(u8)
        return torch.cat([torch.sigmoid(y[:, :1]), y[:, 1:]], 1)


# ---------------------------------------------------------------- data

def read_yolo(img_path):
    lab = img_path.replace("/images/", "/labels/").rsplit(".", 1)[0] + ".txt"
    boxes = []
    if os.path.exists(lab):
        for line in open(lab):
            p = line.split()
            if len(p) >= 5:
                boxes.append([float(v) for v in p[1:5]])
    return boxes


def render_eu(rng):
    """An EU-style plate (BGR): white or yellow, blue band, 'LL NNN LL'-like text."""
    from PIL import Image, ImageDraw, ImageFont
    w = 520
    h = 110 + int(rng.integers(0, 10))
    bg = (235, 235, 230) if rng.random() < 0.8 else (240, 200, 40)  # white / yellow (RGB)
    im = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w - 1, h - 1], outline=(30, 30, 30), width=4)
    band = 45
    d.rectangle([3, 3, band, h - 4], fill=(30, 60, 170))
    letters = "ABCDEFGHJKLMNPRSTUVXYZ"
    digits = "0123456789"
    pat = rng.choice(["LL NNN LL", "LL-NNNLL", "LLL NNNN", "L NNN LLL", "LL NN LLL", "NNN LLL"])
    text = "".join(letters[int(rng.integers(len(letters)))] if c == "L" else
                   digits[int(rng.integers(10))] if c == "N" else c for c in pat)
    font = ImageFont.truetype(FONT, 92)
    d.text(((band + w) / 2, h / 2 + 2), text, font=font, fill=(20, 20, 25), anchor="mm")
    return cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR)


class Data:
    def __init__(self, ccby, crops, br, seed):
        self.imgs = sorted(glob.glob(os.path.join(ccby, "train", "images", "*.jpg")))
        self.crops = sorted(glob.glob(os.path.join(crops, "*.jpg"))) if crops else []
        self.br = sorted(glob.glob(os.path.join(br, "*.jpg"))) if br else []
        self.rng = np.random.default_rng(seed)
        self.cache = {}

    def load(self, p):
        if p not in self.cache:
            self.cache[p] = cv2.imread(p)
        return self.cache[p]

    def plate(self):
        r = self.rng.random()
        if r < 0.4 and self.crops:
            return self.load(self.crops[int(self.rng.integers(len(self.crops)))]).copy()
        if r < 0.7 and self.br:
            return self.load(self.br[int(self.rng.integers(len(self.br)))]).copy()
        return render_eu(self.rng)

    def paste(self, img, boxes):
        """Paste a plate (size, angle, perspective, light) and add its tight box."""
        rng = self.rng
        p = self.plate()
        ph, pw = p.shape[:2]
        H, W = img.shape[:2]
        tw = math.exp(rng.uniform(math.log(22), math.log(min(0.6 * W, 260))))
        s = tw / pw
        th = ph * s * rng.uniform(0.85, 1.15)
        ang = math.radians(rng.normal(0, 6))
        skew = rng.uniform(-0.25, 0.25)  # turned: one side shorter
        cx, cy = rng.uniform(tw / 2, W - tw / 2), rng.uniform(th / 2, H - th / 2)
        src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
        hx, hy = tw / 2, th / 2
        k = skew * hy
        quad = np.float32([[-hx, -hy + max(0, k)], [hx, -hy + max(0, -k)],
                           [hx, hy - max(0, -k)], [-hx, hy - max(0, k)]])
        rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
        dst = (quad @ rot.T + np.float32([cx, cy])).astype(np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        p = np.clip(p.astype(np.float32) * rng.uniform(0.5, 1.3) + rng.uniform(-30, 30), 0,
                    255).astype(np.uint8)
        if rng.random() < 0.1:  # light characters on a dark plate
            p = 255 - p
        warped = cv2.warpPerspective(p, m, (W, H), flags=cv2.INTER_AREA if s < 1 else
                                     cv2.INTER_LINEAR)
        mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), m, (W, H))
        img[mask > 127] = warped[mask > 127]
        x0, y0 = dst[:, 0].min(), dst[:, 1].min()
        x1, y1 = dst[:, 0].max(), dst[:, 1].max()
        # Labels the paste now hides are dropped.
        keep = []
        for b in boxes:
            ix = max(0, min(x1, b[2]) - max(x0, b[0]))
            iy = max(0, min(y1, b[3]) - max(y0, b[1]))
            if ix * iy < 0.3 * (b[2] - b[0]) * (b[3] - b[1]):
                keep.append(b)
        keep.append([x0, y0, x1, y1])
        return keep

    def sample(self, size):
        rng = self.rng
        path = self.imgs[int(rng.integers(len(self.imgs)))]
        img = self.load(path)
        H0, W0 = img.shape[:2]
        boxes = [[(cx - w / 2) * W0, (cy - h / 2) * H0, (cx + w / 2) * W0, (cy + h / 2) * H0]
                 for cx, cy, w, h in read_yolo(path)]
        # The ccby images are stretched to 416x416: undo/vary the aspect, vary the scale.
        sx = math.exp(rng.uniform(math.log(0.35), math.log(1.6)))
        sy = sx * math.exp(rng.uniform(-0.35, 0.35))
        img = cv2.resize(img, (max(8, int(W0 * sx)), max(8, int(H0 * sy))),
                         interpolation=cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR)
        boxes = [[b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy] for b in boxes]
        # Onto a size x size canvas at a random offset (crop or pad).
        canvas = np.full((size, size, 3), rng.integers(0, 256, 3), np.uint8)
        ox = int(rng.integers(min(0, size - img.shape[1]), max(0, size - img.shape[1]) + 1))
        oy = int(rng.integers(min(0, size - img.shape[0]), max(0, size - img.shape[0]) + 1))
        xs0, ys0 = max(0, -ox), max(0, -oy)
        xd0, yd0 = max(0, ox), max(0, oy)
        w = min(img.shape[1] - xs0, size - xd0)
        h = min(img.shape[0] - ys0, size - yd0)
        canvas[yd0:yd0 + h, xd0:xd0 + w] = img[ys0:ys0 + h, xs0:xs0 + w]
        out = []
        for b in boxes:
            b = [b[0] + ox, b[1] + oy, b[2] + ox, b[3] + oy]
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            if xd0 <= cx < xd0 + w and yd0 <= cy < yd0 + h:
                out.append(b)
        if rng.random() < 0.6:
            for _ in range(int(rng.integers(1, 4))):
                out = self.paste(canvas, out)
        if rng.random() < 0.5:
            canvas = canvas[:, ::-1].copy()
            out = [[size - b[2], b[1], size - b[0], b[3]] for b in out]
        # Light, colour, blur, noise, JPEG.
        f = canvas.astype(np.float32)
        if rng.random() < 0.2:
            f[:] = f.mean(axis=2, keepdims=True)
        f = f * rng.uniform(0.6, 1.4) + rng.uniform(-40, 40)
        f = f * rng.uniform(0.85, 1.15, 3)
        if rng.random() < 0.3:
            f = cv2.GaussianBlur(f, (0, 0), rng.uniform(0.5, 1.5))
        if rng.random() < 0.3:
            f += rng.normal(0, rng.uniform(2, 10), f.shape)
        canvas = np.clip(f, 0, 255).astype(np.uint8)
        if rng.random() < 0.4:
            q = int(rng.integers(30, 90))
            canvas = cv2.imdecode(cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, q])[1], 1)
        return canvas, out


def targets(boxes, size):
    g = size // STRIDE
    heat = np.zeros((g, g), np.float32)
    reg = np.zeros((4, g, g), np.float32)
    mask = np.zeros((g, g), np.float32)
    for x0, y0, x1, y1 in boxes:
        w, h = (x1 - x0) / STRIDE, (y1 - y0) / STRIDE
        if w < 1.0 or h < 0.5:
            continue
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < g and 0 <= iy < g):
            continue
        sx, sy = max(0.5, w / 6), max(0.5, h / 6)
        yy, xx = np.mgrid[0:g, 0:g]
        heat = np.maximum(heat, np.exp(-((xx - ix) ** 2 / (2 * sx * sx) + (yy - iy) ** 2 / (2 * sy * sy))))
        reg[:, iy, ix] = [math.log(w), math.log(h), cx - ix, cy - iy]
        mask[iy, ix] = 1
        heat[iy, ix] = 1.0
    return heat, reg, mask


def batch(data, n, size):
    xs, hs, rs, ms = [], [], [], []
    for _ in range(n):
        img, boxes = data.sample(size)
        h, r, m = targets(boxes, size)
        xs.append(img.transpose(2, 0, 1).astype(np.float32) / 255.0)
        hs.append(h)
        rs.append(r)
        ms.append(m)
    return (torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(hs)),
            torch.from_numpy(np.stack(rs)), torch.from_numpy(np.stack(ms)))


class Batches(torch.utils.data.IterableDataset):
    """Endless batches made in DataLoader worker processes, each with its own seeded Data:
    the augmentation, not the tiny network, is what limits a many-core machine."""

    def __init__(self, a):
        super().__init__()
        self.a = a

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        a = self.a
        cv2.setNumThreads(1)
        data = Data(a.ccby, a.crops, a.br, a.seed if info is None else a.seed * 1000 + info.id)
        while True:
            yield batch(data, a.batch, a.size)


def load_weights(model, path):
    """A state_dict from torch.save (.pt) or from save_npz (.npz: plain arrays, so weights
    trained with a newer PyTorch load into Debian's 1.13 for the ONNX export)."""
    if path.endswith(".npz"):
        z = np.load(path)
        model.load_state_dict({k: torch.from_numpy(z[k]) for k in z.files})
    else:
        model.load_state_dict(torch.load(path, map_location="cpu"))


def save_weights(model, out):
    sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(sd, os.path.join(out, "detector.pt"))
    np.savez(os.path.join(out, "detector.npz"), **{k: v.numpy() for k, v in sd.items()})


def loss_fn(out, heat, reg, mask):
    p = out[:, 0].clamp(1e-4, 1 - 1e-4)
    pos = heat.eq(1).float()
    neg = 1 - pos
    pl = -(torch.log(p) * (1 - p) ** 2 * pos).sum()
    nl = -(torch.log(1 - p) * p ** 2 * (1 - heat) ** 4 * neg).sum()
    npos = pos.sum().clamp(min=1)
    focal = (pl + nl) / npos
    m = mask.unsqueeze(1)
    l1 = (F.l1_loss(out[:, 1:] * m, reg * m, reduction="sum")) / npos
    return focal + 0.5 * l1, focal.item(), l1.item()


# ---------------------------------------------------------------- decode / validation

def decode(out, thresh, scale_x=1.0, scale_y=1.0):
    o = out[0]
    heat = o[0]
    peak = F.max_pool2d(heat[None, None], 3, 1, 1)[0, 0]
    ys, xs = torch.nonzero((heat == peak) & (heat > thresh), as_tuple=True)
    res = []
    for y, x in zip(ys.tolist(), xs.tolist()):
        w, h = math.exp(o[1, y, x]) * STRIDE, math.exp(o[2, y, x]) * STRIDE
        cx, cy = (x + o[3, y, x].item()) * STRIDE, (y + o[4, y, x].item()) * STRIDE
        res.append((heat[y, x].item(), cx * scale_x, cy * scale_y, w * scale_x, h * scale_y))
    return res


def validate(model, ccby, thresh=0.3):
    dev = next(model.parameters()).device
    if not glob.glob(os.path.join(ccby, "valid", "images", "*.jpg")):
        return float("nan"), float("nan")
    model.eval()
    found = total = false = n = 0
    with torch.no_grad():
        for p in sorted(glob.glob(os.path.join(ccby, "valid", "images", "*.jpg"))):
            img = cv2.imread(p)
            H0, W0 = img.shape[:2]
            x = cv2.resize(img, (416, 416)).transpose(2, 0, 1)[None].astype(np.float32) / 255.0
            dets = decode(model(torch.from_numpy(x).to(dev)).cpu(), thresh, W0 / 416, H0 / 416)
            gts = [((cx - w / 2) * W0, (cy - h / 2) * H0, (cx + w / 2) * W0, (cy + h / 2) * H0)
                   for cx, cy, w, h in read_yolo(p)]
            n += 1
            total += len(gts)
            used = set()
            for g in gts:
                hit = [i for i, d in enumerate(dets) if g[0] <= d[1] <= g[2] and g[1] <= d[2] <= g[3]]
                found += bool(hit)
                used.update(hit)
            false += len(dets) - len(used)
    model.train()
    return 100.0 * found / max(1, total), false / max(1, n)


def export(model, path):
    model = model.cpu()
    model.eval()
    x = torch.zeros(1, 3, 384, 640)
    torch.onnx.export(model, x, path, opset_version=11, input_names=["image"],
                      output_names=["heat"], do_constant_folding=True)
    model.train()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ccby", required=True)
    ap.add_argument("--crops")
    ap.add_argument("--br")
    ap.add_argument("--out", default="models/detector")
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--minutes", type=float, default=600, help="stop early after this long")
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--resume", help="weights to start from (.pt or .npz)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--workers", type=int, default=0,
                    help="processes making batches (0: in the training process)")
    ap.add_argument("--valid-every", type=int, default=200, help="steps between valid figures")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (cosine decay)")
    ap.add_argument("--no-export", action="store_true",
                    help="save weights only (export with Debian's torch 1.13, see docs/models.md)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    model = PlateNet()
    if a.resume:
        load_weights(model, a.resume)
    model.to(a.device)
    batches = iter(torch.utils.data.DataLoader(Batches(a), batch_size=None, num_workers=a.workers,
                                               prefetch_factor=4 if a.workers else 2,
                                               pin_memory=a.device != "cpu"))
    print("parameters", sum(p.numel() for p in model.parameters()), flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    t0 = time.time()
    budget = a.minutes * 60
    step = 0
    while step < a.steps:
        el = time.time() - t0
        if el > budget:
            break
        # Cosine schedule over whichever ends first, the steps or the time budget.
        prog = min(1.0, max(step / a.steps, el / budget))
        lr = a.lr * 0.5 * (1 + math.cos(math.pi * prog))
        for g in opt.param_groups:
            g["lr"] = max(lr, 2e-5)
        x, heat, reg, mask = (t.to(a.device, non_blocking=True) for t in next(batches))
        out = model(x)
        loss, fl, l1 = loss_fn(out, heat, reg, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            print("step %d  %.0f s  lr %.5f  focal %.3f  l1 %.3f" % (step, el, lr, fl, l1), flush=True)
        if step % 100 == 0:
            save_weights(model, a.out)
        if step % a.valid_every == 0:
            rec, fp = validate(model, a.ccby)
            print("  valid: centres found %.1f %%, false %.2f / image" % (rec, fp), flush=True)
    rec, fp = validate(model, a.ccby)
    print("final %d steps: valid centres found %.1f %%, false %.2f / image" % (step, rec, fp), flush=True)
    save_weights(model, a.out)
    if not a.no_export:
        export(model, os.path.join(a.out, "plates.onnx"))


if __name__ == "__main__":
    main()
