"""ONNX export of a detector: one image in, boxes, labels and scores out."""

from __future__ import annotations

from transferkit.tasks.common.detector_export import detector_spec
from transferkit.tasks.common.onnx import OnnxSpec


def onnx_spec(run, dynamic_batch: bool) -> OnnxSpec:
    """One image (3, H, W) in [0, 1] -> boxes (K, 4), labels (K,), scores (K,)."""
    return detector_spec(run, dynamic_batch, masks=False)
