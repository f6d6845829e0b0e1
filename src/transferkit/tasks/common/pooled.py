"""The model shared by the tasks that put a head on the backbone's pooled embedding.

Single-label (``classify``) and multi-label (``multilabel``) classification both build
``head(backbone.forward_pooled(x))`` with a linear (default) or MLP head, and export it with the
same evaluation preprocessing; they differ in the loss and in how scores become labels.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from transferkit.core.config import ModelSettings
from transferkit.data.transforms.classify import resolve_size
from transferkit.tasks.common.heads import choose_head
from transferkit.tasks.common.onnx import OnnxSpec, Tolerance, image_input
from transferkit.zoo.backbone import Backbone

HEADS = ("linear", "mlp")
DEFAULT_HEAD = "linear"


class ClassifierNet(nn.Module):
    """``head(backbone.forward_pooled(x))``."""

    def __init__(self, backbone: Backbone, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.forward_pooled(x))


def make_head(
    in_features: int, num_classes: int, model: ModelSettings, kind: str = "classification"
) -> nn.Module:
    """A linear head (the default), or an MLP (hidden size and dropout from ``model``)."""
    if choose_head(kind, HEADS, DEFAULT_HEAD, model.head) == "linear":
        return nn.Sequential(nn.Dropout(model.head_dropout), nn.Linear(in_features, num_classes))
    return nn.Sequential(
        nn.Linear(in_features, model.head_hidden),
        nn.GELU(),
        nn.Dropout(model.head_dropout),
        nn.Linear(model.head_hidden, num_classes),
    )


def pooled_preprocessing(data_config, size: tuple[int, int]) -> dict[str, Any]:
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


def pooled_onnx_spec(run, dynamic_batch: bool, meaning: str, **described: Any) -> OnnxSpec:
    """Images (N, 3, H, W) normalised as in training -> logits (N, classes): the export of a
    pooled-feature classifier; ``meaning`` says what the logits are, ``described`` adds to the
    sidecar's description (a decision rule)."""
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
                    "meaning": meaning,
                }
            ],
            **described,
            "preprocessing": pooled_preprocessing(run.data_config, (h, w)),
        },
    )
