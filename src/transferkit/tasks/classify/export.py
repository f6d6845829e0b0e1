"""ONNX export of a classifier: images normalised as in training -> logits, and the sidecar's
description of the preprocessing, spelled out so the model runs without transferkit."""

from __future__ import annotations

import math
from typing import Any

import torch

from transferkit.data.transforms.classify import resolve_size
from transferkit.tasks.common.onnx import OnnxSpec, Tolerance, image_input


def onnx_spec(run, dynamic_batch: bool) -> OnnxSpec:
    """Images (N, 3, H, W) normalised as in training -> logits (N, classes)."""
    h, w = resolve_size(run.data_config, run.config.data.img_size)
    gen = torch.Generator().manual_seed(0)
    example = (torch.randn(2 if dynamic_batch else 1, 3, h, w, generator=gen),)
    checks = [example]
    if dynamic_batch:  # a batch size other than the traced one
        checks.append((torch.randn(3, 3, h, w, generator=gen),))
    batch = "batch" if dynamic_batch else 1
    axes = {"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else {}
    return OnnxSpec(
        module=run.model,
        example=example,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes=axes,
        checks=checks,
        tolerances={"logits": Tolerance(atol=1e-4, rtol=1e-3)},
        description={
            "inputs": [image_input("input", [batch, 3, h, w])],
            "outputs": [
                {
                    "name": "logits",
                    "shape": [batch, len(run.class_names)],
                    "dtype": "float32",
                    "meaning": "unnormalised class scores; softmax over axis 1 gives the "
                    "probability of each class, in class_names order",
                }
            ],
            "preprocessing": classify_preprocessing(run.data_config, (h, w)),
        },
    )


def classify_preprocessing(data_config, size: tuple[int, int]) -> dict[str, Any]:
    """The evaluation transform (:func:`data.transforms.eval_transform`) spelled out."""
    h, w = size
    crop = data_config.crop_pct
    if h == w:
        resize: dict[str, Any] = {"shorter_side": math.floor(h / crop)}
        how = (
            f"resize so the shorter side is {math.floor(h / crop)} px (longer side = "
            f"int({math.floor(h / crop)} * longer / shorter))"
        )
    else:
        resize = {"size": [math.floor(h / crop), math.floor(w / crop)]}
        how = f"resize to {math.floor(h / crop)} x {math.floor(w / crop)} px (height x width)"
    resize["interpolation"] = f"{data_config.interpolation} (PIL Image.resize)"
    return {
        "color": "RGB",
        "resize": resize,
        "center_crop": [h, w],
        "scale": 1 / 255,
        "mean": list(data_config.mean),
        "std": list(data_config.std),
        "steps": [
            "read the image as 8-bit RGB (EXIF orientation applied, transparency on white)",
            how + f", {data_config.interpolation} interpolation",
            f"center crop {h} x {w}: top = round((height - {h}) / 2), left = round((width - "
            f"{w}) / 2), Python's round (half to even)",
            "divide by 255, subtract mean and divide by std per channel",
            "HWC -> CHW, add the batch axis",
        ],
    }
