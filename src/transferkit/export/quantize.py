"""int8 static quantization of an exported model, the way it is deployed on CPUs.

onnxruntime's static quantization (``onnxruntime.quantization.quantize_static``) computes the
range of every activation on calibration images, then stores weights and activations as 8-bit
integers (QDQ format: onnxruntime fuses the pairs into integer kernels on the CPU). Calibration
images come from the run's training split, preprocessed as at inference (the evaluation transform,
never the training augmentation), so no held-out image shapes the ranges. Weights are quantized
per output channel: depthwise convolutions (EfficientNet, MobileNet) lose most of their accuracy
with one scale per tensor.

The quantized graph is checked by its accuracy on real data, not element by element (int8 differs
from float32 by design): the engine scores it on val and records the drop in the sidecar.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.core.errors import ConfigError, ExportError
from transferkit.tasks import get_task

QUANTIZE = ("int8",)
QUANTIZED_TASKS = ("classify", "segment")  # detectors' NMS and RoI graphs are left in float32
DEFAULT_CALIBRATION_IMAGES = 100


def check_quantize(quantize: str | None, task: str, calibration_images: int) -> None:
    """Refuse a quantization that is unknown or not available for ``task``, before any work."""
    if quantize is None:
        return
    if quantize not in QUANTIZE:
        raise ConfigError(
            f"unknown --quantize {quantize!r}", hint=f"valid values: {', '.join(QUANTIZE)}"
        )
    if task not in QUANTIZED_TASKS:
        raise ConfigError(
            f"--quantize int8 is available for {' and '.join(QUANTIZED_TASKS)} runs, not {task}",
            hint="export this run without --quantize (float32)",
        )
    if not isinstance(calibration_images, int) or not 1 <= calibration_images <= 10_000:
        raise ConfigError(
            f"invalid --calibration-images {calibration_images!r}: expected 1 to 10000",
            hint=f"leave it out for {DEFAULT_CALIBRATION_IMAGES} (64 to 128 is usually enough)",
        )


def calibration_images(run, count: int, batch: int | None) -> list[np.ndarray]:
    """Up to ``count`` training images of ``run`` as model inputs, in batches of ``batch`` (None:
    batches of one image at its own size, for graphs with a fixed batch of 1).

    Taken evenly spread over the training split (every k-th image), so each class is represented.
    """
    splits = _load_splits(run)
    dataset = copy.copy(splits.train)
    dataset.transform = splits.val.transform  # the inference preprocessing, no augmentation
    n = len(dataset)
    if n == 0:
        raise ExportError(
            f"the training split of {run.config.data.path} is empty: no calibration images",
            hint="export without --quantize",
        )
    step = max(1, n // count)
    images = [_image(dataset[i]) for i in range(0, n, step)][:count]
    if batch is None:
        return [img[None] for img in images]
    return [np.stack(images[i : i + batch]) for i in range(0, len(images), batch)]


def _image(item: Any) -> np.ndarray:
    image = item[0] if isinstance(item, (tuple, list)) else item
    return np.asarray(image, dtype=np.float32)


def _load_splits(run):
    cfg = run.config
    if not cfg.data.path or not Path(cfg.data.path).exists():
        raise ExportError(
            f"--quantize int8 calibrates on the run's training images, but its data "
            f"{cfg.data.path} is not there",
            hint="export where the run's data is, or without --quantize",
        )
    return get_task(cfg.task).load_data(cfg, run.data_config)


def quantize_int8(
    fp32: Path, out: Path, input_name: str, batches: list[np.ndarray]
) -> dict[str, Any]:
    """Write the int8 version of ``fp32`` to ``out``; return what the sidecar records."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._items = iter(batches)

        def get_next(self):
            batch = next(self._items, None)
            return None if batch is None else {input_name: batch}

    prepared = out.with_name(out.name + ".pre.onnx")
    try:
        # Shape inference and graph optimisation first, as onnxruntime recommends for quantizing.
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
    except Exception as e:  # onnxruntime raises several types; all mean "cannot quantize this"
        raise ExportError(
            f"onnxruntime could not quantize the model: {type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''}",
            hint="export without --quantize (float32)",
        ) from e
    finally:
        if prepared.exists():
            os.unlink(prepared)
    return {
        "type": "int8",
        "method": "onnxruntime static quantization, QDQ, MinMax calibration",
        "weights": "int8 per output channel",
        "activations": "uint8 per tensor",
        "calibration_images": int(sum(len(b) for b in batches)),
        "calibration_split": "train",
    }
