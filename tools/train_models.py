#!/usr/bin/python3
"""Generates the synthetic dataset and trains/exports vigil's bundled tiny models and fixtures.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/train_models.py
        [--only images,vit,clip,mae,probes,bench-model] [--seed 0]

Needs Debian's torch/onnx (apt-get install python3-torch python3-onnx libopenblas0-pthread
python3-pil python3-numpy). Seeded and single-threaded: two runs write byte-identical ONNX files.
See docs/fixtures.md for what each output is and what the models achieve.
"""

import argparse
import csv
import io
import os
import platform
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "py"))

import hf_preprocess as hp  # noqa: E402
import modeling  # noqa: E402
import synthetic as syn  # noqa: E402
from bpe_tokenizer import ClipBpeTokenizer, learn_merges  # noqa: E402
from onnx_export import export_onnx, write_json, write_tensor  # noqa: E402
from training import fit  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = ["images", "vit", "clip", "mae", "probes", "bench-model"]

IMAGE_SIZE = 64
N_TRAIN = 10_000
N_PLANTED_TRAIN = 1_600
N_HELDOUT = 1_000
# The planted annotation bias: in the dark-tone training subset, circles and stars were
# labelled (and captioned) "square" with this probability.
PLANTED_FROM = ("circle", "star")
PLANTED_TO = "square"
PLANTED_RATE = 0.9

ZERO_SHOT_TEMPLATE = "a photo of a {label}"
CAPTION_TEMPLATES = [
    # (template, attributes it names) - the attributes decide which images a caption describes.
    ("a photo of a {colour} {shape} on a {background} background", ("colour", "shape", "background")),
    ("a {colour} {shape} on a {background} background", ("colour", "shape", "background")),
    ("a photo of a {colour} {shape}", ("colour", "shape")),
    ("a photo of a {shape}", ("shape",)),
    ("a {shape} on a {background} background", ("shape", "background")),
    ("a photo of something {colour}", ("colour",)),
]
# Extra words so prompts users commonly write tokenize into whole words, not single bytes.
TOKENIZER_EXTRA_WORDS = ("an image of the shape picture object with and in colored coloured drawing "
                         "small large big dark light bright pale photograph rendering icon symbol")

VIT_CONFIG = {
    "architectures": ["ViTForImageClassification"], "model_type": "vit", "image_size": IMAGE_SIZE,
    "patch_size": 8, "num_channels": 3, "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4,
    "intermediate_size": 256, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "qkv_bias": True,
    "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "initializer_range": 0.02,
    "id2label": {str(i): s for i, s in enumerate(syn.SHAPES)},
    "label2id": {s: i for i, s in enumerate(syn.SHAPES)},
}
CLIP_VISION = {
    "model_type": "clip_vision_model", "image_size": IMAGE_SIZE, "patch_size": 8, "num_channels": 3,
    "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 256,
    "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "projection_dim": 64,
}
MAE_CONFIG = {
    "architectures": ["ViTMAEForPreTraining"], "model_type": "vit_mae", "image_size": IMAGE_SIZE,
    "patch_size": 8, "num_channels": 3, "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4,
    "intermediate_size": 256, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "qkv_bias": True,
    "decoder_hidden_size": 64, "decoder_num_hidden_layers": 2, "decoder_num_attention_heads": 4,
    "decoder_intermediate_size": 256, "mask_ratio": 0.75, "norm_pix_loss": False,
    "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "initializer_range": 0.02,
}
BENCH_VISION = {
    "model_type": "clip_vision_model", "image_size": 224, "patch_size": 32, "num_channels": 3,
    "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
    "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "projection_dim": 512,
}

VIT_PRE = hp.vit_processor_config(IMAGE_SIZE, hp.VIT_MEAN_STD)
MAE_PRE = hp.vit_processor_config(IMAGE_SIZE, hp.IMAGENET_MEAN_STD)
CLIP_PRE = hp.clip_processor_config(IMAGE_SIZE)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def environment():
    return {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads()}


# ---------------------------------------------------------------- dataset


class Dataset:
    """Training set (normal + planted dark-tone subset) and the normal held-out set."""

    def __init__(self, seed):
        rng = np.random.default_rng([seed, 1])
        normal = [syn.random_scene(rng) for _ in range(N_TRAIN)]
        planted = [syn.random_scene(rng, tone="dark") for _ in range(N_PLANTED_TRAIN)]
        for scene in normal + planted:
            scene["annotated_shape"] = scene["shape"]
        for scene in planted:
            if scene["shape"] in PLANTED_FROM and rng.random() < PLANTED_RATE:
                scene["annotated_shape"] = PLANTED_TO
        self.train_scenes = normal + planted
        held_rng = np.random.default_rng([seed, 2])
        self.heldout_scenes = [syn.random_scene(held_rng) for _ in range(N_HELDOUT)]
        for scene in self.heldout_scenes:
            scene["annotated_shape"] = scene["shape"]
        self.train_images = syn.render_many(self.train_scenes)
        self.heldout_images = syn.render_many(self.heldout_scenes)
        self.train_labels = torch.tensor([syn.SHAPES.index(s["annotated_shape"]) for s in self.train_scenes])
        self.heldout_labels = torch.tensor([syn.SHAPES.index(s["shape"]) for s in self.heldout_scenes])
        self.n_flipped = sum(s["annotated_shape"] != s["shape"] for s in self.train_scenes)

    def summary(self):
        return {"train_images": len(self.train_scenes), "train_normal": N_TRAIN,
                "train_planted_dark_tone": N_PLANTED_TRAIN, "train_labels_flipped": self.n_flipped,
                "heldout_images": len(self.heldout_scenes), "image_size": IMAGE_SIZE,
                "shapes": syn.SHAPES, "colours": list(syn.COLOURS), "backgrounds": syn.BACKGROUNDS,
                "heldout_tones": ["light", "medium"]}


def pixels(images, pre):
    return torch.from_numpy(hp.preprocess_batch_at_size(images, pre))


def check_fast_path(images):
    for pre in (VIT_PRE, MAE_PRE, CLIP_PRE):
        slow = np.stack([hp.preprocess(img, pre) for img in images[:8]])
        if not np.array_equal(slow, hp.preprocess_batch_at_size(images[:8], pre)):
            raise AssertionError("batched preprocessing differs from the per-image HF processor")


def predict_in_batches(fn, images, pre, batch=250):
    outs = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            outs.append(fn(pixels(images[i : i + batch], pre)))
    return torch.cat(outs)


def checkpoint_path(work_dir, kind):
    return os.path.join(work_dir, f"{kind}.pt")


def load_checkpoint(work_dir, kind, model):
    path = checkpoint_path(work_dir, kind)
    if not os.path.exists(path):
        raise SystemExit(f"{path} is missing: run with --only {kind} (or without --only) first")
    model.load_state_dict(torch.load(path))
    model.eval()
    return model


# ---------------------------------------------------------------- held-out images


def write_heldout(data, out_dir):
    directory = os.path.join(out_dir, "images", "heldout")
    os.makedirs(directory, exist_ok=True)
    rows = []
    for i, (scene, image) in enumerate(zip(data.heldout_scenes, data.heldout_images)):
        name = f"{i:04d}.png"
        syn.save_png(image, os.path.join(directory, name))
        rows.append([name, scene["shape"], scene["colour"], f"{scene['colour']} {scene['shape']}",
                     scene["background"], scene["tone"]])
    write_csv(os.path.join(directory, "labels.csv"),
              ["file", "label", "colour", "colour_shape", "background", "tone"], rows)
    log(f"wrote {len(rows)} held-out images to {directory}")


def write_csv(path, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with open(path, "w", encoding="utf-8") as f:
        f.write(buffer.getvalue())


# ---------------------------------------------------------------- parity inputs


def parity_images(data, seed):
    """4 held-out images at the model input size + 2 other sizes exercising resize and crop."""
    rng = np.random.default_rng([seed, 3])
    items = [(f"heldout-{i:04d}", data.heldout_images[i], data.heldout_scenes[i]["shape"]) for i in range(4)]
    for width, height in ((80, 96), (96, 80)):
        scene = syn.random_scene(rng, width=width, height=height)
        items.append((f"resized-{width}x{height}", syn.render(scene), scene["shape"]))
    return items


def save_parity_image(directory, name, image):
    os.makedirs(os.path.join(directory, "images"), exist_ok=True)
    file = f"images/{name}.png"
    syn.save_png(image, os.path.join(directory, file))
    return file


PARITY_TOLERANCES = {
    "pixel_values_max_abs_diff_at_input_size": 1e-4,
    "outputs_max_abs_diff_at_input_size": 1e-4,
    "embedding_cosine_min": 0.9999,
    "resized_note": "resized inputs use PIL's filters here; sharp's kernels differ (up to ~0.06 in normalised "
                    "units for cubic), so resized entries only get a loose agreement check",
}


# ---------------------------------------------------------------- ViT


def train_vit(data, seed, epochs):
    torch.manual_seed(seed)
    model = modeling.ViTForImageClassification(VIT_CONFIG)
    x_all, y_all = data.train_images, data.train_labels

    def batch_loss(idx, _gen):
        logits = model(pixels(x_all[idx.numpy()], VIT_PRE))
        return F.cross_entropy(logits, y_all[idx])

    seconds = fit(model, batch_loss, len(x_all), epochs=epochs, batch_size=128, lr=2e-3, seed=seed, log=log,
                  label="vit")
    return model, seconds


def predict_vit_labels(model, images):
    return [syn.SHAPES[i] for i in predict_in_batches(model, images, VIT_PRE).argmax(dim=1)]


def export_vit(model, data, out_dir, seconds, seed, epochs):
    directory = os.path.join(out_dir, "models", "vit")
    export_onnx(model, (pixels(data.heldout_images[:2], VIT_PRE),), os.path.join(directory, "onnx", "model.onnx"),
                ["pixel_values"], ["logits"], {"pixel_values": {0: "batch_size"}, "logits": {0: "batch_size"}})
    write_json(os.path.join(directory, "config.json"), {**VIT_CONFIG, "torch_dtype": "float32"})
    write_json(os.path.join(directory, "preprocessor_config.json"), VIT_PRE)

    logits = predict_in_batches(model, data.heldout_images, VIT_PRE)
    predicted = logits.argmax(dim=1)
    correct = (predicted == data.heldout_labels)
    tones = np.array([s["tone"] for s in data.heldout_scenes])
    write_json(os.path.join(directory, "metrics.json"), {
        "model": "vit", "task": "shape classification (4 classes)", "labels": syn.SHAPES,
        "heldout_accuracy": round(correct.float().mean().item(), 4),
        "heldout_correct": int(correct.sum()), "heldout_images": len(correct),
        "heldout_images_dir": "fixtures/images/heldout", "heldout_label_column": "label",
        "heldout_accuracy_by_tone": {t: round(correct[torch.from_numpy(tones == t)].float().mean().item(), 4)
                                     for t in ("light", "medium")},
        "dataset": data.summary(), "seed": seed, "epochs": epochs,
        "training_seconds": round(seconds, 1), "environment": environment(),
    })
    log(f"vit held-out accuracy {correct.float().mean().item():.4f}")

    parity_dir = os.path.join(directory, "parity")
    entries = []
    for name, image, label in parity_images(data, seed):
        pv = torch.from_numpy(hp.preprocess(image, VIT_PRE)).unsqueeze(0)
        with torch.no_grad():
            out = model(pv)
        entries.append({"name": name, "image": save_parity_image(parity_dir, name, image),
                        "width": int(image.shape[1]), "height": int(image.shape[0]),
                        "at_input_size": image.shape[:2] == (IMAGE_SIZE, IMAGE_SIZE), "label": label,
                        "predicted": syn.SHAPES[int(out.argmax())],
                        "tensors": {"pixel_values": write_tensor(parity_dir, f"{name}.pixel_values", pv),
                                    "logits": write_tensor(parity_dir, f"{name}.logits", out)}})
    write_json(os.path.join(parity_dir, "index.json"), {
        "kind": "vit", "model": "onnx/model.onnx", "preprocessor": "preprocessor_config.json",
        "format": "float32 little-endian, C order, shapes as listed", "tolerances": PARITY_TOLERANCES,
        "images": entries})


# ---------------------------------------------------------------- CLIP


def clip_config(tokenizer):
    return {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": CLIP_VISION["projection_dim"],
        "logit_scale_init_value": 2.6592, "initializer_factor": 1.0,
        "text_config": {
            "model_type": "clip_text_model", "vocab_size": tokenizer.vocab_size, "hidden_size": 64,
            "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
            "max_position_embeddings": 77, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
            "bos_token_id": tokenizer.bos_id, "eos_token_id": tokenizer.eos_id, "pad_token_id": tokenizer.eos_id,
            "projection_dim": CLIP_VISION["projection_dim"],
        },
        "vision_config": dict(CLIP_VISION),
    }


def caption_table():
    """Every distinct training caption with the attribute values it names."""
    table = []
    for template, attrs in CAPTION_TEMPLATES:
        for colour in syn.COLOURS:
            for shape in syn.SHAPES:
                for background in syn.BACKGROUNDS:
                    values = {"colour": colour, "shape": shape, "background": background}
                    named = {a: values[a] for a in attrs}
                    text = template.format(**values)
                    if all(t != text for t, _ in table):
                        table.append((text, named))
    return table


def build_tokenizer():
    corpus = [t for t, _ in caption_table()] + [ZERO_SHOT_TEMPLATE.format(label=s) for s in syn.SHAPES]
    corpus += TOKENIZER_EXTRA_WORDS.split()
    return ClipBpeTokenizer(learn_merges(corpus, max_merges=400))


def encode_batch(tokenizer, texts, length=77):
    ids, masks = [], []
    for text in texts:
        i, m = tokenizer.encode(text)
        ids.append(i[:length])
        masks.append(m[:length])
    return torch.tensor(ids, dtype=torch.int64), torch.tensor(masks, dtype=torch.int64)


def init_clip_vision_from_vit(clip, vit):
    """Warm start: the CLIP image tower starts from the trained ViT's patch, position and encoder weights."""
    v = clip.vision_model
    with torch.no_grad():
        v.patch_embeddings.projection.weight.copy_(vit.patch_embeddings.projection.weight)
        v.position_embedding.copy_(vit.position_embeddings)
        v.class_embedding.copy_(vit.cls_token.reshape(-1))
        v.encoder.load_state_dict(vit.encoder.state_dict())


def train_clip(data, tokenizer, vit, seed, epochs):
    torch.manual_seed(seed)
    cfg = clip_config(tokenizer)
    model = modeling.CLIPModel(cfg)
    init_clip_vision_from_vit(model, vit)
    table = caption_table()
    max_len = max(len(tokenizer.encode(t, pad=False)[0]) for t, _ in table)
    caption_ids, caption_mask = encode_batch(tokenizer, [t for t, _ in table], length=max_len)
    # For each image attribute combination, which captions describe it.
    scene_keys = [(s["colour"], s["annotated_shape"], s["background"]) for s in data.train_scenes]
    attr_values = np.array(scene_keys)
    fits = np.ones((len(scene_keys), len(table)), dtype=bool)
    for j, (_, named) in enumerate(table):
        for a, col in (("colour", 0), ("shape", 1), ("background", 2)):
            if a in named:
                fits[:, j] &= attr_values[:, col] == named[a]
    fits_t = torch.from_numpy(fits)
    x_all = data.train_images

    def batch_loss(idx, gen):
        sub = fits_t[idx]
        # One caption per image, drawn among those that describe it.
        choice = torch.multinomial(sub.float(), 1, generator=gen).squeeze(1)
        image_embeds = model.vision_model(pixels(x_all[idx.numpy()], CLIP_PRE))[0]
        text_embeds = model.text_model(caption_ids[choice], caption_mask[choice])[0]
        image_embeds = F.normalize(image_embeds, dim=-1)
        text_embeds = F.normalize(text_embeds, dim=-1)
        scale = model.logit_scale.clamp(max=np.log(100.0)).exp()
        logits = scale * image_embeds @ text_embeds.t()
        # Multi-positive targets: caption j is a positive for image i when it describes image i.
        positive = sub[:, choice].float()
        i2t = -(positive / positive.sum(1, keepdim=True) * F.log_softmax(logits, dim=1)).sum(1).mean()
        t2i = -(positive / positive.sum(0, keepdim=True) * F.log_softmax(logits, dim=0)).sum(0).mean()
        return (i2t + t2i) / 2

    seconds = fit(model, batch_loss, len(x_all), epochs=epochs, batch_size=128, lr=1e-3, seed=seed, log=log,
                  label="clip")
    with torch.no_grad():
        model.logit_scale.clamp_(max=np.log(100.0))
    return model, cfg, seconds


def zero_shot(model, tokenizer, images, labels):
    ids, mask = encode_batch(tokenizer, [ZERO_SHOT_TEMPLATE.format(label=l) for l in labels])
    with torch.no_grad():
        text = F.normalize(model.text_model(ids, mask)[0], dim=-1)
        image = F.normalize(predict_in_batches(lambda pv: model.vision_model(pv)[0], images, CLIP_PRE), dim=-1)
    return (image @ text.t()).argmax(dim=1)


def clip_similarity(model, tokenizer, images, text):
    ids, mask = encode_batch(tokenizer, [text])
    with torch.no_grad():
        t = F.normalize(model.text_model(ids, mask)[0], dim=-1)
        image = F.normalize(predict_in_batches(lambda pv: model.vision_model(pv)[0], images, CLIP_PRE), dim=-1)
    return (image @ t.t())[:, 0].tolist()


def export_clip(model, cfg, tokenizer, data, out_dir, seconds, seed, epochs):
    directory = os.path.join(out_dir, "models", "clip")
    pv = pixels(data.heldout_images[:2], CLIP_PRE)
    ids, mask = encode_batch(tokenizer, ["a photo of a circle", "a red star on a striped background"])
    batch = {0: "batch_size"}
    seq = {0: "batch_size", 1: "sequence_length"}
    export_onnx(modeling.VisionExport(model.vision_model), (pv,), os.path.join(directory, "onnx", "vision_model.onnx"),
                ["pixel_values"], ["image_embeds", "last_hidden_state"],
                {"pixel_values": batch, "image_embeds": batch, "last_hidden_state": batch})
    export_onnx(modeling.TextExport(model.text_model), (ids, mask), os.path.join(directory, "onnx", "text_model.onnx"),
                ["input_ids", "attention_mask"], ["text_embeds", "last_hidden_state"],
                {"input_ids": seq, "attention_mask": seq, "text_embeds": batch, "last_hidden_state": seq})
    export_onnx(model, (ids, pv, mask), os.path.join(directory, "onnx", "model.onnx"),
                ["input_ids", "pixel_values", "attention_mask"],
                ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
                {"input_ids": seq, "attention_mask": seq, "pixel_values": {0: "image_batch_size"},
                 "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
                 "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
                 "text_embeds": {0: "text_batch_size"}, "image_embeds": {0: "image_batch_size"}})
    logit_scale = float(model.logit_scale.detach())
    write_json(os.path.join(directory, "config.json"), {**cfg, "logit_scale": round(logit_scale, 6),
                                                        "torch_dtype": "float32"})
    write_json(os.path.join(directory, "preprocessor_config.json"), CLIP_PRE)
    write_json(os.path.join(directory, "tokenizer.json"), tokenizer.tokenizer_json())
    write_json(os.path.join(directory, "tokenizer_config.json"), tokenizer.tokenizer_config_json())
    write_json(os.path.join(directory, "special_tokens_map.json"), tokenizer.special_tokens_map_json())

    predicted = zero_shot(model, tokenizer, data.heldout_images, syn.SHAPES)
    accuracy = (predicted == data.heldout_labels).float().mean().item()
    colour_shapes = [f"{c} {s}" for c in syn.COLOURS for s in syn.SHAPES]
    truth16 = torch.tensor([colour_shapes.index(f"{s['colour']} {s['shape']}") for s in data.heldout_scenes])
    accuracy16 = (zero_shot(model, tokenizer, data.heldout_images, colour_shapes) == truth16).float().mean().item()
    write_json(os.path.join(directory, "metrics.json"), {
        "model": "clip", "zero_shot_template": ZERO_SHOT_TEMPLATE, "zero_shot_labels": syn.SHAPES,
        "heldout_zero_shot_accuracy": round(accuracy, 4), "heldout_images": len(predicted),
        "heldout_images_dir": "fixtures/images/heldout", "heldout_label_column": "label",
        "colour_shape_zero_shot": {"labels": colour_shapes, "template": ZERO_SHOT_TEMPLATE,
                                   "label_column": "colour_shape", "heldout_accuracy": round(accuracy16, 4)},
        "logit_scale": round(logit_scale, 6), "vision_tower_warm_start": "trained ViT (patch, position, encoder)",
        "dataset": data.summary(), "seed": seed, "epochs": epochs, "training_seconds": round(seconds, 1),
        "environment": environment(),
    })
    log(f"clip zero-shot accuracy {accuracy:.4f} (shapes), {accuracy16:.4f} (colour+shape)")

    parity_dir = os.path.join(directory, "parity")
    os.makedirs(parity_dir, exist_ok=True)
    prompts = [ZERO_SHOT_TEMPLATE.format(label=s) for s in syn.SHAPES] + [
        "A photo of a RED star on a striped background.", "an image of a large yellow square", "x"]
    ids, mask = encode_batch(tokenizer, prompts)
    with torch.no_grad():
        text_embeds = model.text_model(ids, mask)[0]
    texts = [{"text": t, "input_ids": ids[i].tolist(), "attention_mask": mask[i].tolist(),
              "tensors": {"text_embeds": write_tensor(parity_dir, f"text-{i}.text_embeds", text_embeds[i:i + 1])}}
             for i, t in enumerate(prompts)]
    entries, all_pv = [], []
    for name, image, label in parity_images(data, seed):
        pv = torch.from_numpy(hp.preprocess(image, CLIP_PRE)).unsqueeze(0)
        all_pv.append(pv)
        with torch.no_grad():
            image_embeds = model.vision_model(pv)[0]
        entries.append({"name": name, "image": save_parity_image(parity_dir, name, image),
                        "width": int(image.shape[1]), "height": int(image.shape[0]),
                        "at_input_size": image.shape[:2] == (IMAGE_SIZE, IMAGE_SIZE), "label": label,
                        "tensors": {"pixel_values": write_tensor(parity_dir, f"{name}.pixel_values", pv),
                                    "image_embeds": write_tensor(parity_dir, f"{name}.image_embeds", image_embeds)}})
    with torch.no_grad():
        logits_per_image = model(ids, torch.cat(all_pv), mask)[0]
    write_json(os.path.join(parity_dir, "index.json"), {
        "kind": "clip", "vision_model": "onnx/vision_model.onnx", "text_model": "onnx/text_model.onnx",
        "combined_model": "onnx/model.onnx", "preprocessor": "preprocessor_config.json",
        "format": "float32 little-endian, C order, shapes as listed; image_embeds/text_embeds are the "
                  "unnormalised projections (vision_model.onnx / text_model.onnx outputs); logits_per_image is "
                  "model.onnx's output for all images x all texts (rows: images in order, columns: texts)",
        "tolerances": PARITY_TOLERANCES, "logit_scale": round(logit_scale, 6), "images": entries, "texts": texts,
        "logits_per_image": write_tensor(parity_dir, "logits_per_image", logits_per_image)})


# ---------------------------------------------------------------- MAE


def train_mae(data, seed, epochs):
    torch.manual_seed(seed)
    model = modeling.ViTMAEForPreTraining(MAE_CONFIG)
    x_all = data.train_images

    def batch_loss(idx, gen):
        pv = pixels(x_all[idx.numpy()], MAE_PRE)
        noise = torch.rand(len(idx), model.num_patches, generator=gen)
        logits, mask = model(pv, noise)
        return model.per_image_loss(pv, logits, mask).mean()

    seconds = fit(model, batch_loss, len(x_all), epochs=epochs, batch_size=128, lr=2e-3, seed=seed, log=log,
                  label="mae")
    return model, seconds


def mae_errors(model, images, noise_seed, draws=1):
    """Per-image normalised reconstruction error, averaged over `draws` seeded noise arrays."""
    gen = torch.Generator().manual_seed(noise_seed)
    total = torch.zeros(len(images))
    for _ in range(draws):
        errs = []
        for i in range(0, len(images), 250):
            pv = pixels(images[i : i + 250], MAE_PRE)
            noise = torch.rand(len(pv), model.num_patches, generator=gen)
            with torch.no_grad():
                errs.append(model.per_image_loss(pv, *model(pv, noise)))
        total += torch.cat(errs)
    return total / draws


def export_mae(model, data, out_dir, seconds, seed, epochs):
    directory = os.path.join(out_dir, "models", "mae")
    pv = pixels(data.heldout_images[:2], MAE_PRE)
    noise = torch.rand(2, model.num_patches, generator=torch.Generator().manual_seed(seed))
    batch = {0: "batch_size"}
    export_onnx(model, (pv, noise), os.path.join(directory, "onnx", "model.onnx"), ["pixel_values", "noise"],
                ["logits", "mask"], {"pixel_values": batch, "noise": batch, "logits": batch, "mask": batch})
    write_json(os.path.join(directory, "config.json"), {**MAE_CONFIG, "torch_dtype": "float32"})
    write_json(os.path.join(directory, "preprocessor_config.json"), MAE_PRE)

    # Baselines scored on the same masked patches (same noise): predicting zeros, the training
    # set's mean patch at each position, and the mean of the image's own visible patches.
    with torch.no_grad():
        mean_patch = torch.zeros(model.num_patches, model.patch_size ** 2 * 3)
        for i in range(0, len(data.train_images), 500):
            mean_patch += model.targets(pixels(data.train_images[i : i + 500], MAE_PRE)).sum(0)
        mean_patch /= len(data.train_images)
    gen = torch.Generator().manual_seed(seed + 7)
    scores = {"model": [], "zeros": [], "mean_patch": [], "visible_mean": []}
    for i in range(0, len(data.heldout_images), 250):
        pv = pixels(data.heldout_images[i : i + 250], MAE_PRE)
        noise = torch.rand(len(pv), model.num_patches, generator=gen)
        with torch.no_grad():
            logits, mask = model(pv, noise)
            visible = 1 - mask
            targets = model.targets(pv)
            visible_mean = (targets * visible[..., None]).sum(1) / visible.sum(1)[:, None]
            scores["model"].append(model.per_image_loss(pv, logits, mask))
            scores["zeros"].append(model.per_image_loss(pv, torch.zeros_like(logits), mask))
            scores["mean_patch"].append(model.per_image_loss(pv, mean_patch.expand_as(logits), mask))
            scores["visible_mean"].append(model.per_image_loss(pv, visible_mean[:, None, :].expand_as(logits), mask))
    loss, zero_loss, mean_loss, visible_loss = (torch.cat(scores[k]).mean().item()
                                                for k in ("model", "zeros", "mean_patch", "visible_mean"))
    write_json(os.path.join(directory, "metrics.json"), {
        "model": "mae", "mask_ratio": MAE_CONFIG["mask_ratio"], "norm_pix_loss": MAE_CONFIG["norm_pix_loss"],
        "heldout_reconstruction_loss": round(loss, 4),
        "baseline_zeros_loss": round(zero_loss, 4), "baseline_mean_patch_loss": round(mean_loss, 4),
        "baseline_visible_mean_loss": round(visible_loss, 4),
        "loss_relative_to_mean_patch": round(loss / mean_loss, 4),
        "loss_definition": "transformers ViTMAEForPreTraining forward_loss kept per image: mean over masked patches "
                           "of the mean squared error against the patchified pixel_values (normalised pixels; "
                           "norm_pix_loss false), averaged over images",
        "baselines": {"zeros": "predict 0 for every masked patch",
                      "mean_patch": "predict the training set's mean patch at each position",
                      "visible_mean": "predict the mean of the same image's visible (unmasked) patches"},
        "noise": f"torch.rand(seeded {seed + 7}) per batch of 250 held-out images",
        "heldout_images": len(data.heldout_images), "heldout_images_dir": "fixtures/images/heldout",
        "dataset": data.summary(), "seed": seed, "epochs": epochs, "training_seconds": round(seconds, 1),
        "environment": environment(),
    })
    log(f"mae loss {loss:.4f} vs zeros {zero_loss:.4f}, mean patch {mean_loss:.4f}, visible mean {visible_loss:.4f}")

    parity_dir = os.path.join(directory, "parity")
    entries = []
    noise_rng = np.random.default_rng([seed, 4])
    for name, image, label in parity_images(data, seed):
        pv = torch.from_numpy(hp.preprocess(image, MAE_PRE)).unsqueeze(0)
        noise = torch.from_numpy(noise_rng.random((1, model.num_patches), dtype=np.float32))
        with torch.no_grad():
            logits, mask = model(pv, noise)
            per_patch = ((logits - model.targets(pv)) ** 2).mean(dim=-1)
            error = model.per_image_loss(pv, logits, mask)
        entries.append({"name": name, "image": save_parity_image(parity_dir, name, image),
                        "width": int(image.shape[1]), "height": int(image.shape[0]),
                        "at_input_size": image.shape[:2] == (IMAGE_SIZE, IMAGE_SIZE), "label": label,
                        "reconstruction_error": float(error[0]),
                        "tensors": {"pixel_values": write_tensor(parity_dir, f"{name}.pixel_values", pv),
                                    "noise": write_tensor(parity_dir, f"{name}.noise", noise),
                                    "logits": write_tensor(parity_dir, f"{name}.logits", logits),
                                    "mask": write_tensor(parity_dir, f"{name}.mask", mask),
                                    "patch_errors": write_tensor(parity_dir, f"{name}.patch_errors", per_patch)}})
    write_json(os.path.join(parity_dir, "index.json"), {
        "kind": "mae", "model": "onnx/model.onnx", "preprocessor": "preprocessor_config.json",
        "format": "float32 little-endian, C order, shapes as listed. noise is the model input; mask is 1 for removed "
                  "patches; patch_errors is the per-patch mean squared error of logits against the patchified "
                  "pixel_values (norm_pix_loss false; all patches); reconstruction_error is its mean over masked "
                  "patches",
        "tolerances": PARITY_TOLERANCES, "images": entries})


# ---------------------------------------------------------------- entry point


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma list of steps: {','.join(STEPS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(ROOT, "fixtures"), help="fixtures root")
    parser.add_argument("--bench-dir", default=os.path.join(ROOT, "bench", "models", "clip-vit-b32-random"))
    parser.add_argument("--work-dir", default="/tmp/vigil-train", help="PyTorch checkpoints between steps")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every epoch count (quick trials)")
    args = parser.parse_args()
    steps = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        parser.error(f"--only: unknown step(s) {', '.join(unknown)}; expected some of {', '.join(STEPS)}")

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    os.makedirs(args.work_dir, exist_ok=True)
    started = time.time()

    if "bench-model" in steps:
        import bench_model
        bench_model.build(args.bench_dir, BENCH_VISION, args.seed, log)
    if not set(steps) & {"images", "vit", "clip", "mae", "probes"}:
        return

    log("rendering dataset")
    data = Dataset(args.seed)
    check_fast_path(data.heldout_images)
    log(f"dataset ready: {data.summary()['train_images']} train, {len(data.heldout_scenes)} held-out")
    epochs = {k: max(1, round(v * args.epochs_scale)) for k, v in {"vit": 14, "clip": 8, "mae": 12}.items()}

    if "images" in steps:
        write_heldout(data, args.out)
    if "vit" in steps:
        vit, seconds = train_vit(data, args.seed, epochs["vit"])
        torch.save(vit.state_dict(), checkpoint_path(args.work_dir, "vit"))
        export_vit(vit, data, args.out, seconds, args.seed, epochs["vit"])
    if "clip" in steps:
        vit = load_checkpoint(args.work_dir, "vit", modeling.ViTForImageClassification(VIT_CONFIG))
        tokenizer = build_tokenizer()
        clip, cfg, seconds = train_clip(data, tokenizer, vit, args.seed, epochs["clip"])
        torch.save(clip.state_dict(), checkpoint_path(args.work_dir, "clip"))
        export_clip(clip, cfg, tokenizer, data, args.out, seconds, args.seed, epochs["clip"])
    if "mae" in steps:
        mae, seconds = train_mae(data, args.seed, epochs["mae"])
        torch.save(mae.state_dict(), checkpoint_path(args.work_dir, "mae"))
        export_mae(mae, data, args.out, seconds, args.seed, epochs["mae"])
    if "probes" in steps:
        import probes
        tokenizer = build_tokenizer()
        models = {
            "vit": load_checkpoint(args.work_dir, "vit", modeling.ViTForImageClassification(VIT_CONFIG)),
            "clip": load_checkpoint(args.work_dir, "clip", modeling.CLIPModel(clip_config(tokenizer))),
            "mae": load_checkpoint(args.work_dir, "mae", modeling.ViTMAEForPreTraining(MAE_CONFIG)),
        }
        probes.build(args.out, lambda imgs: predict_vit_labels(models["vit"], imgs),
                     lambda imgs: [syn.SHAPES[i] for i in zero_shot(models["clip"], tokenizer, imgs, syn.SHAPES)],
                     lambda imgs: mae_errors(models["mae"], imgs, args.seed + 5, draws=4),
                     lambda imgs: clip_similarity(models["clip"], tokenizer, imgs, ZERO_SHOT_TEMPLATE.format(label="square")),
                     args.seed, log, write_csv, write_json)
    log(f"done in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
