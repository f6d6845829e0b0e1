"""What each task exports to ONNX: the traced module, example inputs, axes, tolerances, meaning.

An :class:`OnnxSpec` is everything :mod:`transferkit.export.onnx_export` needs to export a run and
to check the export: the module to trace, the inputs to trace it with, the extra inputs the
parity check also runs (another batch size, another image size: a shape baked into the graph by
tracing shows up there), per-output tolerances, and the plain-JSON description that goes into the
sidecar so the model is usable without transferkit.

A task can provide its own spec with a hook ``onnx_spec(run, dynamic_batch) -> OnnxSpec``; the
built-in tasks' specs live here (:data:`SPECS`).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from transferkit.data.transforms.classify import resolve_size
from transferkit.core.errors import ExportError


@dataclass
class Tolerance:
    """``|onnx - torch| <= atol + rtol * |torch|`` element-wise; ``exact`` for integer outputs."""

    atol: float = 1e-4
    rtol: float = 1e-3
    exact: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"exact": True} if self.exact else {"atol": self.atol, "rtol": self.rtol}


@dataclass
class OnnxSpec:
    """How one run is traced, checked and described (see the module documentation)."""

    module: nn.Module
    example: tuple[torch.Tensor, ...]
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]]
    checks: list[tuple[torch.Tensor, ...]]
    tolerances: dict[str, Tolerance]
    description: dict[str, Any]
    compare: str = "tensors"  # "tensors": output by output; "detections": matched boxes
    min_opset: int = 11


def classify_spec(run, dynamic_batch: bool) -> OnnxSpec:
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
            "inputs": [_image_input("input", [batch, 3, h, w])],
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


def segment_spec(run, dynamic_batch: bool) -> OnnxSpec:
    """Images (N, 3, H, W) of any size, normalised -> logits (N, classes, H, W)."""
    stride = int(getattr(run.model.net, "stride", 32))
    h, w = resolve_size(run.data_config, run.config.data.img_size)
    # Traced at a size that is not a multiple of the stride, so the padding the network adds
    # (and crops off again) is recorded from the input's shape instead of being left out.
    th, tw = _off_stride(h, stride), _off_stride(w + stride // 2, stride)
    gen = torch.Generator().manual_seed(0)
    n = 2 if dynamic_batch else 1
    example = (torch.randn(n, 3, th, tw, generator=gen),)
    other = (torch.randn(3 if dynamic_batch else 1, 3, h, w, generator=gen),)
    batch = "batch" if dynamic_batch else 1
    in_axes = {2: "height", 3: "width"} | ({0: "batch"} if dynamic_batch else {})
    return OnnxSpec(
        module=run.model,
        example=example,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": in_axes, "logits": dict(in_axes)},
        checks=[example, other],
        tolerances={"logits": Tolerance(atol=1e-4, rtol=1e-3)},
        description={
            "inputs": [_image_input("input", [batch, 3, "height", "width"])],
            "outputs": [
                {
                    "name": "logits",
                    "shape": [batch, len(run.class_names), "height", "width"],
                    "dtype": "float32",
                    "meaning": "per-pixel class scores at the input size; argmax over axis 1 "
                    "gives the class index of each pixel (index into class_names)",
                }
            ],
            "preprocessing": {
                "color": "RGB",
                "resize": None,
                "scale": 1 / 255,
                "mean": list(run.data_config.mean),
                "std": list(run.data_config.std),
                "steps": [
                    "read the image as 8-bit RGB",
                    "keep its own size (any height and width)",
                    "divide by 255, subtract mean and divide by std per channel",
                    "HWC -> CHW, add the batch axis",
                ],
            },
        },
    )


# task -> its spec builder (a callable, or "module:function" imported when first used).
SPECS = {
    "classify": classify_spec,
    "segment": segment_spec,
    "detect": "transferkit.export.detector_specs:detect_spec",
    "instance": "transferkit.export.detector_specs:instance_spec",
}


def spec_for(run, dynamic_batch: bool) -> OnnxSpec:
    """The ONNX spec of a loaded run: the task's own ``onnx_spec`` hook, else a built-in one."""
    from transferkit.tasks import get_task

    task_name = run.config.task
    hook = getattr(get_task(task_name), "onnx_spec", None) or SPECS.get(task_name)
    if isinstance(hook, str):
        module, name = hook.split(":")
        hook = getattr(importlib.import_module(module), name)
    if hook is None:
        raise ExportError(
            f"ONNX export is not available for task {task_name!r} in this version "
            f"(run {run.run_dir.path}); exporting it without a parity check could give a model "
            "that silently differs from the trained one",
            hint=f"tasks that export: {', '.join(SPECS)}; use `transferkit predict` on the run",
        )
    return hook(run, dynamic_batch)


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


def _image_input(name: str, shape: list) -> dict[str, Any]:
    return {
        "name": name,
        "shape": shape,
        "dtype": "float32",
        "layout": "NCHW",
        "meaning": "RGB images, preprocessed as 'preprocessing' says",
    }


def _off_stride(n: int, stride: int) -> int:
    return n + 1 if n % stride == 0 else n
