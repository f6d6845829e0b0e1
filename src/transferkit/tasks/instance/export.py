"""ONNX export of Mask R-CNN: one image in, boxes, labels, scores and mask probabilities out."""

from __future__ import annotations

from transferkit.tasks.common.detector_export import detector_spec
from transferkit.tasks.common.onnx import OnnxSpec


def onnx_spec(run, dynamic_batch: bool) -> OnnxSpec:
    """As detection's, plus masks (K, 1, H, W): mask probabilities at the input size."""
    return detector_spec(run, dynamic_batch, masks=True)
