"""Classification report section: the validation images the model gets wrong most confidently.

These are where label noise and confusable classes show up first, so they are worth a look
before anything else: a mislabelled training set looks like a model that is "sure and wrong".
"""

from __future__ import annotations

from pathlib import Path

from transferkit.data.images import load_image_rgb
from transferkit.render.draw import THUMB, fit_within, png_bytes
from transferkit.render.html import Section, image, note, para
from transferkit.tasks.classify.predict import predict_paths

SHOWN = 12
MAX_SCORED = 2000  # validation images scored for the report; larger sets are sampled evenly
BATCH = 64


def confident_mistakes(run, dataset, limit: int = SHOWN) -> tuple[list[dict], int]:
    """Wrong predictions on ``dataset`` (a ClassificationDataset), most confident first.

    Returns up to ``limit`` dicts (path, true, predicted, confidence, true_probability) and the
    number of images scored. They come from the predictions the run's final evaluation stored
    (``run.stored_predictions``); a run without them (an older version) has its images go
    through :func:`predict_paths`, as in ``predict``.
    """
    stored = getattr(run, "stored_predictions", lambda *a: None)("val", dataset)
    scored = _from_stored(stored) if stored is not None else _predicted(run, dataset)
    wrong = [s for s in scored if s["predicted"] != s["true"]]
    wrong.sort(key=lambda w: -w["confidence"])
    return wrong[:limit], len(scored)


def _from_stored(rows: list[dict]) -> list[dict]:
    return [
        {
            "path": r["file"],
            "true": r["true"],
            "predicted": r["predicted"],
            "confidence": r["score"],
            "true_probability": r["true_score"],
        }
        for r in rows
    ]


def _predicted(run, dataset) -> list[dict]:
    """Scores of (up to ``MAX_SCORED``, sampled evenly) images of ``dataset`` by the model."""
    samples = list(dataset.samples)
    if len(samples) > MAX_SCORED:
        step = len(samples) / MAX_SCORED
        samples = [samples[int(i * step)] for i in range(MAX_SCORED)]
    names = run.class_names
    options = {"top_k": len(names), "batch_size": BATCH}  # every class, for the true one's score
    preds = predict_paths(run, [path for path, _ in samples], options) if samples else []
    out = []
    for (_, label), pred in zip(samples, preds, strict=True):
        true = names[int(label)]
        out.append(
            {
                "path": pred["path"],
                "true": true,
                "predicted": pred["label"],
                "confidence": pred["score"],
                "true_probability": next(t["score"] for t in pred["top_k"] if t["label"] == true),
            }
        )
    return out


def report_sections(run, splits) -> list[Section]:
    """The "most confidently wrong" gallery of the validation split."""
    title = "Most confidently wrong validation images"
    if splits is None or splits.val is None or not hasattr(splits.val, "samples"):
        return [Section(title, note("the validation images could not be read; see above"))]
    mistakes, scored = confident_mistakes(run, splits.val)
    if not mistakes:
        return [Section(title, para(f"All {scored} validation images scored are right."))]
    body = para(
        f"{len(mistakes)} of the wrong predictions among {scored} validation images, most "
        "confident first (thumbnails)."
    )
    for m in mistakes:
        thumb = fit_within(load_image_rgb(m["path"]), THUMB)
        caption = (
            f"true {m['true']}, predicted {m['predicted']} ({m['confidence']:.2f}; "
            f"true class {m['true_probability']:.2f}) - {Path(m['path']).name}"
        )
        alt = f"{m['true']} predicted as {m['predicted']}"
        body += image(png_bytes(thumb), alt, caption, width=thumb.width)
    return [Section(title, body)]
