"""Hugging Face image processors (ViTImageProcessor, CLIPImageProcessor) re-implemented with PIL.

transformers is not installable here, so this follows its image_transforms code step by step:
resize with PIL (reducing_gap=None), `size.shortest_edge` keeps the aspect ratio and truncates
the long side with int(), center crop uses floor((orig - crop) / 2) offsets, rescale multiplies
in float64 then casts to float32, normalize subtracts/divides in float32, output is CHW.
"""

import numpy as np
from PIL import Image

VIT_MEAN_STD = ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
IMAGENET_MEAN_STD = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
CLIP_MEAN_STD = ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711])
RESCALE_FACTOR = 0.00392156862745098  # 1/255 as transformers writes it in configs


def vit_processor_config(image_size, mean_std, resample=2):
    return {
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": mean_std[0],
        "image_processor_type": "ViTImageProcessor",
        "image_std": mean_std[1],
        "resample": resample,
        "rescale_factor": RESCALE_FACTOR,
        "size": {"height": image_size, "width": image_size},
    }


def clip_processor_config(image_size):
    return {
        "crop_size": {"height": image_size, "width": image_size},
        "do_center_crop": True,
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": CLIP_MEAN_STD[0],
        "image_processor_type": "CLIPImageProcessor",
        "image_std": CLIP_MEAN_STD[1],
        "resample": 3,
        "rescale_factor": RESCALE_FACTOR,
        "size": {"shortest_edge": image_size},
    }


def _resize_target(width, height, size):
    if "shortest_edge" in size:
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = size["shortest_edge"], int(size["shortest_edge"] * long / short)
        return (new_short, new_long) if width <= height else (new_long, new_short)
    return size["width"], size["height"]


def preprocess(image, config):
    """PIL RGB image (or HxWx3 uint8 array) -> float32 [3, H, W] exactly as the HF processor does."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image, "RGB")
    image = image.convert("RGB")
    if config.get("do_resize"):
        target = _resize_target(image.width, image.height, config["size"])
        image = image.resize(target, resample=config["resample"], reducing_gap=None)
    array = np.asarray(image)
    if config.get("do_center_crop"):
        crop_h, crop_w = config["crop_size"]["height"], config["crop_size"]["width"]
        h, w = array.shape[:2]
        if crop_h > h or crop_w > w:
            raise ValueError(f"center crop {crop_w}x{crop_h} larger than resized image {w}x{h}")
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        array = array[top : top + crop_h, left : left + crop_w]
    out = array
    if config.get("do_rescale"):
        out = (out.astype(np.float64) * config["rescale_factor"]).astype(np.float32)
    if config.get("do_normalize"):
        out = out.astype(np.float32)
        mean = np.array(config["image_mean"], dtype=np.float32)
        std = np.array(config["image_std"], dtype=np.float32)
        out = (out - mean) / std
    return np.ascontiguousarray(np.transpose(out, (2, 0, 1)).astype(np.float32))


def preprocess_batch_at_size(uint8_images, config):
    """Fast path for training on images already at the model input size.

    Equal to calling preprocess() per image (PIL returns an unchanged copy when resizing to the
    same size and the crop is the whole image); checked against preprocess() in train_models.py.
    """
    out = (uint8_images.astype(np.float64) * config["rescale_factor"]).astype(np.float32)
    mean = np.array(config["image_mean"], dtype=np.float32)
    std = np.array(config["image_std"], dtype=np.float32)
    out = (out - mean) / std
    return np.ascontiguousarray(np.transpose(out, (0, 3, 1, 2)))
