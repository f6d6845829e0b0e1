"""Predict with an exported ``.onnx`` file in onnxruntime, in the same form as a run's predict.

The sidecar next to the model (``model.onnx.json``) gives the task, class names and
preprocessing. This module only wraps the onnxruntime session as a runner; the task's own
prediction loop does the rest (same transforms, same results, same writer), so nothing here
knows a task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from transferkit.core.errors import ConfigError, RunDirError
from transferkit.core.fileio import read_json
from transferkit.export.onnx_export import SIDECAR_FORMAT, sidecar_path
from transferkit.export.parity import onnx_session
from transferkit.tasks import get_task
from transferkit.tasks.common.predict import ModelInfo, Runner


def read_sidecar(onnx_path: str | Path) -> dict[str, Any]:
    """The sidecar of an exported model; errors name the missing or foreign file."""
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise RunDirError(
            f"ONNX model not found: {onnx_path}", hint="export one with `transferkit export RUNDIR`"
        )
    side = sidecar_path(onnx_path)
    if not side.is_file():
        raise ConfigError(
            f"{onnx_path} has no sidecar {side.name} next to it (class names, preprocessing)",
            hint="export with `transferkit export RUNDIR`, which writes both files; keep them "
            "together",
        )
    meta = read_json(side)
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT:
        raise ConfigError(
            f"{side} is not a transferkit export sidecar (format "
            f"{meta.get('format') if isinstance(meta, dict) else None!r}, expected "
            f"{SIDECAR_FORMAT!r})",
            hint="export the run again with `transferkit export RUNDIR`",
        )
    return meta


def predict_onnx(
    onnx_path: str | Path, paths: list[str | Path], out: str | Path | None = None, **options: Any
) -> list[dict[str, Any]]:
    """Predictions of an exported model for image files or folders; ``out`` writes them.

    The task's own prediction loop runs (its ``predict_with`` hook) with onnxruntime in place of
    PyTorch, so the results are the task's prediction dicts, written by its own writer.
    """
    meta = read_sidecar(onnx_path)
    task = get_task(meta["task"])
    predict_with = getattr(task, "predict_with", None)
    if predict_with is None:
        raise ConfigError(
            f"{onnx_path}: predicting task {meta['task']!r} from ONNX is not available",
            hint="predict with the run directory instead of its export",
        )
    runner = onnx_runner(onnx_session(onnx_path), meta)
    predictions = predict_with(runner, ModelInfo.from_sidecar(meta), paths, options)
    if out:
        task.write_predictions(predictions, Path(out))
    return predictions


def onnx_runner(session, meta: dict[str, Any]) -> Runner:
    """A runner (see ``tasks.common.predict``) for an onnxruntime session: the model's one input
    in, its outputs as CPU tensors named as the sidecar lists them (the PyTorch outputs' names)."""
    input_name = meta["inputs"][0]["name"]
    output_names = meta_outputs(meta)

    def run(x: torch.Tensor) -> dict[str, torch.Tensor]:
        outputs = session.run(output_names, {input_name: x.numpy()})
        return {n: torch.from_numpy(v) for n, v in zip(output_names, outputs, strict=True)}

    return run


def meta_outputs(meta: dict) -> list[str]:
    """Output names of an exported model, in graph order, from its sidecar."""
    return [o["name"] for o in meta["outputs"]]
