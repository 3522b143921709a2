#!/usr/bin/python3
"""Builds the labeled real/fake fixture set of the synthetic-media screener (fixtures/screen/).

"real"  = camera-like images: procedurally drawn scenes rendered at 2x, downscaled (optics),
          Bayer-mosaiced with shot + read noise, bilinearly demosaiced, gamma-encoded and
          JPEG-compressed. Half of the JPEGs carry camera EXIF (Make/Model); a fifth are re-saved
          as PNG (a camera photo converted later), so container format is not the label.
"fake"  = outputs of two small upsampling generators trained here to turn a 32 px version of
          a scene into 128 px:
            tconv  - transposed-convolution upsampling (uneven kernel overlap -> checkerboard)
            nnconv - nearest-neighbour upsampling followed by convolutions (period-2/4 ripples)
          Most are PNG (a third of those with an A1111-style `parameters` text chunk naming the
          generator), the rest JPEG q90-95 without EXIF, so pixel signals must carry the eval.

Deterministic: every random step is seeded and torch runs single-threaded, so a rerun gives
byte-identical files. Run with Debian's interpreter (needs torch + PIL + numpy):

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/train_generators.py [--out DIR]

Then retrain the shipped probe on the new training split:

  npx tsx src/cli/main.ts screen train --real fixtures/screen/train/real --fake fixtures/screen/train/fake \
    --model fixtures/models/clip --mae fixtures/models/mae --out fixtures/screen/default-probe.json
"""
import argparse
import io
import json
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, PngImagePlugin

torch.set_num_threads(1)

DEFAULT_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "screen")
SIZE = 128
LOW = 32
SEED = 20261127
COUNTS = {"train": {"real": 100, "fake": 50}, "heldout": {"real": 100, "fake": 50}}
CAMERAS = [("Canon", "Canon EOS 80D"), ("NIKON CORPORATION", "NIKON D750"), ("SONY", "ILCE-7M3"),
           ("Apple", "iPhone 12"), ("FUJIFILM", "X-T30")]


def smooth_field(rng, size, scale):
    """Low-frequency random texture: white noise upsampled bicubically from a coarse grid."""
    coarse = rng.standard_normal((max(2, size // scale), max(2, size // scale))).astype(np.float32)
    img = Image.fromarray(coarse, mode="F").resize((size, size), Image.BICUBIC)
    return np.asarray(img)


def draw_scene(rng, size):
    """A linear-light RGB scene in [0, 1]: sky/ground gradient, textured shapes, a light falloff."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    top, bottom = rng.uniform(0.1, 0.9, 3), rng.uniform(0.05, 0.8, 3)
    horizon = rng.uniform(0.3, 0.7)
    t = np.clip((y - horizon) * rng.uniform(2, 8) + 0.5, 0, 1)[..., None]
    img = (top * (1 - t) + bottom * t).astype(np.float32)
    img = img + 0.08 * smooth_field(rng, size, rng.integers(8, 32))[..., None]
    for _ in range(rng.integers(3, 9)):
        color = rng.uniform(0.0, 1.0, 3)
        cx, cy = rng.uniform(0, 1, 2)
        kind = rng.integers(0, 3)
        if kind == 0:  # ellipse
            rx, ry = rng.uniform(0.05, 0.3, 2)
            mask = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1
        elif kind == 1:  # rotated rectangle
            angle = rng.uniform(0, np.pi)
            u = (x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)
            v = -(x - cx) * np.sin(angle) + (y - cy) * np.cos(angle)
            w, h = rng.uniform(0.05, 0.35, 2)
            mask = (np.abs(u) < w) & (np.abs(v) < h)
        else:  # stripes band (fabric, fences)
            angle = rng.uniform(0, np.pi)
            u = (x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)
            period = rng.uniform(0.02, 0.12)
            mask = (np.abs(u) < rng.uniform(0.1, 0.3)) & (np.sin(u / period * 2 * np.pi) > 0)
        texture = 1 + 0.25 * smooth_field(rng, size, rng.integers(2, 16))[..., None]
        img = np.where(mask[..., None], color * texture, img)
    falloff = 1 - rng.uniform(0.1, 0.5) * ((x - 0.5) ** 2 + (y - 0.5) ** 2)
    return np.clip(img * falloff[..., None], 0, 1).astype(np.float32)


def camera_pipeline(rng, scene_2x):
    """Optics (2x area downscale), RGGB mosaic with shot/read noise, bilinear demosaic, gamma."""
    h = scene_2x.shape[0] // 2
    linear = scene_2x.reshape(h, 2, h, 2, 3).mean(axis=(1, 3))
    iso_gain = rng.uniform(0.5, 3.0)
    mosaic = np.zeros((h, h), np.float32)
    mosaic[0::2, 0::2] = linear[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = linear[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = linear[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = linear[1::2, 1::2, 2]
    shot = np.sqrt(np.maximum(mosaic, 0) * 0.0008 * iso_gain)
    mosaic = mosaic + shot * rng.standard_normal(mosaic.shape) + 0.004 * iso_gain * rng.standard_normal(mosaic.shape)
    masks = np.zeros((h, h, 3), np.float32)
    masks[0::2, 0::2, 0] = 1
    masks[0::2, 1::2, 1] = 1
    masks[1::2, 0::2, 1] = 1
    masks[1::2, 1::2, 2] = 1
    kernel = torch.tensor([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]).view(1, 1, 3, 3)
    planes = torch.from_numpy((mosaic[..., None] * masks).astype(np.float32).transpose(2, 0, 1).copy()).unsqueeze(1)
    weights = torch.from_numpy(masks.transpose(2, 0, 1).copy()).unsqueeze(1)
    num = F.conv2d(F.pad(planes, (1, 1, 1, 1), mode="reflect"), kernel)
    den = F.conv2d(F.pad(weights, (1, 1, 1, 1), mode="reflect"), kernel)
    rgb = (num / den).squeeze(1).numpy().transpose(1, 2, 0)
    return np.clip(np.clip(rgb, 0, 1) ** (1 / 2.2), 0, 1)


def to_uint8(img):
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def jpeg_bytes(pil, quality, exif=None):
    buf = io.BytesIO()
    kwargs = {"quality": int(quality), "subsampling": 2}
    if exif is not None:
        kwargs["exif"] = exif
    pil.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


class TConvGenerator(nn.Module):
    """32 -> 128 with two stride-2 transposed convolutions (kernel 3: uneven overlap)."""

    def __init__(self, width=24):
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.up1 = nn.ConvTranspose2d(width, width, 3, stride=2, padding=1, output_padding=1)
        self.up2 = nn.ConvTranspose2d(width, width, 3, stride=2, padding=1, output_padding=1)
        self.tail = nn.Conv2d(width, 3, 1)

    def forward(self, x):
        x = F.relu(self.head(x))
        x = F.relu(self.up1(x))
        x = F.relu(self.up2(x))
        return torch.sigmoid(self.tail(x))


class NNConvGenerator(nn.Module):
    """32 -> 128 with nearest-neighbour upsampling, each followed by a 3x3 convolution."""

    def __init__(self, width=24):
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.tail = nn.Conv2d(width, 3, 1)

    def forward(self, x):
        x = F.relu(self.head(x))
        x = F.relu(self.conv1(F.interpolate(x, scale_factor=2, mode="nearest")))
        x = F.relu(self.conv2(F.interpolate(x, scale_factor=2, mode="nearest")))
        return torch.sigmoid(self.tail(x))


def downscale(batch):
    return F.avg_pool2d(batch, SIZE // LOW)


def train(generator, scenes, seed, steps=250, batch=16):
    """L1 super-resolution training on scene images (a few hundred steps: enough to look like
    the scenes while keeping the upsampler's structural fingerprint)."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(generator.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps):
        idx = torch.randint(0, scenes.shape[0], (batch,), generator=gen)
        target = scenes[idx]
        loss = F.l1_loss(generator(downscale(target)), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_ROOT, help="output folder (default: fixtures/screen)")
    global ROOT
    ROOT = parser.parse_args().out
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    if os.path.isdir(ROOT):
        for split in COUNTS:
            shutil.rmtree(os.path.join(ROOT, split), ignore_errors=True)
    manifest = {"seed": SEED, "size": SIZE, "generators": {}, "files": []}

    def add(split, label, generator, name, data):
        folder = "real" if generator is None else os.path.join("fake", generator)
        rel = os.path.join(split, folder, name)
        path = os.path.join(ROOT, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        manifest["files"].append({"path": rel, "label": label, "generator": generator, "split": split})

    # Real images.
    for split, counts in COUNTS.items():
        for i in range(counts["real"]):
            scene = draw_scene(rng, SIZE * 2)
            pil = Image.fromarray(to_uint8(camera_pipeline(rng, scene)))
            quality = int(rng.integers(80, 96))
            roll = rng.uniform()
            if roll < 0.5:
                make, model = CAMERAS[int(rng.integers(0, len(CAMERAS)))]
                exif = Image.Exif()
                exif[0x010F] = make
                exif[0x0110] = model
                add(split, "real", None, f"real-{split}-{i:03d}.jpg", jpeg_bytes(pil, quality, exif.tobytes()))
            elif roll < 0.8:
                add(split, "real", None, f"real-{split}-{i:03d}.jpg", jpeg_bytes(pil, quality))
            else:
                decoded = Image.open(io.BytesIO(jpeg_bytes(pil, quality))).convert("RGB")
                buf = io.BytesIO()
                decoded.save(buf, "PNG")
                add(split, "real", None, f"real-{split}-{i:03d}.png", buf.getvalue())

    # Generators: trained on a separate pool of scenes (gamma-encoded, noise-free renders).
    pool = np.stack([draw_scene(rng, SIZE) ** (1 / 2.2) for _ in range(96)]).transpose(0, 3, 1, 2)
    pool = torch.from_numpy(np.ascontiguousarray(pool))
    generators = {"tconv": TConvGenerator(), "nnconv": NNConvGenerator()}
    for gi, (name, generator) in enumerate(generators.items()):
        loss = train(generator, pool, SEED + gi)
        manifest["generators"][name] = {"architecture": type(generator).__name__, "final_l1": round(loss, 5)}
        print(f"{name}: final L1 {loss:.4f}", file=sys.stderr)

    for split, counts in COUNTS.items():
        for gname, generator in generators.items():
            for i in range(counts["fake"]):
                scene = torch.from_numpy(np.ascontiguousarray((draw_scene(rng, SIZE) ** (1 / 2.2)).transpose(2, 0, 1)))
                with torch.no_grad():
                    out = generator(downscale(scene.unsqueeze(0)))[0].numpy().transpose(1, 2, 0)
                pil = Image.fromarray(to_uint8(out))
                roll = rng.uniform()
                if roll < 0.6:
                    info = PngImagePlugin.PngInfo()
                    if roll < 0.2:
                        seed = int(rng.integers(0, 2**31))
                        info.add_text("parameters", f"a photo of a street scene\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: {seed}, Size: 128x128, Model: vigil-{gname}-upsampler")
                    buf = io.BytesIO()
                    pil.save(buf, "PNG", pnginfo=info)
                    add(split, "fake", gname, f"{gname}-{split}-{i:03d}.png", buf.getvalue())
                else:
                    add(split, "fake", gname, f"{gname}-{split}-{i:03d}.jpg", jpeg_bytes(pil, int(rng.integers(90, 96))))

    with open(os.path.join(ROOT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
