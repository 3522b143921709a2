"""ONNX export + fixture file writers (deterministic bytes: sorted JSON keys, fixed float formats)."""

import json
import os

import numpy as np
import onnx
import torch

OPSET = 14


def export_onnx(module, args, path, input_names, output_names, dynamic_axes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    return model


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")


def write_tensor(directory, name, array):
    """float32 little-endian C-order .bin; returns its index.json entry."""
    os.makedirs(directory, exist_ok=True)
    array = np.ascontiguousarray(np.asarray(array, dtype="<f4"))
    file = f"{name}.bin"
    with open(os.path.join(directory, file), "wb") as f:
        f.write(array.tobytes(order="C"))
    return {"file": file, "dtype": "float32", "shape": list(array.shape)}


def read_tensor(directory, entry):
    data = np.fromfile(os.path.join(directory, entry["file"]), dtype="<f4")
    return data.reshape(entry["shape"])
