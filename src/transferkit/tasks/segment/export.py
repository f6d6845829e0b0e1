"""ONNX export of a segmenter: images of any size -> per-pixel logits at the same size."""

from __future__ import annotations

import torch

from transferkit.data.transforms.classify import resolve_size
from transferkit.tasks.common.onnx import OnnxSpec, Tolerance, image_input


def onnx_spec(run, dynamic_batch: bool) -> OnnxSpec:
    """Images (N, 3, H, W) of any size, normalised -> logits (N, classes, H, W)."""
    stride = int(getattr(run.model.net, "stride", 32))
    h, w = resolve_size(run.data_config, run.config.data.img_size)
    # Traced at a size that is not a multiple of the stride, so the padding the network adds
    # (and crops off again) is recorded from the input's shape instead of being left out.
    th, tw = off_stride(h, stride), off_stride(w + stride // 2, stride)
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
            "inputs": [image_input("input", [batch, 3, "height", "width"])],
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


def off_stride(n: int, stride: int) -> int:
    """``n``, or ``n + 1`` when ``n`` is a multiple of ``stride``."""
    return n + 1 if n % stride == 0 else n
