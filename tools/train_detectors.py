#!/usr/bin/python3
"""Synthetic person scenes, the bundled tiny detector and segmenter, and their probe sets.

    nice -n 10 /usr/bin/python3 tools/train_detectors.py [--only data,detector,segmenter] [--seed 0]
    nice -n 10 /usr/bin/python3 tools/train_detectors.py --only bench-model   # bench/models/yolos-s-random

Needs Debian's python3-torch, python3-onnx, python3-pil, python3-numpy. Seeded and single-threaded.
Writes fixtures/detect/ (see docs/detect.md):
- models/detector: a YOLOS-style ViT detector in the transformers/Optimum layout (pixel_values ->
  logits [B, Q, 2] (person, no-object), pred_boxes [B, Q, 4] normalised cx, cy, w, h). Its Q
  detection tokens are the 8 × 8 patch tokens; training assigns each person to the token of the
  cell holding its centre (instead of DETR's Hungarian matching), which trains in minutes on a CPU.
- models/segmenter: a Segformer-style ViT segmenter (pixel_values -> logits [B, 2, H/4, W/4]).
- planted/ and control/: probe scenes (96 × 96 PNG), COCO instances.json with per-person
  attributes, and a FACET-style annotations.csv. In planted/, persons annotated skin_tone "darker"
  are drawn at low contrast to their background far more often than "lighter" ones (the planted
  disparity: a detector misses low-contrast figures); in control/ contrast does not depend on tone.
"""

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "py"))

import hf_preprocess as hp  # noqa: E402
import modeling  # noqa: E402
from onnx_export import export_onnx, write_json, write_tensor  # noqa: E402
from training import fit  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "detect")
SCENE = 96  # probe images are 96 × 96; the models take 64 × 64 (resized as the processor does)
INPUT = 64
PATCH = 8
GRID = INPUT // PATCH
N_TRAIN = 4000
N_PROBE = 160
N_SEGMENTER_TRAIN = 1500  # the segmenter has 4× the tokens; a subset keeps training to minutes
TONES = {"lighter": (226, 196, 168), "darker": (96, 66, 52)}
AGES = ("adult", "child")
NOISE = 10.0
LOW_CONTRAST = (0, 5)
HIGH_CONTRAST = (50, 110)
TRAIN_CONTRAST = (6, 110)  # never below 6: the low-contrast probes are outside what the detector saw
# Share of persons drawn at low contrast, by probe set and tone.
LOW_SHARE = {"planted": {"lighter": 0.1, "darker": 0.7}, "control": {"lighter": 0.4, "darker": 0.4}}

PRE = {**hp.vit_processor_config(INPUT, hp.VIT_MEAN_STD), "image_processor_type": "YolosImageProcessor"}
SEG_PRE = {**hp.vit_processor_config(INPUT, hp.VIT_MEAN_STD), "image_processor_type": "SegformerImageProcessor"}
DETECTOR_CONFIG = {
    "architectures": ["YolosForObjectDetection"], "model_type": "yolos", "id2label": {"0": "person"},
    "label2id": {"person": 0}, "image_size": [INPUT, INPUT], "patch_size": PATCH, "hidden_size": 64,
    "num_hidden_layers": 3, "num_attention_heads": 4, "intermediate_size": 128, "num_detection_tokens": GRID * GRID,
    "layer_norm_eps": 1e-6,
}
SEGMENTER_CONFIG = {
    "architectures": ["SegformerForSemanticSegmentation"], "model_type": "segformer",
    "id2label": {"0": "background", "1": "person"}, "label2id": {"background": 0, "person": 1},
    "image_size": INPUT, "patch_size": 4, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
    "intermediate_size": 64, "layer_norm_eps": 1e-6,
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- scenes


def person_polygon(x0, y0, w, h):
    """A figure: a body rectangle with a narrower head on top (integer corners, 8 vertices)."""
    head_h = max(3, round(h * 0.28))
    head_w = max(3, round(w * 0.55))
    hx0 = x0 + (w - head_w) // 2
    yb = y0 + head_h
    return [hx0, y0, hx0 + head_w, y0, hx0 + head_w, yb, x0 + w, yb, x0 + w, y0 + h, x0, y0 + h, x0, yb, hx0, yb]


def fill_polygon_mask(poly, size):
    """Pixels of the figure (two integer rectangles), row-major [y, x]."""
    mask = np.zeros((size, size), dtype=bool)
    hx0, y0, hx1, _, _, yb, bx1, y1 = poly[0], poly[1], poly[2], poly[3], poly[4], poly[5], poly[6], poly[9]
    bx0 = poly[10]
    mask[y0:yb, hx0:hx1] = True
    mask[yb:y1, bx0:bx1] = True
    return mask


def random_scene(rng, contrast_of):
    """1-2 persons (or none), each in its own vertical band whose background sets its contrast."""
    n = int(rng.choice([0, 1, 2], p=[0.1, 0.4, 0.5]))
    bands = [(0, SCENE)] if n <= 1 else [(0, SCENE // 2), (SCENE // 2, SCENE)]
    persons = []
    for band in bands[:n]:
        tone = list(TONES)[rng.integers(2)]
        age = AGES[rng.integers(2)]
        h = int(rng.integers(40, 60) if age == "adult" else rng.integers(24, 36))
        w = max(8, round(h * rng.uniform(0.38, 0.46)))
        x0 = int(rng.integers(band[0] + 2, band[1] - w - 1))
        y0 = int(rng.integers(2, SCENE - h - 1))
        low, delta = contrast_of(rng, tone)
        persons.append({"tone": tone, "age": age, "box": [x0, y0, w, h], "low_contrast": low, "delta": delta,
                        "colour": [int(c + rng.integers(-8, 9)) for c in TONES[tone]]})
    backgrounds = []
    for i, band in enumerate(bands):
        if i < len(persons):
            p = persons[i]
            sign = 1 if p["tone"] == "darker" else -1
            backgrounds.append([int(np.clip(c + sign * p["delta"], 0, 255)) for c in p["colour"]])
        else:
            backgrounds.append([int(v) for v in rng.integers(40, 220, size=3)])
    return {"persons": persons, "bands": bands, "backgrounds": backgrounds, "noise_seed": int(rng.integers(2**31))}


def render(scene):
    image = np.zeros((SCENE, SCENE, 3), dtype=np.float64)
    for (b0, b1), colour in zip(scene["bands"], scene["backgrounds"]):
        image[:, b0:b1] = colour
    for p in scene["persons"]:
        image[fill_polygon_mask(person_polygon(*p["box"]), SCENE)] = p["colour"]
    noise = np.random.default_rng(scene["noise_seed"]).normal(0, NOISE, size=image.shape)
    return np.clip(np.round(image + noise), 0, 255).astype(np.uint8)


def train_contrast(rng, _tone):
    delta = int(rng.integers(*TRAIN_CONTRAST))
    return delta < LOW_CONTRAST[1], delta


def probe_contrast(kind):
    def pick(rng, tone):
        low = bool(rng.random() < LOW_SHARE[kind][tone])
        return low, int(rng.integers(*(LOW_CONTRAST if low else HIGH_CONTRAST)))
    return pick


def model_pixels(images, pre):
    """The processor's output for 96 × 96 scenes: PIL bilinear resize to 64 × 64, rescale, normalise."""
    return torch.from_numpy(np.stack([hp.preprocess(img, pre) for img in images]))


def detection_targets(scenes):
    """Per image: class per token (0 person, 1 no-object) and the normalised box of the person tokens."""
    classes = torch.ones((len(scenes), GRID * GRID), dtype=torch.long)
    boxes = torch.zeros((len(scenes), GRID * GRID, 4))
    for i, s in enumerate(scenes):
        for p in s["persons"]:
            x, y, w, h = p["box"]
            cx, cy = (x + w / 2) / SCENE, (y + h / 2) / SCENE
            q = min(GRID - 1, int(cy * GRID)) * GRID + min(GRID - 1, int(cx * GRID))
            classes[i, q] = 0
            boxes[i, q] = torch.tensor([cx, cy, w / SCENE, h / SCENE])
    return classes, boxes


def segmentation_targets(scenes, size):
    """Person masks at `size` × `size` (nearest sampling of the 96 × 96 mask at cell centres)."""
    out = torch.zeros((len(scenes), size, size), dtype=torch.long)
    centres = ((np.arange(size) + 0.5) * SCENE / size).astype(int)
    for i, s in enumerate(scenes):
        mask = np.zeros((SCENE, SCENE), dtype=bool)
        for p in s["persons"]:
            mask |= fill_polygon_mask(person_polygon(*p["box"]), SCENE)
        out[i] = torch.from_numpy(mask[np.ix_(centres, centres)].astype(np.int64))
    return out


# ---------------------------------------------------------------- models


class PatchTokens(nn.Module):
    def __init__(self, patch, width, tokens):
        super().__init__()
        self.embed = nn.Conv2d(3, width, patch, stride=patch)
        self.position = nn.Parameter(torch.zeros(1, tokens, width))
        nn.init.trunc_normal_(self.position, std=0.02)

    def forward(self, pixel_values):
        return self.embed(pixel_values).flatten(2).transpose(1, 2) + self.position


class TinyYolos(nn.Module):
    """ViT encoder whose patch tokens are the detection tokens: class and box heads per token."""

    def __init__(self, cfg):
        super().__init__()
        width = cfg["hidden_size"]
        self.tokens = PatchTokens(cfg["patch_size"], width, cfg["num_detection_tokens"])
        self.encoder = modeling.Encoder(width, cfg["num_hidden_layers"], cfg["num_attention_heads"],
                                        cfg["intermediate_size"], "gelu", cfg["layer_norm_eps"])
        self.norm = nn.LayerNorm(width, eps=cfg["layer_norm_eps"])
        self.class_head = nn.Linear(width, len(cfg["id2label"]) + 1)
        self.box_head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 4))

    def forward(self, pixel_values):
        x = self.norm(self.encoder(self.tokens(pixel_values)))
        return self.class_head(x), self.box_head(x).sigmoid()


class TinySegformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        width = cfg["hidden_size"]
        side = cfg["image_size"] // cfg["patch_size"]
        self.side = side
        self.tokens = PatchTokens(cfg["patch_size"], width, side * side)
        self.encoder = modeling.Encoder(width, cfg["num_hidden_layers"], cfg["num_attention_heads"],
                                        cfg["intermediate_size"], "gelu", cfg["layer_norm_eps"])
        self.norm = nn.LayerNorm(width, eps=cfg["layer_norm_eps"])
        self.head = nn.Linear(width, len(cfg["id2label"]))

    def forward(self, pixel_values):
        x = self.head(self.norm(self.encoder(self.tokens(pixel_values))))
        return x.transpose(1, 2).reshape(x.shape[0], -1, self.side, self.side)


# ---------------------------------------------------------------- probe sets


def write_probe_set(kind, scenes, images):
    directory = os.path.join(OUT, kind)
    os.makedirs(os.path.join(directory, "images"), exist_ok=True)
    coco_images, annotations, rows = [], [], []
    person_id = 0
    for i, (scene, image) in enumerate(zip(scenes, images)):
        name = f"{kind}-{i:04d}.png"
        from PIL import Image
        Image.fromarray(image, "RGB").save(os.path.join(directory, "images", name), optimize=True)
        coco_images.append({"id": i + 1, "file_name": name, "width": SCENE, "height": SCENE})
        for p in scene["persons"]:
            person_id += 1
            poly = person_polygon(*p["box"])
            area = int(fill_polygon_mask(poly, SCENE).sum())
            attributes = {"skin_tone": p["tone"], "age_group": p["age"]}
            annotations.append({"id": person_id, "image_id": i + 1, "category_id": 1, "bbox": p["box"], "area": area,
                                "iscrowd": 0, "segmentation": [poly], "attributes": attributes})
            # FACET-style: Monk-scale votes of 3 annotators (lighter: 2-3, darker: 8-9), perceived age.
            rng = np.random.default_rng([person_id, 7])
            monk = [0] * 10
            for _ in range(3):
                monk[int(rng.integers(1, 3) if p["tone"] == "lighter" else rng.integers(7, 9))] += 1
            x, y, w, h = p["box"]
            rows.append([person_id, name, "person", *monk, 0,
                         1 if p["age"] == "child" else 0, 1 if p["age"] == "adult" else 0, 0, 0,
                         json.dumps({"x": x, "y": y, "width": w, "height": h})])
    write_json(os.path.join(directory, "instances.json"), {
        "info": {"description": f"vigil synthetic person scenes ({kind})", "version": "1"},
        "images": coco_images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]})
    import csv
    with open(os.path.join(directory, "annotations.csv"), "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["person_id", "filename", "class1", *[f"skin_tone_{k}" for k in range(1, 11)], "skin_tone_na",
                         "age_presentation_young", "age_presentation_middle", "age_presentation_older",
                         "age_presentation_na", "bounding_box"])
        writer.writerows(rows)
    log(f"wrote {len(scenes)} {kind} scenes ({person_id} persons) to {directory}")


def person_recall(scenes, logits, boxes, threshold=0.5):
    """Share of persons (by tone) with a detection above `threshold` at IoU >= 0.5 (greedy by score)."""
    hits = {t: [0, 0] for t in TONES}
    probs = logits.softmax(-1)[..., 0]
    for s, p, b in zip(scenes, probs, boxes):
        keep = [(float(p[q]), b[q]) for q in range(len(p)) if p[q] > threshold]
        keep.sort(key=lambda x: -x[0])
        used = set()
        for person in s["persons"]:
            hits[person["tone"]][1] += 1
        for _, box in keep:
            cx, cy, w, h = [float(v) * SCENE for v in box]
            d = [cx - w / 2, cy - h / 2, w, h]
            best, m = 0.5, None
            for j, person in enumerate(s["persons"]):
                if j in used:
                    continue
                g = person["box"]
                iw = min(d[0] + d[2], g[0] + g[2]) - max(d[0], g[0])
                ih = min(d[1] + d[3], g[1] + g[3]) - max(d[1], g[1])
                if iw <= 0 or ih <= 0:
                    continue
                iou = iw * ih / (d[2] * d[3] + g[2] * g[3] - iw * ih)
                if iou >= best:
                    best, m = iou, j
            if m is not None:
                used.add(m)
                hits[s["persons"][m]["tone"]][0] += 1
    return {t: round(h / max(n, 1), 4) for t, (h, n) in hits.items()}


def fit_or_load(model, checkpoint, train, batch_loss, n_items, **fit_args):
    """Trains `model` with training.fit and saves it to `checkpoint` when `train`, else loads the
    checkpoint (to re-export without retraining); returns the training seconds."""
    if train:
        seconds = fit(model, batch_loss, n_items, **fit_args)
        torch.save({"state": model.state_dict(), "seconds": seconds}, checkpoint)
        return seconds
    saved = torch.load(checkpoint)
    model.load_state_dict(saved["state"])
    model.eval()
    return saved["seconds"]


def build_bench_model(seed):
    """bench/models/yolos-s-random: a ViT-S-sized YOLOS layout (224 × 224, 16 × 16 patches, 12
    layers, width 384, 196 detection tokens), random weights: bench/detect.bench.ts measures vigil's
    overhead against onnxruntime on a detector whose inference costs what a real one does."""
    torch.manual_seed(seed)
    cfg = {**DETECTOR_CONFIG, "image_size": [224, 224], "patch_size": 16, "hidden_size": 384, "num_hidden_layers": 12,
           "num_attention_heads": 6, "intermediate_size": 1536, "num_detection_tokens": 196}
    model = TinyYolos(cfg)
    directory = os.path.join(ROOT, "bench", "models", "yolos-s-random")
    export_onnx(model, (torch.zeros(1, 3, 224, 224),), os.path.join(directory, "onnx", "model.onnx"), ["pixel_values"],
                ["logits", "pred_boxes"], {"pixel_values": {0: "batch_size"}, "logits": {0: "batch_size"},
                                           "pred_boxes": {0: "batch_size"}})
    write_json(os.path.join(directory, "config.json"), {**cfg, "torch_dtype": "float32"})
    write_json(os.path.join(directory, "preprocessor_config.json"), {**hp.vit_processor_config(224, hp.VIT_MEAN_STD),
                                                                    "image_processor_type": "YolosImageProcessor"})
    log(f"wrote {directory}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--only", default="data,detector,segmenter")
    parser.add_argument("--work", default="/tmp/vigil-train-detectors",
                        help="checkpoints: a step left out of --only reuses its checkpoint to re-export")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    steps = args.only.split(",")
    if steps == ["bench-model"]:
        build_bench_model(args.seed)
        return
    rng = np.random.default_rng([args.seed, 16])
    train = [random_scene(rng, train_contrast) for _ in range(N_TRAIN)]
    train_pixels = model_pixels([render(s) for s in train], PRE)
    probes = {}
    for k, kind in enumerate(("planted", "control")):
        probe_rng = np.random.default_rng([args.seed, 17, k])
        scenes = [random_scene(probe_rng, probe_contrast(kind)) for _ in range(N_PROBE)]
        probes[kind] = (scenes, [render(s) for s in scenes])
        if "data" in steps:
            write_probe_set(kind, *probes[kind])
    environment = {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()}

    os.makedirs(args.work, exist_ok=True)
    detector_ckpt = os.path.join(args.work, "detector.pt")
    segmenter_ckpt = os.path.join(args.work, "segmenter.pt")
    if "detector" in steps or os.path.exists(detector_ckpt):
        model = TinyYolos(DETECTOR_CONFIG)
        classes, boxes = detection_targets(train)
        weights = torch.tensor([1.0, 0.1])

        def batch_loss(idx, _gen):
            logits, pred = model(train_pixels[idx])
            loss = F.cross_entropy(logits.reshape(-1, 2), classes[idx].reshape(-1), weight=weights)
            positive = classes[idx] == 0
            if positive.any():
                loss = loss + 5 * F.l1_loss(pred[positive], boxes[idx][positive])
            return loss

        seconds = fit_or_load(model, detector_ckpt, "detector" in steps, batch_loss, len(train), epochs=args.epochs,
                              batch_size=64, lr=2e-3, seed=args.seed, log=log, label="detector")
        directory = os.path.join(OUT, "models", "detector")
        export_onnx(model, (train_pixels[:2],), os.path.join(directory, "onnx", "model.onnx"), ["pixel_values"],
                    ["logits", "pred_boxes"], {"pixel_values": {0: "batch_size"}, "logits": {0: "batch_size"},
                                               "pred_boxes": {0: "batch_size"}})
        write_json(os.path.join(directory, "config.json"), {**DETECTOR_CONFIG, "torch_dtype": "float32"})
        write_json(os.path.join(directory, "preprocessor_config.json"), PRE)
        recall = {}
        parity = []
        for kind, (scenes, images) in probes.items():
            pv = model_pixels(images, PRE)
            with torch.no_grad():
                logits, pred = model(pv)
            recall[kind] = person_recall(scenes, logits, pred)
            parity_dir = os.path.join(directory, "parity")
            for i in range(2):
                name = f"{kind}-{i:04d}"
                parity.append({"name": name, "image": f"fixtures/detect/{kind}/images/{name}.png",
                               "tensors": {"pixel_values": write_tensor(parity_dir, f"{name}.pixel_values", pv[i:i + 1]),
                                           "logits": write_tensor(parity_dir, f"{name}.logits", logits[i:i + 1]),
                                           "pred_boxes": write_tensor(parity_dir, f"{name}.pred_boxes", pred[i:i + 1])}})
        write_json(os.path.join(directory, "parity", "index.json"), {"kind": "detection", "images": parity})
        write_json(os.path.join(directory, "metrics.json"), {
            "model": "detector", "recall_at_iou_0.5_score_0.5_by_tone": recall, "train_images": len(train),
            "epochs": args.epochs, "seed": args.seed, "training_seconds": round(seconds, 1), "environment": environment})
        log(f"detector recall by tone: {recall}")

    if "segmenter" in steps or os.path.exists(segmenter_ckpt):
        model = TinySegformer(SEGMENTER_CONFIG)
        side = INPUT // SEGMENTER_CONFIG["patch_size"]
        targets = segmentation_targets(train[:N_SEGMENTER_TRAIN], side)

        def seg_loss(idx, _gen):
            return F.cross_entropy(model(train_pixels[idx]), targets[idx])

        seconds = fit_or_load(model, segmenter_ckpt, "segmenter" in steps, seg_loss, N_SEGMENTER_TRAIN,
                              epochs=max(1, args.epochs // 3), batch_size=64, lr=2e-3, seed=args.seed, log=log,
                              label="segmenter")
        directory = os.path.join(OUT, "models", "segmenter")
        export_onnx(model, (train_pixels[:2],), os.path.join(directory, "onnx", "model.onnx"), ["pixel_values"],
                    ["logits"], {"pixel_values": {0: "batch_size"}, "logits": {0: "batch_size"}})
        write_json(os.path.join(directory, "config.json"), {**SEGMENTER_CONFIG, "torch_dtype": "float32"})
        write_json(os.path.join(directory, "preprocessor_config.json"), SEG_PRE)
        parity = []
        ious = {}
        for kind, (scenes, images) in probes.items():
            pv = model_pixels(images, SEG_PRE)
            with torch.no_grad():
                logits = model(pv)
            up = F.interpolate(logits, size=(SCENE, SCENE), mode="bilinear", align_corners=False).argmax(1)
            per_tone = {t: [] for t in TONES}
            for s, pred in zip(scenes, up.numpy()):
                for p in s["persons"]:
                    gt = fill_polygon_mask(person_polygon(*p["box"]), SCENE)
                    x, y, w, h = p["box"]
                    window = np.zeros_like(gt)
                    window[y:y + h, x:x + w] = True
                    dt = (pred == 1) & window
                    per_tone[p["tone"]].append((gt & dt).sum() / max(1, (gt | dt).sum()))
            ious[kind] = {t: round(float(np.mean(v)), 4) for t, v in per_tone.items()}
            parity_dir = os.path.join(directory, "parity")
            for i in range(2):
                name = f"{kind}-{i:04d}"
                parity.append({"name": name, "image": f"fixtures/detect/{kind}/images/{name}.png",
                               "tensors": {"pixel_values": write_tensor(parity_dir, f"{name}.pixel_values", pv[i:i + 1]),
                                           "logits": write_tensor(parity_dir, f"{name}.logits", logits[i:i + 1])}})
        write_json(os.path.join(directory, "parity", "index.json"), {"kind": "segmentation", "images": parity})
        write_json(os.path.join(directory, "metrics.json"), {
            "model": "segmenter", "mean_mask_iou_by_tone": ious, "train_images": N_SEGMENTER_TRAIN,
            "epochs": max(1, args.epochs // 3), "seed": args.seed, "training_seconds": round(seconds, 1),
            "environment": environment})
        log(f"segmenter mean mask IoU by tone: {ious}")


if __name__ == "__main__":
    main()
