#!/usr/bin/python3
"""Builds the real-photograph sets and the artifact families of the screener (fixtures/screen/photos/).

Real photographs come from Debian packages (sources, licences: docs/fixtures.md). Never the images
of Debian's python3-skimage: those are kept for independent evaluation.

Each source photograph is one GROUP (stereo pairs and series of one scene are one group). Groups are
split train / calibration / test before anything is derived, so crops, re-encodes and every fake
made from one photograph stay inside one split:

  photos/<split>/real/<group>-<n>.jpg         what uploads go through: a crop at a random place
      and size, after a downscale of the wallpaper to a phone-like size, then one of: JPEG q95-q60,
      a resize x0.5-0.9 then JPEG, a screenshot-like rescale (x0.75 / x1.25 / x1.5, bilinear) saved
      as JPEG or PNG, a mirror; never any EXIF.
  photos/<split>/fake/<family>/<group>-<n>.jpg  the same crop through one artifact family, half of
      them re-encoded as JPEG q70-85 (the rest q92):
        nearest-x2, nearest-x4, bilinear-x2, bilinear-x4, bicubic-x2, bicubic-x4, lanczos-x2,
        lanczos-x4   downscaled by the factor (area) and upsampled back with that interpolation
        tconv-checker  a stride-2 transposed convolution (kernel 3: uneven overlap) x2 upsampler
                       trained here on the train split
        ae-decoder     a small convolutional autoencoder (x4 bottleneck, transposed-conv decoder)
                       trained here on the train split: its reconstructions (AEROBLADE's insight)
  Calibration has real photographs only: thresholds are set on them.

Deterministic: seeded numpy/torch, single-threaded torch, fixed source order; rerunning gives
byte-identical files. Run with Debian's interpreter (torch + PIL + numpy):

  OMP_NUM_THREADS=1 /usr/bin/python3 tools/build_photo_sets.py [--out DIR]

Needs the packages listed in SOURCES installed (apt-get install lomiri-wallpapers-16.04
lomiri-wallpapers-20.04 mate-backgrounds plasma-workspace-wallpapers opencv-doc
python-matplotlib-data python3-torch python3-pil python3-numpy).
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

torch.set_num_threads(1)

DEFAULT_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "screen", "photos")
SEED = 20261201
LOMIRI = "/usr/share/backgrounds"
MATE = "/usr/share/backgrounds/mate"
PLASMA = "/usr/share/wallpapers"
OPENCV = "/usr/share/doc/opencv-doc/examples/data"
MPL = "/usr/share/matplotlib/mpl-data/sample_data"
SKLEARN = "/usr/lib/python3/dist-packages/sklearn/datasets/images"
# Independent evaluation only (--skimage-check): never a source of the committed sets.
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
SKIMAGE_PHOTOS = ["astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png", "grass.png", "gravel.png",
                  "hubble_deep_field.jpg", "moon.png", "motorcycle_left.png", "page.png", "retina.jpg", "rocket.jpg", "text.png"]

# (package, group, files): photographs only (the packages also hold drawings and renders, left out).
SOURCES = [
    ("lomiri-wallpapers-16.04", "lomiri-bridge", [f"{LOMIRI}/Bridge_by_Sander_Klootwijk.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-dragonfly", [f"{LOMIRI}/Dragonfly_by_Bolly.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-picture0b", [f"{LOMIRI}/Picture_0B_by_freespace.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-picture1a", [f"{LOMIRI}/Picture_1A_by_freespace.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-wine", [f"{LOMIRI}/Wine_by_Jakkub_Mede.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-aitzgorri", [f"{LOMIRI}/aitzgorri_by_Aitzol_Berasategi.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-analogpattern", [f"{LOMIRI}/analogpattern_by_Peter_Nerlich.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-free", [f"{LOMIRI}/free_by_Peter_Nerlich.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-friends", [f"{LOMIRI}/friends_by_Aitzol_Berasategi.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-greentock", [f"{LOMIRI}/greentock_by_Peter_Nerlich.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-life", [f"{LOMIRI}/life_by_Aitzol_Berasategi.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-picosdeeuropa", [f"{LOMIRI}/picosdeeuropa_by_Aitzol_Berasategi.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-seeding", [f"{LOMIRI}/seeding_by_Clements_Engelhardt.jpg"]),
    ("lomiri-wallpapers-16.04", "lomiri-sunset", [f"{LOMIRI}/sunset_by_Aitzol_Berasategi.jpg"]),
    ("lomiri-wallpapers-20.04", "lomiri-infinite-sea", [f"{LOMIRI}/Infinite-Sea_by_Aury88.jpg"]),
    ("lomiri-wallpapers-20.04", "lomiri-kleiber", [f"{LOMIRI}/Kleiber_by_Lukas_Baubkus.jpg"]),
    ("mate-backgrounds", "mate-aqua", [f"{MATE}/nature/Aqua.jpg"]),
    ("mate-backgrounds", "mate-blinds", [f"{MATE}/nature/Blinds.jpg"]),
    ("mate-backgrounds", "mate-dune", [f"{MATE}/nature/Dune.jpg"]),
    ("mate-backgrounds", "mate-freshflower", [f"{MATE}/nature/FreshFlower.jpg"]),
    ("mate-backgrounds", "mate-garden", [f"{MATE}/nature/Garden.jpg"]),
    ("mate-backgrounds", "mate-greenmeadow", [f"{MATE}/nature/GreenMeadow.jpg"]),
    ("mate-backgrounds", "mate-ladybird", [f"{MATE}/nature/LadyBird.jpg"]),
    ("mate-backgrounds", "mate-raindrops", [f"{MATE}/nature/RainDrops.jpg"]),
    ("mate-backgrounds", "mate-storm", [f"{MATE}/nature/Storm.jpg"]),
    ("mate-backgrounds", "mate-twowings", [f"{MATE}/nature/TwoWings.jpg"]),
    ("mate-backgrounds", "mate-wood", [f"{MATE}/nature/Wood.jpg"]),
    ("mate-backgrounds", "mate-yellowflower", [f"{MATE}/nature/YellowFlower.jpg"]),
    ("plasma-workspace-wallpapers", "plasma-bythewater", [f"{PLASMA}/BytheWater/contents/images/2560x1600.jpg"]),
    ("plasma-workspace-wallpapers", "plasma-coldripple", [f"{PLASMA}/ColdRipple/contents/images/2560x1600.jpg"]),
    ("plasma-workspace-wallpapers", "plasma-darkesthour", [f"{PLASMA}/DarkestHour/contents/images/2560x1600.jpg"]),
    ("plasma-workspace-wallpapers", "plasma-eveningglow", [f"{PLASMA}/EveningGlow/contents/images/2560x1600.jpg"]),
    ("plasma-workspace-wallpapers", "plasma-fallenleaf", [f"{PLASMA}/FallenLeaf/contents/images/2560x1600.jpg"]),
    ("plasma-workspace-wallpapers", "plasma-onestandsout", [f"{PLASMA}/OneStandsOut/contents/images/2560x1600.jpg"]),
    ("plasma-workspace-wallpapers", "plasma-path", [f"{PLASMA}/Path/contents/images/2560x1600.jpg"]),
    ("plasma-workspace-wallpapers", "plasma-summer1am", [f"{PLASMA}/summer_1am/contents/images/2560x1600.jpg"]),
    ("plasma-workspace-wallpapers", "plasma-kite", [f"{PLASMA}/Kite/contents/images/2560x1600.jpg"]),
    ("plasma-workspace-wallpapers", "plasma-grey", [f"{PLASMA}/Grey/contents/images/2560x1600.jpg"]),
    ("python3-sklearn", "sklearn-china", [f"{SKLEARN}/china.jpg"]),
    ("python3-sklearn", "sklearn-flower", [f"{SKLEARN}/flower.jpg"]),
    ("python-matplotlib-data", "mpl-grace-hopper", [f"{MPL}/grace_hopper.jpg"]),
    ("opencv-doc", "ocv-aero", [f"{OPENCV}/aero1.jpg", f"{OPENCV}/aero3.jpg"]),
    ("opencv-doc", "ocv-aloe", [f"{OPENCV}/aloeL.jpg", f"{OPENCV}/aloeR.jpg"]),
    ("opencv-doc", "ocv-apple", [f"{OPENCV}/apple.jpg"]),
    ("opencv-doc", "ocv-baboon", [f"{OPENCV}/baboon.jpg"]),
    ("opencv-doc", "ocv-basketball", [f"{OPENCV}/basketball1.png", f"{OPENCV}/basketball2.png"]),
    ("opencv-doc", "ocv-board", [f"{OPENCV}/board.jpg"]),
    ("opencv-doc", "ocv-building", [f"{OPENCV}/building.jpg"]),
    ("opencv-doc", "ocv-butterfly", [f"{OPENCV}/butterfly.jpg"]),
    ("opencv-doc", "ocv-chicky", [f"{OPENCV}/chicky_512.png"]),
    ("opencv-doc", "ocv-fruits", [f"{OPENCV}/fruits.jpg"]),
    ("opencv-doc", "ocv-graf", [f"{OPENCV}/graf1.png", f"{OPENCV}/graf3.png"]),
    ("opencv-doc", "ocv-home", [f"{OPENCV}/home.jpg"]),
    ("opencv-doc", "ocv-leuven", [f"{OPENCV}/leuvenA.jpg", f"{OPENCV}/leuvenB.jpg"]),
    ("opencv-doc", "ocv-licenseplate", [f"{OPENCV}/licenseplate_motion.jpg"]),
    ("opencv-doc", "ocv-messi", [f"{OPENCV}/messi5.jpg"]),
    ("opencv-doc", "ocv-orange", [f"{OPENCV}/orange.jpg"]),
    ("opencv-doc", "ocv-rubberwhale", [f"{OPENCV}/rubberwhale1.png", f"{OPENCV}/rubberwhale2.png"]),
    ("opencv-doc", "ocv-squirrel", [f"{OPENCV}/squirrel_cls.jpg"]),
    ("opencv-doc", "ocv-stuff", [f"{OPENCV}/stuff.jpg"]),
    ("opencv-doc", "ocv-sudoku", [f"{OPENCV}/sudoku.png"]),
    ("opencv-doc", "ocv-stereo-left", [f"{OPENCV}/left.jpg", f"{OPENCV}/right.jpg"]),
    ("opencv-doc", "ocv-chessboard", [f"{OPENCV}/left{i:02d}.jpg" for i in (1, 2, 3, 4, 5)] + [f"{OPENCV}/right{i:02d}.jpg" for i in (1, 2, 3, 4, 5)]),
    ("opencv-doc", "ocv-text", [f"{OPENCV}/text_defocus.jpg", f"{OPENCV}/text_motion.jpg"]),
]
SPLITS = ("train", "calibration", "test")
# Real images per split (spread over its groups) and fakes per family (train/test only).
REAL_COUNTS = {"train": 330, "calibration": 480, "test": 480}
FAKE_COUNTS = {"train": 40, "test": 40}
# Lossless files (PNG) keep only a centre region of this side, which bounds their size.
LOSSLESS_SIDE = 192
# Share of the fakes saved losslessly (the rest JPEG): artifacts a re-encode has not softened.
LOSSLESS_FAKE_SHARE = 1 / 6
RESAMPLE = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS}
FAMILIES = [f"{m}-x{k}" for m in RESAMPLE for k in (2, 4)] + ["tconv-checker", "ae-decoder"]
CROP_SIDES = [224, 256, 256, 288, 320, 384]


def load_sources():
    groups = []
    for package, group, files in SOURCES:
        images = []
        for path in files:
            if not os.path.exists(path):
                sys.exit(f"missing {path}: apt-get install {package}")
            images.append((path, Image.open(path).convert("RGB")))
        groups.append({"package": package, "group": group, "images": images})
    return groups


def split_groups(groups, rng):
    """Seeded shuffle of groups, then round-robin by weight so each split gets varied sources."""
    order = rng.permutation(len(groups))
    # Pattern of 9: train 3, calibration 3, test 3 (test and calibration need >= 300 real each).
    pattern = ["train", "calibration", "test"]
    split_of = {}
    for rank, index in enumerate(order):
        split_of[groups[index]["group"]] = pattern[rank % 3]
    return split_of


def phone_scale(image, rng):
    """Wallpapers are 1920-5640 px: bring them to a phone/upload-like size with an antialiased downscale."""
    w, h = image.size
    target = int(rng.integers(640, 1400))
    if min(w, h) <= target:
        return image
    scale = target / min(w, h)
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)


def random_crop(image, rng):
    w, h = image.size
    side = int(rng.choice(CROP_SIDES))
    side = min(side, w, h)
    side -= side % 4
    x = int(rng.integers(0, w - side + 1))
    y = int(rng.integers(0, h - side + 1))
    return image.crop((x, y, x + side, y + side))


def centre(image, side):
    w, h = image.size
    side = min(side, w, h)
    x, y = (w - side) // 2, (h - side) // 2
    return image.crop((x, y, x + side, y + side))


def encode(image, fmt, quality=95):
    buf = io.BytesIO()
    if fmt == "png":
        image.save(buf, format="PNG", optimize=False)
    else:
        image.save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def upload_variant(crop, rng):
    """What an upload pipeline does to a photograph; returns (bytes, ext, description)."""
    kind = rng.choice(["jpeg", "jpeg", "resize", "screenshot", "mirror", "lossless"], p=[0.27, 0.18, 0.23, 0.14, 0.08, 0.10])
    if kind == "lossless":  # a PNG export or a phone screenshot of the photo at 1:1
        return encode(centre(crop, LOSSLESS_SIDE), "png"), "png", f"png centre {LOSSLESS_SIDE}"
    if kind == "jpeg":
        q = int(rng.choice([95, 85, 75, 60]))
        return encode(crop, "jpeg", q), "jpg", f"jpeg q{q}"
    if kind == "resize":
        r = float(rng.uniform(0.5, 0.9))
        w, h = crop.size
        small = crop.resize((max(64, round(w * r)), max(64, round(h * r))), Image.BICUBIC)
        q = int(rng.choice([90, 80, 70]))
        return encode(small, "jpeg", q), "jpg", f"resize x{r:.2f} jpeg q{q}"
    if kind == "screenshot":
        r = float(rng.choice([0.75, 1.25, 1.5]))
        w, h = crop.size
        shot = crop.resize((round(w * r), round(h * r)), Image.BILINEAR)
        if r > 1:  # keep the file compact: a screenshot region
            shot = shot.crop((0, 0, min(shot.width, 384), min(shot.height, 384)))
        if rng.random() < 0.3:  # PNG screenshots are large: a 256 px region
            return encode(shot.crop((0, 0, min(shot.width, 256), min(shot.height, 256))), "png"), "png", f"screenshot x{r} png"
        return encode(shot, "jpeg", 90), "jpg", f"screenshot x{r} jpeg q90"
    mirrored = crop.transpose(Image.FLIP_LEFT_RIGHT)
    q = int(rng.choice([92, 80]))
    return encode(mirrored, "jpeg", q), "jpg", f"mirror jpeg q{q}"


def to_tensor(image):
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)


def to_image(tensor):
    array = (tensor.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(array)


class TConvUpsampler(nn.Module):
    """x2 upsampler ending in a stride-2 kernel-3 transposed convolution: uneven overlap, checkerboard."""

    def __init__(self, width=16):
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.up = nn.ConvTranspose2d(width, 3, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x):
        return torch.sigmoid(self.up(F.relu(self.head(x))))


class AutoEncoder(nn.Module):
    """Conv encoder to a x4 bottleneck and a transposed-convolution decoder (a latent model's decoder)."""

    def __init__(self, width=24, latent=8):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(3, width, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(width, latent, 4, stride=2, padding=1),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(latent, width, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(width, 3, 3, padding=1),
        )

    def forward(self, x):
        return torch.sigmoid(self.decoder(self.encoder(x)))


def patches(crops, rng, count, side=64):
    out = []
    for _ in range(count):
        crop = crops[int(rng.integers(0, len(crops)))]
        w, h = crop.size
        x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        out.append(to_tensor(crop.crop((x, y, x + side, y + side))))
    return torch.stack(out)


def train_models(crops, seed, steps=300):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tconv, ae = TConvUpsampler(), AutoEncoder()
    log = {}
    for name, model in (("tconv-checker", tconv), ("ae-decoder", ae)):
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
        for _ in range(steps):
            batch = patches(crops, rng, 16)
            if name == "tconv-checker":
                out = model(F.avg_pool2d(batch, 2))
            else:
                out = model(batch)
            loss = F.l1_loss(out, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        log[name] = round(float(loss), 5)
    return tconv.eval(), ae.eval(), log


def make_fake(family, crop, tconv, ae):
    w, h = crop.size
    if family in ("tconv-checker", "ae-decoder"):
        with torch.no_grad():
            x = to_tensor(crop)[None]
            if family == "tconv-checker":
                y = tconv(F.avg_pool2d(x, 2))
            else:
                y = ae(x)
        return to_image(y[0])
    method, factor = family.split("-x")
    factor = int(factor)
    small = crop.resize((w // factor, h // factor), Image.BOX)
    return small.resize((w, h), RESAMPLE[method])


def write_groups_csv(path, rows):
    """A file,group CSV (what `vigil screen train --groups` reads) from (file, group) pairs."""
    with open(path, "w") as f:
        f.write("file,group\n")
        for file, group in rows:
            f.write(f"{file},{group}\n")


def write_probe_groups(photos_root):
    """fixtures/screen/default-probe-groups.csv: every image the default probe trains on -> its group
    (photos: the source photograph; the procedural fixtures: each image its own group)."""
    screen_root = os.path.dirname(os.path.abspath(photos_root))
    rel = os.path.relpath(os.path.abspath(photos_root), screen_root)
    rows = []
    with open(os.path.join(photos_root, "manifest.json")) as f:
        for entry in json.load(f)["files"]:
            rows.append((f"{rel}/{entry['path']}", entry["group"]))
    with open(os.path.join(screen_root, "manifest.json")) as f:
        for entry in json.load(f)["files"]:
            rows.append((entry["path"], "fixture-" + os.path.splitext(os.path.basename(entry["path"]))[0]))
    write_groups_csv(os.path.join(screen_root, "default-probe-groups.csv"), rows)


def build_skimage_check(out):
    """The independent check (never training or calibration data): 5 crops (256-384 px, half of them
    mirrored) of each of 15 photographs of Debian's python3-skimage, and the same crops downscaled x2
    (area) and upsampled back (bilinear, bicubic, Lanczos in turn); written as JPEG q85 (as uploads
    are) under OUT/jpeg and losslessly under OUT/png, each with real/ and fake/resampled-x2/."""
    rng = np.random.default_rng(SEED + 1)
    methods = ["bilinear", "bicubic", "lanczos"]
    if os.path.isdir(out):
        shutil.rmtree(out)
    n = 0
    for name in SKIMAGE_PHOTOS:
        path = os.path.join(SKIMAGE, name)
        if not os.path.exists(path):
            sys.exit(f"missing {path}: apt-get install python3-skimage")
        image = Image.open(path).convert("RGB")
        stem = os.path.splitext(name)[0]
        for k in range(5):
            side = min(int(rng.integers(256, 385)), image.width, image.height)
            side -= side % 4
            x = int(rng.integers(0, image.width - side + 1))
            y = int(rng.integers(0, image.height - side + 1))
            crop = image.crop((x, y, x + side, y + side))
            if rng.random() < 0.5:
                crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
            method = methods[n % len(methods)]
            fake = make_fake(f"{method}-x2", crop, None, None)
            n += 1
            for fmt, ext in (("jpeg", "jpg"), ("png", "png")):
                for rel, img in (("real", crop), (f"fake/resampled-x2", fake)):
                    folder = os.path.join(out, fmt, rel)
                    os.makedirs(folder, exist_ok=True)
                    with open(os.path.join(folder, f"{stem}-{k}-{method if rel != 'real' else 'crop'}.{ext}"), "wb") as f:
                        f.write(encode(img, fmt, 85))
    print(f"{n} crops and their x2 resamplings, JPEG q85 and PNG, in {out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_ROOT)
    parser.add_argument("--groups-only", action="store_true", help="only rewrite default-probe-groups.csv")
    parser.add_argument("--skimage-check", metavar="DIR", help="only write the independent python3-skimage check set to DIR (never a fixture)")
    args = parser.parse_args()
    if args.skimage_check:
        build_skimage_check(args.skimage_check)
        return
    if args.groups_only:
        write_probe_groups(args.out)
        return
    rng = np.random.default_rng(SEED)
    groups = load_sources()
    split_of = split_groups(groups, rng)
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    manifest = {"seed": SEED, "splits": {}, "groups": [], "files": []}

    def write(rel, data, entry):
        path = os.path.join(args.out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        manifest["files"].append({"path": rel, **entry})

    # Phone-scaled base images per group (one per source file).
    base = {g["group"]: [phone_scale(img, rng) for _, img in g["images"]] for g in groups}
    for g in groups:
        manifest["groups"].append({"group": g["group"], "package": g["package"], "split": split_of[g["group"]],
                                   "files": [p for p, _ in g["images"]],
                                   "sha256": [hashlib.sha256(open(p, "rb").read()).hexdigest() for p, _ in g["images"]]})

    crops_by_split = {}
    for split in SPLITS:
        members = [g["group"] for g in groups if split_of[g["group"]] == split]
        manifest["splits"][split] = members
        crops = []
        for n in range(REAL_COUNTS[split]):
            group = members[n % len(members)]
            images = base[group]
            image = images[int(rng.integers(0, len(images)))]
            crop = random_crop(image, rng)
            crops.append((group, crop))
            data, ext, how = upload_variant(crop, rng)
            write(f"{split}/real/{group}-{n:03d}.{ext}", data, {"label": "real", "group": group, "split": split, "family": None, "variant": how})
        crops_by_split[split] = crops

    tconv, ae, losses = train_models([c for _, c in crops_by_split["train"]], SEED)
    manifest["models"] = {"final_l1": losses}
    for split, count in FAKE_COUNTS.items():
        crops = crops_by_split[split]
        for family in FAMILIES:
            for n in range(count):
                # Fakes come from fresh crops of the split's photographs (never a real file's exact pixels).
                group = crops[int(rng.integers(0, len(crops)))][0]
                images = base[group]
                crop = random_crop(images[int(rng.integers(0, len(images)))], rng)
                fake = make_fake(family, crop, tconv, ae)
                if rng.random() < LOSSLESS_FAKE_SHARE:
                    write(f"{split}/fake/{family}/{group}-{n:03d}.png", encode(centre(fake, LOSSLESS_SIDE), "png"),
                          {"label": "fake", "group": group, "split": split, "family": family, "variant": f"png centre {LOSSLESS_SIDE}"})
                    continue
                q = int(rng.choice([70, 80, 85])) if rng.random() < 0.5 else 92
                write(f"{split}/fake/{family}/{group}-{n:03d}.jpg", encode(fake, "jpeg", q),
                      {"label": "fake", "group": group, "split": split, "family": family, "variant": f"jpeg q{q}"})

    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    # groups.csv: file -> source photograph, for `vigil screen train --groups`.
    write_groups_csv(os.path.join(args.out, "groups.csv"), [(entry["path"], entry["group"]) for entry in manifest["files"]])
    if os.path.abspath(args.out) == os.path.abspath(DEFAULT_ROOT):  # beside the fixture manifest
        write_probe_groups(args.out)
    print(json.dumps({s: len(m) for s, m in manifest["splits"].items()}), losses, len(manifest["files"]), "files")


if __name__ == "__main__":
    main()
