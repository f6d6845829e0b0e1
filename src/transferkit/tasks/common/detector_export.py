"""ONNX spec of the torchvision detectors: boxes (detection), plus masks (instance segmentation).

The exported graph takes one image ``(3, H, W)`` in [0, 1] of any size (the detector normalises
and pads inside) and returns the detections of that image. Tracing runs on a landscape image and
the parity check adds a portrait one, so a side length baked into the graph would show up as a
mismatch rather than as a model that only works at one size.
"""

from __future__ import annotations

import torch
from torch import nn

from transferkit.core.errors import ConfigError
from transferkit.data.transforms.detection import default_max_size, image_size_of
from transferkit.tasks.common.onnx import OnnxSpec, Tolerance
from transferkit.tasks.common.predict import ModelInfo


class DetectorOutputs(nn.Module):
    """A torchvision detector as ``image (3, H, W) -> boxes, labels, scores[, masks]``."""

    def __init__(self, model: nn.Module, masks: bool = False):
        super().__init__()
        self.model = model
        self.masks = masks

    def forward(self, image: torch.Tensor):
        out = self.model([image])[0]
        if self.masks:
            return out["boxes"], out["labels"], out["scores"], out["masks"]
        return out["boxes"], out["labels"], out["scores"]


N = "detections"  # the dynamic axis of every per-detection output


def detector_spec(run, dynamic_batch: bool, masks: bool) -> OnnxSpec:
    """One image (3, H, W) in [0, 1] -> boxes (K, 4), labels (K,), scores (K,)[, masks
    (K, 1, H, W): mask probabilities at the input size]."""
    if dynamic_batch:
        raise ConfigError(
            f"--dynamic-batch is not available for {run.config.task}: the exported detector "
            "takes one image per call (images of different sizes cannot share a batch)",
            hint="export without --dynamic-batch and call the model once per image",
        )
    size = image_size_of(run.config)
    max_size = default_max_size(size)
    gen = torch.Generator().manual_seed(0)
    # Landscape for tracing, portrait for the second check: both image sides must stay dynamic.
    example = (torch.rand(3, size, min(max_size, size * 4 // 3 + 5), generator=gen),)
    other = (torch.rand(3, size * 5 // 4 + 3, size, generator=gen),)
    spec = OnnxSpec(
        module=DetectorOutputs(run.model, masks),
        example=example,
        input_names=["image"],
        output_names=["boxes", "labels", "scores"],
        dynamic_axes={
            "image": {1: "height", 2: "width"},
            "boxes": {0: N},
            "labels": {0: N},
            "scores": {0: N},
        },
        checks=[example, other],
        tolerances={
            "boxes": Tolerance(atol=1e-2, rtol=1e-4),
            "labels": Tolerance(exact=True),
            "scores": Tolerance(atol=1e-4, rtol=1e-3),
        },
        compare="detections",
        description={
            "inputs": [_IMAGE_INPUT],
            "outputs": list(_OUTPUTS),
            "category_ids": ModelInfo.from_run(run).category_ids,
            "preprocessing": preprocessing(size, max_size),
        },
        source={"detector": run.config.model.detector},
    )
    if masks:
        spec.output_names.append("masks")
        spec.dynamic_axes["masks"] = {0: N, 2: "height", 3: "width"}
        spec.tolerances["masks"] = Tolerance(atol=1e-3, rtol=1e-3)
        spec.description["outputs"].append(_MASKS_OUTPUT)
    return spec


def preprocessing(size: int, max_size: int) -> dict:
    """The detection evaluation transform, spelled out for the sidecar."""
    return {
        "color": "RGB",
        "resize": {
            "shorter_side": size,
            "max_longer_side": max_size,
            "interpolation": "bilinear (torchvision tensor resize, antialias)",
        },
        "scale": 1 / 255,
        "mean": None,
        "std": None,
        "steps": [
            "read the image as 8-bit RGB",
            f"resize so the shorter side is {size} px (longer side = "
            f"int({size} * longer / shorter)); if the longer side would exceed "
            f"{max_size} px, make it {max_size} and the shorter int({max_size} * "
            "shorter / longer)",
            "divide by 255 (no mean/std: the model normalises inside)",
            "HWC -> CHW (no batch axis)",
        ],
    }


_IMAGE_INPUT = {
    "name": "image",
    "shape": [3, "height", "width"],
    "dtype": "float32",
    "layout": "CHW",
    "meaning": "one RGB image scaled to [0, 1] (no mean/std: the model normalises inside)",
}
_OUTPUTS = (
    {
        "name": "boxes",
        "shape": [N, 4],
        "dtype": "float32",
        "meaning": "x1, y1, x2, y2 in pixels of the input image; divide by the "
        "resize factor to get pixels of the original image",
    },
    {
        "name": "labels",
        "shape": [N],
        "dtype": "int64",
        "meaning": "1-based class index: class_names[label - 1], category_ids[label - 1]",
    },
    {
        "name": "scores",
        "shape": [N],
        "dtype": "float32",
        "meaning": "confidence in [0, 1], sorted high to low per class; "
        "keep those above a threshold",
    },
)
_MASKS_OUTPUT = {
    "name": "masks",
    "shape": [N, 1, "height", "width"],
    "dtype": "float32",
    "meaning": "per-detection mask probability at the input size; resize to the "
    "original image (bilinear) and keep pixels above 0.5",
}
