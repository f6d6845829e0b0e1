"""``evaluate --task multilabel --predictions scores.csv``: score any tool's predicted scores.

The predictions file is a CSV with a ``path`` column and one column of scores in [0, 1] per
label (an optional ``labels`` column, as ``predict --out`` writes, is ignored); the ground truth
is a multi-label data set (CSV or class folders) read as training reads it. Images are matched
by resolved path, else by file name. F1 and the other thresholded metrics use 0.5 for every
label (``options["threshold"]``): a tool's scores come without thresholds chosen on val.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import torch

from transferkit.core.errors import DatasetError
from transferkit.data.datasets.multilabel import list_label_source
from transferkit.tasks.multilabel.metrics import DEFAULT_THRESHOLD, multilabel_metrics

_HINT = "a header path,<label>,<label>... with one score in [0, 1] per label (sigmoid outputs)"


def read_scores(path: Path) -> tuple[list[str], dict[str, list[float]]]:
    """Label names (score columns) and ``path -> scores`` of a predictions CSV."""
    if not path.is_file():
        raise DatasetError(f"predictions file not found: {path}", hint=_HINT)
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise DatasetError(f"{path} has no predictions (empty, or a header only)", hint=_HINT)
    header = [c.strip() for c in rows[0]]
    if "path" not in header:
        raise DatasetError(f"{path}: no 'path' column (found {', '.join(header)})", hint=_HINT)
    labels = [c for c in header if c not in ("path", "labels")]
    scores: dict[str, list[float]] = {}
    for line, row in enumerate(rows[1:], 2):
        cell = dict(zip(header, row))
        values = []
        for name in labels:
            try:
                v = float(cell.get(name, ""))
            except ValueError:
                v = math.nan
            if not 0 <= v <= 1:
                raise DatasetError(
                    f"{path}:{line}: score of {name!r} is {cell.get(name)!r}, not in [0, 1]",
                    hint="write probabilities (apply a sigmoid to logits)",
                )
            values.append(v)
        scores[cell["path"].strip()] = values
    return labels, scores


def evaluate_predictions(data_path: Path, predictions: Path, options: dict[str, Any]) -> dict:
    """Multi-label metrics of the scores in ``predictions`` against ``data_path``'s labels."""
    names, scores = read_scores(predictions)
    listing = list_label_source(data_path)
    by_path = {str(Path(p).expanduser().resolve()): v for p, v in scores.items()}
    by_name = {Path(p).name: v for p, v in scores.items()}
    rows, target, missing = [], [], 0
    for e in listing.entries:
        unknown = [lb for lb in e.labels if lb not in names]
        if unknown:
            raise DatasetError(
                f"{e.where}: label {unknown[0]!r} has no score column in {predictions}",
                hint=f"the predictions score: {', '.join(names)}",
            )
        got = by_path.get(str(e.path.resolve()), by_name.get(e.path.name))
        if got is None:
            missing += 1
            continue
        rows.append(got)
        target.append([1.0 if n in e.labels else 0.0 for n in names])
    if not rows:
        raise DatasetError(
            f"no prediction in {predictions} matches an image of {data_path}",
            hint="the path column must name the data set's images (full path or file name)",
        )
    threshold = float(options.get("threshold") or DEFAULT_THRESHOLD)
    probs, truth = torch.tensor(rows), torch.tensor(target)
    out = multilabel_metrics(probs, truth, names, torch.full((len(names),), threshold))
    return {**out, "images_without_prediction": missing}
