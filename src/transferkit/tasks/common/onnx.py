"""What a task exports to ONNX: the traced module, example inputs, axes, tolerances, meaning.

An :class:`OnnxSpec` is everything :mod:`transferkit.export.onnx_export` needs to export a run and
to check the export: the module to trace, the inputs to trace it with, the extra inputs the
parity check also runs (another batch size, another image size: a shape baked into the graph by
tracing shows up there), per-output tolerances, and the plain-JSON description that goes into the
sidecar so the model is usable without transferkit.

A task exports when its object has the hook ``onnx_spec(run, dynamic_batch) -> OnnxSpec`` (each
task folder's ``export`` module). Output names are the names of the PyTorch model's outputs, so a
prediction loop can run the export in place of the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


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
    source: dict[str, Any] = field(default_factory=dict)  # run settings for the sidecar's source


def image_input(name: str, shape: list) -> dict[str, Any]:
    """The sidecar description of an image batch input, preprocessed as the sidecar says."""
    return {
        "name": name,
        "shape": shape,
        "dtype": "float32",
        "layout": "NCHW",
        "meaning": "RGB images, preprocessed as 'preprocessing' says",
    }
