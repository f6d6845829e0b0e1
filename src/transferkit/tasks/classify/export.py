"""ONNX export of a classifier: images normalised as in training -> logits, and the sidecar's
description of the preprocessing, spelled out so the model runs without transferkit."""

from __future__ import annotations

import torch

from transferkit.data.transforms.classify import resolve_size
from transferkit.tasks.common.onnx import OnnxSpec, Tolerance, image_input
from transferkit.tasks.common.pooled import pooled_preprocessing


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
            "preprocessing": pooled_preprocessing(run.data_config, (h, w)),
        },
    )
