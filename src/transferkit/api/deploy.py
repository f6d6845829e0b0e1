"""The API of deployment: export a run the way it is deployed (ONNX, optionally int8), checked on
the run's val data (``evaluate MODEL.onnx`` scores an export on any data: :mod:`.runs`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.core import console
from transferkit.engine.onnx_eval import check_export
from transferkit.export import export as _export
from transferkit.export.onnx_export import update_sidecar
from transferkit.export.quantize import DEFAULT_CALIBRATION_IMAGES
from transferkit.runs.rundir import load_run

# The largest change of the val metric an export may bring (accuracy / mIoU, absolute): a float32
# export scores as the run does; int8 costs a little, and more than a point is worth a look.
DEFAULT_TOLERANCE = 0.01


def export(
    run_dir: str | Path,
    format: str = "onnx",
    dynamic_batch: bool = False,
    opset: int | None = None,
    out: str | Path | None = None,
    quantize: str | None = None,
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Path:
    """Export the best checkpoint of ``run_dir`` and score the export on the run's val split.

    The export's outputs are checked against PyTorch on inputs (``parity``, an error beyond its
    tolerances); then, for classification and segmentation, its val metric is measured beside
    the PyTorch model's and recorded in the sidecar as ``evaluation`` (``within`` False, and a
    warning, when they differ by more than ``tolerance``). ``quantize="int8"`` writes the int8
    model, calibrated on ``calibration_images`` training images. Returns the model file.
    """
    path = _export(
        run_dir,
        format=format,
        dynamic_batch=dynamic_batch,
        opset=opset,
        out=out,
        quantize=quantize,
        calibration_images=calibration_images,
    )
    evaluation = check_export(load_run(run_dir), path, float(tolerance))
    update_sidecar(path, evaluation=evaluation)
    if evaluation["checked"] and not evaluation["within"]:
        console.warn(export_warning(evaluation))
    return path


def export_warning(evaluation: dict[str, Any]) -> str:
    """The loud line of an export whose val metric moved beyond the tolerance."""
    e = evaluation
    return (
        f"WARNING: the exported model's val {e['metric']} is {e['onnx']:.4f}, the PyTorch "
        f"model's {e['pytorch']:.4f}: a difference of {e['difference']:+.4f}, beyond the "
        f"tolerance of {e['tolerance']:g}"
    )
