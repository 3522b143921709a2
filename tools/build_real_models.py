#!/usr/bin/python3
"""Builds full-size CLIP models with random weights in the exact architectures of real checkpoints.

    OMP_NUM_THREADS=2 /usr/bin/python3 tools/build_real_models.py [--models b32,l14] [--parts vision,text,combined]
        [--shared ../shared/real-models] [--out bench/models/real] [--seed 0]

For each model, the real config.json, preprocessor_config.json, tokenizer.json, tokenizer_config.json
and special_tokens_map.json of the Hugging Face repository (../shared/real-models, no weights) are
copied as they are, and random weights in that architecture are exported the way transformers.js
repositories lay them out: onnx/vision_model.onnx (pixel_values -> image_embeds, last_hidden_state),
onnx/text_model.onnx (input_ids, attention_mask -> text_embeds, last_hidden_state) and the combined
onnx/model.onnx (-> logits_per_image, logits_per_text, text_embeds, image_embeds).

parity/ holds PyTorch's outputs on fixed inputs (float32 .bin + index.json) so tests can check
vigil's onnxruntime run against PyTorch at full size. The files are large (ViT-B/32: ~1.2 GB with
the combined graph; ViT-L/14: ~3.4 GB) and never committed: bench/models/ is git-ignored and the
tests that need them skip with a message when they are absent.

Needs Debian's python3-torch and python3-onnx. Seeded: a rebuild gives the same weights.
"""

import argparse
import json
import os
import shutil
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "py"))

import modeling  # noqa: E402
from onnx_export import export_onnx, write_json, write_tensor  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {"b32": "clip-vit-base-patch32", "l14": "clip-vit-large-patch14"}
COPIED = ["config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
# Token ids the original CLIP tokenizer gives (tests check vigil's tokenizer gives the same, then
# that the text tower's output matches): "a photo of a cat", and a 77-token truncation.
TEXT_IDS = {
    "a photo of a cat": [49406, 320, 1125, 539, 320, 2368, 49407],
    "a photo of a dog": [49406, 320, 1125, 539, 320, 1929, 49407],
}
EOT = 49407


def log(message):
    print(f"[build_real_models] {message}", file=sys.stderr, flush=True)


def text_config(cfg):
    tcfg = dict(cfg["text_config"])
    # The OpenAI configs say eos_token_id 2 (a historic value); transformers then pools at the
    # highest token id, which for CLIP's tokenizer is <|endoftext|> (49407) — the same position.
    tcfg["eos_token_id"] = EOT
    return tcfg


def build_model(cfg, seed):
    torch.manual_seed(seed)
    model = modeling.CLIPModel({
        "vision_config": cfg["vision_config"], "text_config": text_config(cfg),
        "projection_dim": cfg["projection_dim"], "logit_scale_init_value": cfg.get("logit_scale_init_value", 2.6592)})
    return model.eval()


def padded(ids_list, length=None):
    length = length or max(len(ids) for ids in ids_list)
    ids = torch.tensor([ids + [EOT] * (length - len(ids)) for ids in ids_list])
    mask = torch.tensor([[1] * len(ids) + [0] * (length - len(ids)) for ids in ids_list])
    return ids, mask


def build(name, parts, shared, out, seed):
    start = time.time()
    src = os.path.join(shared, MODELS[name])
    dst = os.path.join(out, MODELS[name])
    if not os.path.isdir(src):
        raise SystemExit(f"{src}: missing (the real configuration files of {MODELS[name]})")
    os.makedirs(os.path.join(dst, "onnx"), exist_ok=True)
    for f in COPIED:
        shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
    with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    model = build_model(cfg, seed)
    size = cfg["vision_config"]["image_size"]
    generator = torch.Generator().manual_seed(seed + 1)
    pixels = torch.randn(2, 3, size, size, generator=generator)
    ids, mask = padded(list(TEXT_IDS.values()))
    batch = {0: "batch_size"}
    seq = {0: "batch_size", 1: "sequence_length"}
    if "vision" in parts:
        export_onnx(modeling.VisionExport(model.vision_model), (pixels,), os.path.join(dst, "onnx", "vision_model.onnx"),
                    ["pixel_values"], ["image_embeds", "last_hidden_state"],
                    {"pixel_values": batch, "image_embeds": batch, "last_hidden_state": batch})
        log(f"{name}: vision_model.onnx after {time.time() - start:.0f}s")
    if "text" in parts:
        export_onnx(modeling.TextExport(model.text_model), (ids, mask), os.path.join(dst, "onnx", "text_model.onnx"),
                    ["input_ids", "attention_mask"], ["text_embeds", "last_hidden_state"],
                    {"input_ids": seq, "attention_mask": seq, "text_embeds": batch, "last_hidden_state": batch})
        log(f"{name}: text_model.onnx after {time.time() - start:.0f}s")
    if "combined" in parts:
        export_onnx(model, (ids, pixels, mask), os.path.join(dst, "onnx", "model.onnx"),
                    ["input_ids", "pixel_values", "attention_mask"],
                    ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
                    {"input_ids": seq, "pixel_values": batch, "attention_mask": seq,
                     "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
                     "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
                     "text_embeds": {0: "text_batch_size"}, "image_embeds": {0: "image_batch_size"}})
        log(f"{name}: model.onnx after {time.time() - start:.0f}s")
    # PyTorch's outputs on the inputs above: the parity reference.
    with torch.no_grad():
        image_embeds = model.vision_model(pixels)[0]
        text_embeds = model.text_model(ids, mask)[0]
    parity = os.path.join(dst, "parity")
    index = {
        "pixel_values": write_tensor(parity, "pixel_values", pixels.numpy()),
        "image_embeds": write_tensor(parity, "image_embeds", image_embeds.numpy()),
        "text_embeds": write_tensor(parity, "text_embeds", text_embeds.numpy()),
        "texts": list(TEXT_IDS.keys()),
        "input_ids": [ids for ids in TEXT_IDS.values()],
        "seed": seed,
        "torch": torch.__version__,
    }
    write_json(os.path.join(parity, "index.json"), index)
    write_json(os.path.join(dst, "vigil-build.json"), {
        "what": f"random weights in the architecture of {MODELS[name]} (tools/build_real_models.py); not a trained model",
        "parts": sorted(parts), "seed": seed})
    log(f"{name}: done in {time.time() - start:.0f}s -> {dst}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="b32", help="comma list of b32, l14 (default b32)")
    parser.add_argument("--parts", default="vision,text,combined", help="comma list of vision, text, combined")
    parser.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "real-models"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "models", "real"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    parts = set(args.parts.split(","))
    unknown = parts - {"vision", "text", "combined"}
    if unknown:
        raise SystemExit(f"--parts: unknown {sorted(unknown)} (expected vision, text, combined)")
    for name in args.models.split(","):
        if name not in MODELS:
            raise SystemExit(f"--models: unknown {name!r} (expected {', '.join(MODELS)})")
        build(name, parts, args.shared, args.out, args.seed)


if __name__ == "__main__":
    main()
