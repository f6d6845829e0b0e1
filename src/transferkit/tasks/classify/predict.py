"""Prediction for classification runs: top-k labels per image file, written as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import torch

from transferkit.data.images import is_image_file, load_image_rgb
from transferkit.data.transforms.classify import eval_transform
from transferkit.core.errors import ConfigError, DatasetError
from transferkit.core.fileio import atomic_write_text


def collect_images(paths: list[str | Path]) -> list[Path]:
    """Image files among ``paths``; folders are searched recursively, in sorted order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and is_image_file(f))
        elif p.is_file():
            found.append(p)
        else:
            raise DatasetError(
                f"no such file or folder: {p}", hint="check the paths given to predict"
            )
    if not found:
        raise DatasetError(
            f"no images found in {', '.join(map(str, paths))}",
            hint="pass image files or folders that hold images",
        )
    return found


@torch.no_grad()
def predict_paths(run, paths: list[str | Path], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Top-k predictions of a loaded run (``engine.rundir.RunHandle``) for image files."""
    top_k = int(options.get("top_k") or 1)
    if top_k < 1:
        raise ConfigError(f"invalid --top-k {top_k}: expected 1 or more")
    top_k = min(top_k, len(run.class_names))
    transform = eval_transform(run.data_config, run.config.data.img_size)
    batch_size = int(options.get("batch_size") or 32)
    files = collect_images(paths)
    model = run.model.eval()
    device = next(model.parameters()).device
    out: list[dict[str, Any]] = []
    for start in range(0, len(files), batch_size):
        chunk = files[start : start + batch_size]
        images = torch.stack([transform(load_image_rgb(f)) for f in chunk]).to(device)
        probs = model(images).float().softmax(dim=1).cpu()
        scores, indices = probs.topk(top_k, dim=1)
        for f, s, i in zip(chunk, scores, indices):
            ranked = [{"label": run.class_names[int(j)], "score": float(v)} for v, j in zip(s, i)]
            out.append(
                {
                    "path": str(f),
                    "label": ranked[0]["label"],
                    "score": ranked[0]["score"],
                    "top_k": ranked,
                }
            )
    return out


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
