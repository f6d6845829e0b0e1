"""Segmentation report section: class overlays of ground truth and prediction, with accuracy."""

from __future__ import annotations

import numpy as np

from transferkit.data.datasets.segmentation import read_class_mask
from transferkit.data.images import load_image_rgb
from transferkit.render.html import Section, para
from transferkit.tasks.common.examples import TITLE, evenly, pair, unreadable
from transferkit.tasks.segment.predict import draw_overlay, predict_paths


def report_sections(run, splits) -> list[Section]:
    """Class masks: ground truth vs prediction overlays, with each image's pixel accuracy."""
    val = getattr(splits, "val", None)
    samples = getattr(val, "samples", None)
    if not samples:
        return unreadable()
    chosen = evenly(samples)
    preds = predict_paths(run, [s.image for s in chosen], {})
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
        truth = draw_overlay(pil, np.where(valid, target, 0))
        caption = f"{sample.image.name}: pixel accuracy {accuracy:.3f}"
        body += pair(truth, draw_overlay(pil, mask.astype(np.int64)), caption)
    return [Section(TITLE, body)]
