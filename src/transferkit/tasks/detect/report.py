"""Detection report section: ground-truth boxes beside the detections, on sampled val images."""

from __future__ import annotations

from transferkit.data.images import load_image_rgb
from transferkit.render.draw import PANEL, draw_boxes, fit_within
from transferkit.render.html import Section, para
from transferkit.tasks.common.examples import SCORE_THRESHOLD, TITLE, evenly, pair, unreadable
from transferkit.tasks.detect.predict import predict_paths


def report_sections(run, splits) -> list[Section]:
    """Boxes: ground truth vs detections above :data:`SCORE_THRESHOLD`, on sampled val images."""
    records = getattr(getattr(splits, "val", None), "records", None)
    if not records:
        return unreadable()
    chosen = evenly(records)
    preds = predict_paths(run, [r.path for r in chosen], {"score_threshold": SCORE_THRESHOLD})
    names = run.class_names
    body = para(
        f"{len(chosen)} of {len(records)} validation images; detections with score >= "
        f"{SCORE_THRESHOLD} are drawn."
    )
    for rec, pred in zip(chosen, preds, strict=True):
        pil = load_image_rgb(rec.path)
        small = fit_within(pil, PANEL)  # boxes drawn at the panel's scale stay 2 px wide
        scale = small.width / pil.width
        truth = draw_boxes(
            small,
            [o.box for o in rec.objects],
            [names[o.label - 1] for o in rec.objects],
            [o.label - 1 for o in rec.objects],
            scale,
        )
        dets = pred["detections"]
        shown = draw_boxes(
            small,
            [d["box"] for d in dets],
            [f"{d['label']} {d['score']:.2f}" for d in dets],
            [names.index(d["label"]) for d in dets],
            scale,
        )
        caption = f"{rec.path.name}: {len(rec.objects)} object(s), {len(dets)} detection(s)"
        body += pair(truth, shown, caption)
    return [Section(TITLE, body)]
