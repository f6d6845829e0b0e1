"""Export a trained run to ONNX, verified in onnxruntime against PyTorch.

``export(run_dir)`` writes ``model.onnx`` and the sidecar ``model.onnx.json`` (class names,
preprocessing, input and output meaning, the parity check's result), so the model runs with
onnxruntime alone; ``transferkit predict model.onnx IMAGES`` uses them the same way.
"""

from __future__ import annotations

from pathlib import Path

from transferkit.core.config import check_option
from transferkit.core.errors import ConfigError, did_you_mean
from transferkit.export.onnx_export import export_onnx
from transferkit.export.quantize import DEFAULT_CALIBRATION_IMAGES, check_quantize
from transferkit.runs.rundir import load_run

FORMATS = ("onnx",)


def export(
    run_dir: str | Path,
    format: str = "onnx",
    dynamic_batch: bool = False,
    opset: int | None = None,
    out: str | Path | None = None,
    quantize: str | None = None,
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES,
) -> Path:
    """Export the best checkpoint of ``run_dir``; return the path of the model file.

    The export fails with :class:`transferkit.core.errors.ExportError` when onnxruntime's outputs
    differ from PyTorch's beyond the tolerances recorded in the sidecar (``parity``).
    ``quantize="int8"`` (classify, segment) writes the int8 model instead, calibrated on
    ``calibration_images`` images of the run's training split.
    """
    if format not in FORMATS:
        raise ConfigError(
            f"unknown export format {format!r}.{did_you_mean(format, FORMATS)}",
            hint=f"valid formats: {', '.join(FORMATS)}",
        )
    check_option("opset", opset)
    run = load_run(run_dir)
    check_quantize(quantize, run.config.task, calibration_images)
    target = Path(out) if out else run.run_dir.path / "model.onnx"
    if target.suffix.lower() != ".onnx":
        raise ConfigError(
            f"the export file must end in .onnx, got {target}", hint="e.g. --out model.onnx"
        )
    calibration = calibration_images if quantize else None
    export_onnx(run, target, dynamic_batch=dynamic_batch, opset=opset, calibration=calibration)
    return target
