"""The parity check: the same inputs through onnxruntime and PyTorch, outputs within tolerance.

Tensor outputs are compared element by element. Detections are compared as sets: onnxruntime and
PyTorch may order detections of equal score differently, so each PyTorch detection is matched to
the ONNX detection of the same label with the closest box and score before differences are taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from transferkit.core.errors import ExportError
from transferkit.tasks.common.onnx import OnnxSpec, Tolerance

_HINT = (
    "the exporter recorded an operation of this model wrongly; try another --opset, or export "
    "without --dynamic-batch, and report the run's config.yaml if it persists"
)


def onnx_session(path: str | Path, threads: int | None = None):
    """An onnxruntime CPU session for ``path`` (``threads``: intra-op threads, default all)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@torch.no_grad()
def check_parity(onnx_path: str | Path, spec: OnnxSpec) -> dict[str, Any]:
    """Run every input of ``spec.checks`` through both; raise :class:`ExportError` on a mismatch.

    Returns the largest absolute difference per output, the tolerances and the input shapes.
    """
    session = onnx_session(onnx_path)
    worst = dict.fromkeys(spec.output_names, 0.0)
    for inputs in spec.checks:
        expected = _as_numpy(spec.module(*inputs))
        got = session.run(
            spec.output_names, {n: t.numpy() for n, t in zip(spec.input_names, inputs, strict=True)}
        )
        shape = "x".join(str(s) for s in inputs[0].shape)
        if spec.compare == "detections":
            expected, got = match_detections(expected, got, shape)
        for name, ref, out in zip(spec.output_names, expected, got, strict=True):
            diff = compare(name, ref, out, spec.tolerances[name], shape)
            worst[name] = max(worst[name], diff)
    return {
        "max_abs_diff": worst,
        "tolerance": {name: t.to_dict() for name, t in spec.tolerances.items()},
        "inputs": [list(inputs[0].shape) for inputs in spec.checks],
    }


def compare(name: str, ref: np.ndarray, out: np.ndarray, tol: Tolerance, shape: str) -> float:
    """Max abs difference of one output; :class:`ExportError` when a value is out of tolerance."""
    if ref.shape != out.shape:
        raise ExportError(
            f"ONNX output '{name}' has shape {list(out.shape)} but PyTorch gives "
            f"{list(ref.shape)} for an input of {shape}",
            hint=_HINT,
        )
    if ref.size == 0:
        return 0.0
    diff = np.abs(out.astype(np.float64) - ref.astype(np.float64))
    worst = float(diff.max())
    if tol.exact:
        bad = diff > 0
        allowed = "exact equality"
    else:
        bad = diff > tol.atol + tol.rtol * np.abs(ref.astype(np.float64))
        allowed = f"atol {tol.atol:g} + rtol {tol.rtol:g} x |value|"
    if bad.any() or not np.isfinite(out).all():
        raise ExportError(
            f"ONNX output '{name}' differs from PyTorch for an input of {shape}: max abs diff "
            f"{worst:.3g} at {int(bad.sum())} of {bad.size} values, beyond {allowed}",
            hint=_HINT,
        )
    return worst


def match_detections(
    expected: list[np.ndarray], got: list[np.ndarray], shape: str
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Reorder ONNX detections (boxes, labels, scores[, masks …]) to pair with PyTorch's.

    Pairs are made on boxes, labels and scores; any further outputs follow the same order.
    """
    boxes, labels, scores = expected[:3]
    o_boxes, o_labels, o_scores = (np.asarray(a) for a in got[:3])
    if len(o_boxes) != len(boxes):
        raise ExportError(
            f"the ONNX detector finds {len(o_boxes)} objects, PyTorch {len(boxes)}, on an "
            f"input of {shape}",
            hint=_HINT,
        )
    free = np.ones(len(o_boxes), dtype=bool)
    order = []
    for box, label, score in zip(boxes, labels, scores, strict=True):
        cost = np.abs(o_boxes - box).max(axis=1) + np.abs(o_scores - score)
        cost[(o_labels != label) | ~free] = np.inf
        j = int(np.argmin(cost)) if len(cost) else 0
        if not np.isfinite(cost[j]):
            raise ExportError(
                f"a PyTorch detection (label {int(label)}, score {float(score):.4f}) has no ONNX "
                f"counterpart of the same label on an input of {shape}",
                hint=_HINT,
            )
        free[j] = False
        order.append(j)
    idx = np.array(order, dtype=np.int64)
    return expected, [np.asarray(a)[idx] for a in got]


def _as_numpy(outputs: Any) -> list[np.ndarray]:
    items = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    return [t.detach().cpu().numpy() for t in items]
