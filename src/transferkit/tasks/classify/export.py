"""ONNX export of a classifier: images normalised as in training -> logits, and the sidecar's
description of the preprocessing, spelled out so the model runs without transferkit."""

from __future__ import annotations

from transferkit.tasks.common.onnx import OnnxSpec
from transferkit.tasks.common.pooled import pooled_onnx_spec


def onnx_spec(run, dynamic_batch: bool) -> OnnxSpec:
    """Images (N, 3, H, W) normalised as in training -> logits (N, classes)."""
    meaning = (
        "unnormalised class scores; softmax over axis 1 gives the probability of each class, "
        "in class_names order"
    )
    return pooled_onnx_spec(run, dynamic_batch, meaning)
