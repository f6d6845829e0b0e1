"""Prediction for multi-label classification: the label set of each image, with every score.

:func:`predict_with` is the one loop, for a trained model or an ONNX export (see
:mod:`transferkit.tasks.common.predict`): sigmoid scores of the ``logits`` the runner returns,
and the labels whose score reaches its threshold (chosen on val, stored in the run and in the
export's sidecar).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import torch

from transferkit.core.errors import ConfigError, RunDirError
from transferkit.core.fileio import atomic_write_text
from transferkit.data.images import load_image_rgb
from transferkit.data.transforms.classify import eval_transform
from transferkit.tasks.common.images import collect_images
from transferkit.tasks.common.predict import ModelInfo, Runner, torch_runner


def predict_paths(run, paths: list[str | Path], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Label sets of a loaded run (``runs.rundir.RunHandle``) for image files."""
    runner = torch_runner(run.model, lambda m, x: m(x))
    return predict_with(runner, ModelInfo.from_run(run), paths, options)


def predict_with(
    runner: Runner, info: ModelInfo, paths: list[str | Path], options: dict[str, Any]
) -> list[dict[str, Any]]:
    """``path``, ``labels`` (the label set, by score), ``scores`` (every label) per image."""
    names = info.class_names
    if info.thresholds is None or len(info.thresholds) != len(names):
        raise RunDirError(
            "the model has no per-label thresholds for its labels",
            hint="export the run again, or predict with the run directory",
        )
    thresholds = torch.tensor(info.thresholds, dtype=torch.float32)
    transform = eval_transform(info.data_config, info.img_size)
    batch_size = info.batch_size(options)
    files = collect_images(paths)
    out: list[dict[str, Any]] = []
    for start in range(0, len(files), batch_size):
        chunk = files[start : start + batch_size]
        images = torch.stack([transform(load_image_rgb(f)) for f in chunk])
        probs = runner(images)["logits"].float().sigmoid()
        for f, p in zip(chunk, probs, strict=True):
            chosen = sorted(
                (i for i in range(len(names)) if p[i] >= thresholds[i]), key=lambda i: -p[i]
            )
            out.append(
                {
                    "path": str(f),
                    "labels": [names[i] for i in chosen],
                    "scores": {n: float(v) for n, v in zip(names, p, strict=True)},
                }
            )
    return out


def write_predictions(predictions: list[dict[str, Any]], out: str | Path) -> Path:
    """``.json`` as returned, or ``.csv``: ``path,labels`` (``;``-separated) then one score
    column per label, the form ``evaluate --predictions`` reads back."""
    out = Path(out)
    if out.suffix.lower() == ".json":
        return atomic_write_text(out, json.dumps(predictions, indent=2) + "\n")
    if out.suffix.lower() == ".csv":
        names = list(predictions[0]["scores"]) if predictions else []
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["path", "labels", *names])
        for p in predictions:
            scores = [f"{p['scores'][n]:.6f}" for n in names]
            writer.writerow([p["path"], ";".join(p["labels"]), *scores])
        return atomic_write_text(out, buf.getvalue())
    raise ConfigError(
        f"unsupported output file {out}: expected .json or .csv", hint="e.g. --out predictions.csv"
    )
