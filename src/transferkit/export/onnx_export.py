"""Export a loaded run to ONNX, check it in onnxruntime, and write the sidecar JSON.

The TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``) is used: it needs no
package beyond torch and onnx, and it is the path torchvision's detectors are tested on. The
model is traced into a temporary file, checked with ``onnx.checker``, run through onnxruntime
against PyTorch on the spec's inputs, and only then renamed into place, so a failed check never
leaves a model behind that differs from the trained one.
"""

from __future__ import annotations

import os
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

from transferkit.core.config import RANGES
from transferkit.core.errors import ConfigError, ExportError
from transferkit.core.fileio import atomic_write, read_json, write_json
from transferkit.export.parity import check_parity
from transferkit.export.quantize import calibration_images, quantize_int8
from transferkit.tasks import TASKS, get_task
from transferkit.tasks.common.onnx import OnnxSpec

DEFAULT_OPSET = 17
MAX_OPSET = int(RANGES["opset"].high)  # declared in core.config
SIDECAR_FORMAT = "transferkit-onnx/1"


def sidecar_path(onnx_path: str | Path) -> Path:
    """Where the sidecar of ``model.onnx`` lives: ``model.onnx.json`` next to it."""
    onnx_path = Path(onnx_path)
    return onnx_path.with_name(onnx_path.name + ".json")


def export_onnx(
    run,
    out: Path,
    dynamic_batch: bool = False,
    opset: int | None = None,
    calibration: int | None = None,
) -> dict[str, Any]:
    """Export ``run`` (a ``runs.rundir.RunHandle``) to ``out``; return the sidecar written.

    With ``calibration`` (a number of training images) the float32 graph, once its parity with
    PyTorch is checked, is quantized to int8 (:mod:`transferkit.export.quantize`).
    """
    spec = spec_for(run, dynamic_batch)
    opset = resolve_opset(opset, spec.min_opset, run.config.task)
    spec.module.eval()
    # Read the calibration images before tracing: missing data fails before any work.
    batches = calibration_images(run, calibration, None) if calibration else None
    parity: dict[str, Any] = {}
    quantization: dict[str, Any] = {}

    def write(tmp: Path) -> None:
        trace(spec, tmp, opset)
        parity.update(check_parity(tmp, spec))
        if batches is not None:
            fp32 = tmp.with_name(tmp.name + ".fp32.onnx")
            os.replace(tmp, fp32)
            try:
                quantization.update(quantize_int8(fp32, tmp, spec.input_names[0], batches))
            finally:
                fp32.unlink(missing_ok=True)

    atomic_write(out, write)
    sidecar = build_sidecar(run, spec, out, opset, dynamic_batch, parity)
    sidecar["quantization"] = quantization or None
    write_json(sidecar_path(out), sidecar)
    return sidecar


def update_sidecar(onnx_path: str | Path, **fields: Any) -> dict[str, Any]:
    """Add ``fields`` to the sidecar of ``onnx_path`` (atomically); return the new sidecar."""
    side = sidecar_path(onnx_path)
    meta = {**read_json(side), **fields}
    write_json(side, meta)
    return meta


def spec_for(run, dynamic_batch: bool) -> OnnxSpec:
    """The ONNX spec of a loaded run, from its task's ``onnx_spec`` hook."""
    hook = getattr(get_task(run.config.task), "onnx_spec", None)
    if hook is None:
        exporting = [name for name, task in TASKS.items() if getattr(task, "onnx_spec", None)]
        raise ExportError(
            f"ONNX export is not available for task {run.config.task!r} in this version "
            f"(run {run.run_dir.path}); exporting it without a parity check could give a model "
            "that silently differs from the trained one",
            hint=f"tasks that export: {', '.join(exporting)}; use `transferkit predict` on the run",
        )
    return hook(run, dynamic_batch)


def resolve_opset(opset: int | None, minimum: int, task: str) -> int:
    """``opset`` checked against what the task needs and the exporter writes (default 17)."""
    if opset is None:
        return max(DEFAULT_OPSET, minimum)
    if not minimum <= int(opset) <= MAX_OPSET:
        raise ConfigError(
            f"invalid --opset {opset}: the {task} export needs {minimum} to {MAX_OPSET}",
            hint=f"leave --opset out for {DEFAULT_OPSET}, or pick one in that range",
        )
    return int(opset)


def trace(spec: OnnxSpec, path: Path, opset: int) -> None:
    """Trace ``spec.module`` into ``path`` and check the graph is valid ONNX."""
    import onnx

    with warnings.catch_warnings(), torch.no_grad():
        # The legacy exporter warns that it is legacy, and the tracer warns about every Python
        # value taken from a tensor; the parity check on several input shapes is what tells
        # whether those values were baked in wrongly.
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                spec.module,
                spec.example,
                str(path),
                dynamo=False,
                input_names=spec.input_names,
                output_names=spec.output_names,
                dynamic_axes=spec.dynamic_axes or None,
                opset_version=opset,
                do_constant_folding=True,
            )
        except Exception as e:  # the exporter raises many types; all mean "cannot trace this"
            raise ExportError(
                f"the ONNX exporter could not trace this model at opset {opset}: "
                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                hint="try another --opset; the run itself is unaffected",
            ) from e
    try:
        onnx.checker.check_model(str(path))
    except onnx.checker.ValidationError as e:
        raise ExportError(
            f"the exported graph is not valid ONNX: {str(e).splitlines()[0]}",
            hint="try another --opset",
        ) from e


def build_sidecar(
    run, spec: OnnxSpec, out: Path, opset: int, dynamic_batch: bool, parity: dict[str, Any]
) -> dict[str, Any]:
    """Everything needed to use ``out`` without transferkit (plain JSON)."""
    import onnx
    import onnxruntime

    cfg = run.config
    return {
        "format": SIDECAR_FORMAT,
        "model": out.name,
        "task": cfg.task,
        "class_names": list(run.class_names),
        **spec.description,
        "data_config": run.data_config.to_dict(),
        "img_size": cfg.data.img_size,
        # The run's data and carve: `evaluate MODEL.onnx` scores the same val split by default.
        "data": {
            "path": cfg.data.path,
            "format": cfg.data.format,
            "val_fraction": cfg.data.val_fraction,
            "test_fraction": cfg.data.test_fraction,
            "split_seed": cfg.data.split_seed,
        },
        "opset": opset,
        "dynamic_batch": dynamic_batch,
        "parity": parity,
        "source": {
            "run_dir": str(run.run_dir.path.absolute()),
            "backbone": cfg.model.backbone,
            # the head the model was built with (None in the config means the task's default)
            "head": cfg.model.head or get_task(cfg.task).default_head or None,
            "detector": None,  # kept in every sidecar; a detector's spec fills it in
            **spec.source,
            "checkpoint_epoch": run.checkpoint.get("epoch"),
        },
        "versions": {
            "transferkit": version("transferkit"),
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    }
