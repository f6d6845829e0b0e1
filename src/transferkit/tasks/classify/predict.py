"""Prediction for classification: top-k labels per image file, written as JSON or CSV.

:func:`predict_with` is the one loop, for a trained model or an exported one (see
:mod:`transferkit.tasks.common.predict`): images are batched through the evaluation transform,
and the ``logits`` the runner returns become ranked labels.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import torch

from transferkit.core.errors import ConfigError
from transferkit.core.fileio import atomic_write_text
from transferkit.data.images import load_image_rgb
from transferkit.data.transforms.classify import decode_sizes, eval_transform
from transferkit.tasks.common.images import collect_images
from transferkit.tasks.common.predict import ModelInfo, Runner, torch_runner

TOP_K = 5  # labels kept per image in a run's stored predictions


def predict_paths(run, paths: list[str | Path], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Top-k predictions of a loaded run (``runs.rundir.RunHandle``) for image files."""
    return predict_with(model_runner(run.model), ModelInfo.from_run(run), paths, options)


def model_runner(model: torch.nn.Module) -> Runner:
    """The runner of a trained classifier: a batch of images to ``logits``."""
    return torch_runner(model, lambda m, x: m(x))


def predict_with(
    runner: Runner, info: ModelInfo, paths: list[str | Path], options: dict[str, Any]
) -> list[dict[str, Any]]:
    """``path``, ``label``, ``score`` and ``top_k`` (``options["top_k"]``, default 1) per image."""
    top_k = int(options.get("top_k") or 1)
    if top_k < 1:
        raise ConfigError(f"invalid --top-k {top_k}: expected 1 or more")
    names = info.class_names
    top_k = min(top_k, len(names))
    transform = eval_transform(info.data_config, info.img_size)
    _, decode = decode_sizes(info.data_config, info.img_size)  # as the run's evaluation did
    batch_size = info.batch_size(options)
    files = collect_images(paths)
    out: list[dict[str, Any]] = []
    for start in range(0, len(files), batch_size):
        chunk = files[start : start + batch_size]
        images = torch.stack([transform(load_image_rgb(f, decode)) for f in chunk])
        probs = runner(images)["logits"].float().softmax(dim=1)
        for f, ranked in zip(chunk, rank_labels(probs, names, top_k), strict=True):
            out.append(
                {
                    "path": str(f),
                    "label": ranked[0]["label"],
                    "score": ranked[0]["score"],
                    "top_k": ranked,
                }
            )
    return out


def rank_labels(probs: torch.Tensor, names: list[str], top_k: int) -> list[list[dict[str, Any]]]:
    """The ``top_k`` (label, score) pairs of each row of ``probs`` (N, C), best first."""
    scores, indices = probs.topk(min(top_k, len(names)), dim=1)
    return [
        [{"label": names[int(j)], "score": float(v)} for v, j in zip(s, i, strict=True)]
        for s, i in zip(scores.tolist(), indices.tolist(), strict=True)
    ]


def prediction_rows(outputs: torch.Tensor, batch: Any, class_names: list[str]) -> list[dict]:
    """One row per image of an evaluated batch (``outputs``: logits, ``batch[1]``: true labels):
    true and predicted label, score, the true label's score and the top 5 (what the run
    directory's ``predictions/`` keeps, see ``runs.predictions``)."""
    probs = outputs.detach().float().softmax(dim=1).cpu()
    target = batch[1].detach().cpu().tolist()
    rows = []
    for p, t, ranked in zip(probs, target, rank_labels(probs, class_names, TOP_K), strict=True):
        rows.append(
            {
                "true": class_names[int(t)],
                "predicted": ranked[0]["label"],
                "score": ranked[0]["score"],
                "true_score": float(p[int(t)]),
                "top_k": ranked,
            }
        )
    return rows


def write_predictions(predictions: list[dict[str, Any]], out: str | Path) -> Path:
    """Write predictions as ``.json`` (full top-k) or ``.csv`` (one row per image and rank)."""
    out = Path(out)
    if out.suffix.lower() == ".json":
        return atomic_write_text(out, json.dumps(predictions, indent=2) + "\n")
    if out.suffix.lower() == ".csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["path", "rank", "label", "score"])
        for p in predictions:
            for rank, item in enumerate(p["top_k"], start=1):
                writer.writerow([p["path"], rank, item["label"], f"{item['score']:.6f}"])
        return atomic_write_text(out, buf.getvalue())
    raise ConfigError(
        f"unsupported output file {out}: expected .json or .csv", hint="e.g. --out predictions.csv"
    )
