"""Instance segmentation report section: ground-truth instances beside the predicted ones."""

from __future__ import annotations

from transferkit.data.images import load_image_rgb
from transferkit.data.masks import mask_to_rle, segmentation_to_mask
from transferkit.render.html import Section, para
from transferkit.tasks.common.examples import SCORE_THRESHOLD, TITLE, evenly, pair, unreadable
from transferkit.tasks.instance.predict import draw_instances, predict_paths


def report_sections(run, splits) -> list[Section]:
    """Instance masks and boxes: ground truth vs detections above :data:`SCORE_THRESHOLD`."""
    records = getattr(getattr(splits, "val", None), "records", None)
    if not records:
        return unreadable()
    chosen = evenly(records)
    preds = predict_paths(run, [r.path for r in chosen], {"score_threshold": SCORE_THRESHOLD})
    body = para(
        f"{len(chosen)} of {len(records)} validation images; instances with score >= "
        f"{SCORE_THRESHOLD} are drawn."
    )
    for rec, pred in zip(chosen, preds, strict=True):
        pil = load_image_rgb(rec.path)
        truth = [
            _as_detection(rec, o, run.class_names)
            for o in rec.objects
            if o.segmentation is not None
        ]
        caption = f"{rec.path.name}: {len(truth)} object(s), {len(pred['detections'])} instance(s)"
        body += pair(draw_instances(pil, truth), draw_instances(pil, pred["detections"]), caption)
    return [Section(TITLE, body)]


def _as_detection(rec, obj, names: list[str]) -> dict:
    """A ground-truth object in the form of a predicted instance (score 1), to draw it alike."""
    mask = segmentation_to_mask(obj.segmentation, rec.height, rec.width, str(rec.path))
    return {
        "box": list(obj.box),
        "label": names[obj.label - 1],
        "score": 1.0,
        "segmentation": mask_to_rle(mask),
    }
