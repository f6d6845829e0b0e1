"""Detection and segmentation report sections: predictions beside the ground truth.

A sample of validation images (evenly spaced through the split, so the same run always shows the
same images) goes through the task's own ``predict_paths`` hook, exactly as ``transferkit
predict`` would run it, and each image is drawn twice: ground truth on the left, prediction on
the right.
"""

from __future__ import annotations

import numpy as np

from transferkit.data.images import load_image_rgb
from transferkit.render.html import Section, image, note, para
from transferkit.render.draw import PANEL, draw_boxes, fit_within, png_bytes, side_by_side

SAMPLE = 6
SCORE_THRESHOLD = 0.3  # detections drawn; COCO mAP itself uses every detection


def evenly(items: list, n: int = SAMPLE) -> list:
    """``n`` items spread evenly over ``items`` (all of them when there are fewer)."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def detect_sections(run, splits) -> list[Section]:
    """Boxes: ground truth vs detections above :data:`SCORE_THRESHOLD`, on sampled val images."""
    from transferkit.tasks import get_task

    title = "Predictions beside ground truth (validation sample)"
    records = getattr(getattr(splits, "val", None), "records", None)
    if not records:
        return [Section(title, note("the validation images could not be read; see above"))]
    chosen = evenly(records)
    preds = get_task(run.config.task).predict_paths(
        run, [r.path for r in chosen], {"score_threshold": SCORE_THRESHOLD}
    )
    names = run.class_names
    body = para(
        f"{len(chosen)} of {len(records)} validation images; detections with score >= "
        f"{SCORE_THRESHOLD} are drawn."
    )
    for rec, pred in zip(chosen, preds, strict=True):
        pil = load_image_rgb(rec.path)
        small = fit_within(pil, PANEL)
        scale = small.width / pil.width
        gt = draw_boxes(
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
        body += image(png_bytes(side_by_side(gt, shown)), caption, caption)
    return [Section(title, body)]


def segment_sections(run, splits) -> list[Section]:
    """Class masks: ground truth vs prediction overlays, with each image's pixel accuracy."""
    from transferkit.data.datasets.segmentation import read_class_mask
    from transferkit.tasks import get_task
    from transferkit.tasks.segment.predict import draw_overlay

    title = "Predictions beside ground truth (validation sample)"
    val = getattr(splits, "val", None)
    samples = getattr(val, "samples", None)
    if not samples:
        return [Section(title, note("the validation images could not be read; see above"))]
    chosen = evenly(samples)
    preds = get_task(run.config.task).predict_paths(run, [s.image for s in chosen], {})
    ignore = getattr(val, "ignore_index", 255)
    body = para(
        f"{len(chosen)} of {len(samples)} validation images; classes are tinted over the image "
        "(class 0 is left clear)."
    )
    for sample, pred in zip(chosen, preds, strict=True):
        pil = load_image_rgb(sample.image)
        target = read_class_mask(sample, getattr(val, "classes", None))
        mask = pred["mask"]
        valid = target != ignore
        accuracy = float((mask[valid] == target[valid]).mean()) if valid.any() else float("nan")
        shown_target = np.where(valid, target, 0)
        pair = side_by_side(
            fit_within(draw_overlay(pil, shown_target), PANEL),
            fit_within(draw_overlay(pil, mask.astype(np.int64)), PANEL),
        )
        caption = f"{sample.image.name}: pixel accuracy {accuracy:.3f}"
        body += image(png_bytes(pair), caption, caption)
    return [Section(title, body)]


def instance_sections(run, splits) -> list[Section]:
    """Instance masks and boxes: ground truth vs detections above :data:`SCORE_THRESHOLD`."""
    from transferkit.data.masks import mask_to_rle, segmentation_to_mask
    from transferkit.tasks import get_task
    from transferkit.tasks.instance.predict import draw_instances

    title = "Predictions beside ground truth (validation sample)"
    records = getattr(getattr(splits, "val", None), "records", None)
    if not records:
        return [Section(title, note("the validation images could not be read; see above"))]
    chosen = evenly(records)
    preds = get_task(run.config.task).predict_paths(
        run, [r.path for r in chosen], {"score_threshold": SCORE_THRESHOLD}
    )
    names = run.class_names
    body = para(
        f"{len(chosen)} of {len(records)} validation images; instances with score >= "
        f"{SCORE_THRESHOLD} are drawn."
    )
    for rec, pred in zip(chosen, preds, strict=True):
        pil = load_image_rgb(rec.path)
        truth = [
            {
                "box": list(o.box),
                "label": names[o.label - 1],
                "score": 1.0,
                "segmentation": mask_to_rle(
                    segmentation_to_mask(o.segmentation, rec.height, rec.width, str(rec.path))
                ),
            }
            for o in rec.objects
            if o.segmentation is not None
        ]
        pair = side_by_side(
            fit_within(draw_instances(pil, truth), PANEL),
            fit_within(draw_instances(pil, pred["detections"]), PANEL),
        )
        caption = f"{rec.path.name}: {len(truth)} object(s), {len(pred['detections'])} instance(s)"
        body += image(png_bytes(pair), caption, caption)
    return [Section(title, body)]
