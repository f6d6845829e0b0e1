"""Multi-label report sections: AP and the decision per label, and the validation images whose
predicted scores are furthest from their labels (label noise and confusable labels show first).

Scores come from :func:`predict_paths`, as in ``predict``, so the labels shown are the ones the
run's stored thresholds give.
"""

from __future__ import annotations

from pathlib import Path

from transferkit.core.fileio import read_json
from transferkit.data.images import load_image_rgb
from transferkit.render.draw import THUMB, fit_within, png_bytes
from transferkit.render.html import Section, fmt, image, note, para, table
from transferkit.tasks.multilabel.predict import predict_paths

SHOWN = 12
MAX_SCORED = 2000  # validation images scored for the report; larger sets are sampled evenly


def largest_errors(run, dataset, limit: int = SHOWN) -> tuple[list[dict], int]:
    """Images of ``dataset`` (a MultiLabelDataset) by decreasing error, the sum over labels of
    ``|label - score|``; up to ``limit`` dicts (path, error, true, predicted) and the count scored."""
    samples = list(dataset.samples)
    if len(samples) > MAX_SCORED:
        step = len(samples) / MAX_SCORED
        samples = [samples[int(i * step)] for i in range(MAX_SCORED)]
    names = run.class_names
    preds = predict_paths(run, [p for p, _ in samples], {"batch_size": 64}) if samples else []
    rows = []
    for (path, target), pred in zip(samples, preds, strict=True):
        error = sum(abs(t - pred["scores"][n]) for n, t in zip(names, target, strict=True))
        true = [n for n, t in zip(names, target, strict=True) if t]
        rows.append({"path": path, "error": error, "true": true, "predicted": pred["labels"]})
    rows.sort(key=lambda r: -r["error"])
    return rows[:limit], len(samples)


def report_sections(run, splits) -> list[Section]:
    """Per-label AP / threshold / F1 table, then the largest-error gallery of val."""
    return [_label_table(run), _gallery(run, splits)]


def _label_table(run) -> Section:
    title = "Labels: average precision and the decision"
    path = run.run_dir.metrics
    metrics = read_json(path) if path.is_file() else {}
    split = metrics.get("evaluated_split", "val")
    per_label = (metrics.get(split) or {}).get("per_label")
    if not per_label:
        return Section(title, note("no per-label metrics in metrics.json"))
    columns = ["label", "AP", "threshold", "precision", "recall", "F1", "support"]
    keys = ("ap", "threshold", "precision", "recall", "f1", "support")
    rows = [[name, *(v.get(k) for k in keys)] for name, v in per_label.items()]
    head = para(
        f"On the {split} split: macro mAP {fmt(metrics.get('map_macro'))}, micro mAP "
        f"{fmt(metrics.get('map_micro'))}; thresholds chosen on val to maximise each label's F1."
    )
    return Section(title, head + table(columns, rows))


def _gallery(run, splits) -> Section:
    title = "Validation images with the largest errors"
    if splits is None or getattr(splits, "val", None) is None:
        return Section(title, note("the validation images could not be read; see above"))
    worst, scored = largest_errors(run, splits.val)
    body = para(
        f"{len(worst)} of {scored} validation images, largest sum of |label - score| first."
    )
    for w in worst:
        thumb = fit_within(load_image_rgb(w["path"]), THUMB)
        caption = (
            f"true {', '.join(w['true']) or '(none)'}; predicted "
            f"{', '.join(w['predicted']) or '(none)'} (error {w['error']:.2f}) - "
            f"{Path(w['path']).name}"
        )
        body += image(png_bytes(thumb), f"error {w['error']:.2f}", caption, width=thumb.width)
    return Section(title, body)
