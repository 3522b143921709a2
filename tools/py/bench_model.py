"""The benchmark model: a ViT-B/32-sized CLIP image tower with random weights (not committed).

Same Hugging Face / Optimum layout as the bundled tiny CLIP (onnx/vision_model.onnx, config.json,
preprocessor_config.json with CLIP's 224 px settings) plus torch_state_dict.pt, the same weights
for tools/torch_bench.py's PyTorch eager reference.
"""

import os
import time

import torch

import hf_preprocess as hp
import modeling
from onnx_export import export_onnx, write_json

STATE_DICT = "torch_state_dict.pt"


def config(vision):
    return {
        "architectures": ["CLIPVisionModelWithProjection"], "model_type": "clip",
        "projection_dim": vision["projection_dim"], "vision_config": dict(vision), "torch_dtype": "float32",
        "note": "random weights, for benchmarks only (vigil tools/train_models.py --only bench-model)",
    }


def load(model_dir):
    """-> (CLIPVisionModelWithProjection with the saved weights, config dict)."""
    import json

    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    model = modeling.CLIPVisionModelWithProjection(cfg["vision_config"], cfg["projection_dim"])
    model.load_state_dict(torch.load(os.path.join(model_dir, STATE_DICT)))
    return model.eval(), cfg


def build(model_dir, vision, seed, log):
    start = time.time()
    torch.manual_seed(seed)
    model = modeling.CLIPVisionModelWithProjection(vision, vision["projection_dim"]).eval()
    os.makedirs(os.path.join(model_dir, "onnx"), exist_ok=True)
    torch.save(model.state_dict(), os.path.join(model_dir, STATE_DICT))
    size = vision["image_size"]
    example = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed))
    batch = {0: "batch_size"}
    export_onnx(modeling.VisionExport(model), (example,), os.path.join(model_dir, "onnx", "vision_model.onnx"),
                ["pixel_values"], ["image_embeds", "last_hidden_state"],
                {"pixel_values": batch, "image_embeds": batch, "last_hidden_state": batch})
    write_json(os.path.join(model_dir, "config.json"), config(vision))
    write_json(os.path.join(model_dir, "preprocessor_config.json"), hp.clip_processor_config(size))
    log(f"bench model written to {model_dir} in {time.time() - start:.0f}s")

