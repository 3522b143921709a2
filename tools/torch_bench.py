#!/usr/bin/python3
"""PyTorch eager CPU throughput of the benchmark CLIP image tower, as JSON on stdout.

    /usr/bin/python3 tools/torch_bench.py --model-dir bench/models/clip-vit-b32-random
        --batch 8 --iters 5 --threads 2 [--warmup 1] [--input pixel_values.bin]

Uses the weights saved next to the ONNX file (torch_state_dict.pt), so ORT and PyTorch run the
same model. --input: float32 little-endian pixel values [N, 3, H, W] (N images are tiled to the
batch); default: seeded standard-normal pixels. Prints {"images_per_second": ..., ...}.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "py"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import bench_model  # noqa: E402


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, received {text}")
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--batch", type=positive_int, default=1)
    parser.add_argument("--iters", type=positive_int, default=5)
    parser.add_argument("--threads", type=positive_int, default=1)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--input", help="float32 little-endian [N,3,H,W] pixel values")
    args = parser.parse_args()

    for name in ("config.json", bench_model.STATE_DICT):
        if not os.path.isfile(os.path.join(args.model_dir, name)):
            parser.error(f"--model-dir: expected {os.path.join(args.model_dir, name)} to exist (build it with "
                         f"/usr/bin/python3 tools/train_models.py --only bench-model)")
    torch.set_num_threads(args.threads)
    model, cfg = bench_model.load(args.model_dir)
    size = cfg["vision_config"]["image_size"]
    if args.input:
        data = np.fromfile(args.input, dtype="<f4")
        per_image = 3 * size * size
        if data.size == 0 or data.size % per_image:
            parser.error(f"--input: expected a multiple of {per_image} float32 values (3x{size}x{size}), "
                         f"received {data.size}")
        images = torch.from_numpy(data.reshape(-1, 3, size, size))
        pixels = images[torch.arange(args.batch) % len(images)].contiguous()
    else:
        pixels = torch.randn(args.batch, 3, size, size, generator=torch.Generator().manual_seed(0))

    with torch.inference_mode():
        for _ in range(args.warmup):
            model(pixels)
        start = time.perf_counter()
        for _ in range(args.iters):
            model(pixels)
        seconds = time.perf_counter() - start
    print(json.dumps({"images_per_second": args.batch * args.iters / seconds, "batch": args.batch,
                      "iters": args.iters, "threads": args.threads, "seconds": seconds,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
