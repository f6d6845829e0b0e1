"""What the tasks' report sections share: which validation images are shown, and at what score.

A sample of validation images, evenly spaced through the split (so the same run always shows the
same images), goes through the task's own prediction, exactly as ``transferkit predict`` would
run it, and each image is drawn twice: ground truth on the left, prediction on the right.
"""

from __future__ import annotations

from transferkit.render.draw import PANEL, fit_within, png_bytes, side_by_side
from transferkit.render.html import Section, image, note

SAMPLE = 6
SCORE_THRESHOLD = 0.3  # detections drawn; COCO mAP itself uses every detection
TITLE = "Predictions beside ground truth (validation sample)"


def evenly(items: list, n: int = SAMPLE) -> list:
    """``n`` items spread evenly over ``items`` (all of them when there are fewer)."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def unreadable() -> list[Section]:
    """The section shown when the validation images could not be read."""
    return [Section(TITLE, note("the validation images could not be read; see above"))]


def pair(truth, prediction, caption: str) -> str:
    """Ground truth beside prediction (each fitted to a report panel) as an HTML figure."""
    both = side_by_side(fit_within(truth, PANEL), fit_within(prediction, PANEL))
    return image(png_bytes(both), caption, caption)
