"""Synthetic shape images: the dataset every bundled tiny model is trained and scored on.

A scene is a dict of attributes (shape, colour, tone, background, geometry, noise seed).
Rendering is a pure function of the scene, so the same scene can be re-rendered with a
different `tone` to build paired probe sets whose groups differ in exactly one property.
"""

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ["circle", "square", "triangle", "star"]
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (50, 80, 220),
    "yellow": (235, 205, 40),
}
BACKGROUNDS = ["plain", "striped", "checkered"]
# Tone is the shade of the shape's fill: the stand-in for a sensitive attribute that a
# shape classifier should not care about. "light" and "medium" make up the normal data;
# "dark" only appears in the planted training subset (see probes.py).
TONES = {"light": ("mix_white", 0.45), "medium": ("scale", 1.0), "dark": ("scale", 0.45)}

SUPERSAMPLE = 4
NOISE_SIGMA = 6.0


def shade(rgb, tone):
    kind, amount = TONES[tone]
    c = np.array(rgb, dtype=np.float64)
    if kind == "mix_white":
        c = c + (255.0 - c) * amount
    else:
        c = c * amount
    return tuple(int(round(v)) for v in c)


def random_scene(rng, width=64, height=64, shape=None, colour=None, tone=None, background=None):
    """Draws a scene; any attribute given is fixed, the rest are sampled from rng."""
    size = min(width, height)
    radius = rng.uniform(0.17, 0.31) * size
    return {
        "shape": shape if shape is not None else SHAPES[rng.integers(len(SHAPES))],
        "colour": colour if colour is not None else list(COLOURS)[rng.integers(len(COLOURS))],
        "tone": tone if tone is not None else ("light", "medium")[rng.integers(2)],
        "background": background if background is not None else BACKGROUNDS[rng.integers(len(BACKGROUNDS))],
        "width": width,
        "height": height,
        "radius": float(radius),
        "cx": float(rng.uniform(radius + 2, width - radius - 2)),
        "cy": float(rng.uniform(radius + 2, height - radius - 2)),
        "bg_level": int(rng.integers(95, 176)),
        "bg_contrast": int(rng.integers(30, 51)) * (1 if rng.integers(2) else -1),
        "bg_period": int(rng.integers(6, 11)),
        "bg_orientation": int(rng.integers(3)),
        "noise_seed": int(rng.integers(2**31)),
    }


def _background(scene):
    w, h, p = scene["width"], scene["height"], scene["bg_period"]
    yy, xx = np.mgrid[0:h, 0:w]
    level = np.full((h, w), float(scene["bg_level"]))
    if scene["background"] == "striped":
        coord = (xx, yy, xx + yy)[scene["bg_orientation"]]
        level += scene["bg_contrast"] * ((coord // p) % 2)
    elif scene["background"] == "checkered":
        level += scene["bg_contrast"] * (((xx // p) + (yy // p)) % 2)
    return np.repeat(level[:, :, None], 3, axis=2)


def _shape_polygon(shape, cx, cy, r):
    if shape == "square":
        half = r * 0.85
        return [(cx - half, cy - half), (cx + half, cy - half), (cx + half, cy + half), (cx - half, cy + half)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + r * 0.98, cy + r * 0.75), (cx - r * 0.98, cy + r * 0.75)]
    if shape == "star":
        points = []
        for k in range(10):
            radius = r if k % 2 == 0 else r * 0.45
            angle = -np.pi / 2 + k * np.pi / 5
            points.append((cx + radius * np.cos(angle), cy + radius * np.sin(angle)))
        return points
    raise ValueError(f"unknown shape {shape!r}")


def _shape_mask(scene):
    """Anti-aliased coverage in [0, 1], drawn at SUPERSAMPLE x resolution then box-filtered."""
    s = SUPERSAMPLE
    w, h = scene["width"], scene["height"]
    canvas = Image.new("L", (w * s, h * s), 0)
    draw = ImageDraw.Draw(canvas)
    cx, cy, r = scene["cx"] * s, scene["cy"] * s, scene["radius"] * s
    if scene["shape"] == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    else:
        draw.polygon(_shape_polygon(scene["shape"], cx, cy, r), fill=255)
    small = canvas.resize((w, h), Image.BOX)
    return np.asarray(small, dtype=np.float64) / 255.0


def render(scene):
    """Scene -> HxWx3 uint8 RGB array (deterministic)."""
    bg = _background(scene)
    fill = np.array(shade(COLOURS[scene["colour"]], scene["tone"]), dtype=np.float64)
    alpha = _shape_mask(scene)[:, :, None]
    img = bg * (1.0 - alpha) + fill[None, None, :] * alpha
    noise = np.random.default_rng(scene["noise_seed"]).normal(0.0, NOISE_SIGMA, img.shape)
    return np.clip(np.round(img + noise), 0, 255).astype(np.uint8)


def render_many(scenes):
    return np.stack([render(s) for s in scenes])


def save_png(array, path):
    # optimize=False and no metadata: the same array always gives the same bytes.
    Image.fromarray(array, "RGB").save(path, format="PNG", optimize=False, compress_level=9)
