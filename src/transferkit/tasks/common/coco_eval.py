"""COCO evaluation (boxes and masks) through faster-coco-eval, with pycocotools as the reference.

One function, :func:`evaluate_coco`, takes a ground-truth COCO dict, a COCO results list and an
IoU type and returns flat snake_case keys named like torchmetrics' ``MeanAveragePrecision``:
``map``, ``map_50``, ``map_75``, ``map_small``, ``map_medium``, ``map_large``, ``mar_1``,
``mar_10``, ``mar_100``, ``mar_small``, ``mar_medium``, ``mar_large``, plus ``map_per_class``
(class name -> AP). The numbers are COCOeval's own ``stats``; per-class AP is read from COCOeval's
accumulated precision array the way its ``summarize`` does, never recomputed by hand. As in
pycocotools, ``-1`` means "no ground truth in that range" (for example no small objects).

Detection and instance segmentation both call this; instance segmentation passes
``iou_type="segm"`` and ``prefix="mask_"``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from transferkit.core.errors import DatasetError

# Order of COCOeval.stats for bbox / segm with the default parameters.
STAT_KEYS = (
    "map",
    "map_50",
    "map_75",
    "map_small",
    "map_medium",
    "map_large",
    "mar_1",
    "mar_10",
    "mar_100",
    "mar_small",
    "mar_medium",
    "mar_large",
)
IOU_TYPES = ("bbox", "segm")
BACKENDS = ("faster_coco_eval", "pycocotools")


def evaluate_coco(
    gt: dict[str, Any],
    results: list[dict[str, Any]],
    iou_type: str = "bbox",
    prefix: str = "",
    backend: str = "faster_coco_eval",
) -> dict[str, Any]:
    """Score COCO ``results`` against the ground truth ``gt`` and return flat metric keys.

    ``gt`` is a COCO dict (images, annotations, categories); annotations without ``area`` or
    ``iscrowd`` get the box area and 0, as most tools that write COCO assume. ``results`` is a
    COCO results list (``image_id``, ``category_id``, ``bbox`` [x, y, w, h] or ``segmentation``
    RLE, ``score``). Neither argument is modified. ``prefix`` is put before every key.
    """
    if iou_type not in IOU_TYPES:
        raise ValueError(f"iou_type must be one of {IOU_TYPES}, got {iou_type!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    gt = prepare_ground_truth(gt)
    results = check_results(results, gt)
    categories = sorted(gt["categories"], key=lambda c: c["id"])
    if not gt["annotations"] and not results:
        stats = [-1.0] * len(STAT_KEYS)
        per_class = {c["name"]: -1.0 for c in categories}
    elif backend == "faster_coco_eval":
        stats, per_class = _run_faster(gt, results, iou_type, categories)
    else:
        stats, per_class = _run_pycocotools(gt, results, iou_type, categories)
    out: dict[str, Any] = {prefix + k: float(v) for k, v in zip(STAT_KEYS, stats, strict=True)}
    out[prefix + "map_per_class"] = per_class
    return out


def prepare_ground_truth(gt: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``gt`` with the fields COCOeval needs filled in (``area``, ``iscrowd``, ``id``)."""
    for key in ("images", "annotations", "categories"):
        if key not in gt:
            raise DatasetError(
                f"ground truth has no '{key}' list", hint="pass a COCO instances dict"
            )
    gt = copy.deepcopy(gt)
    for i, ann in enumerate(gt["annotations"], start=1):
        ann.setdefault("id", i)
        ann.setdefault("iscrowd", 0)
        if "area" not in ann:
            x, y, w, h = ann["bbox"]
            ann["area"] = float(w) * float(h)
    gt.setdefault("info", {})
    return gt


def check_results(results: list[dict[str, Any]], gt: dict[str, Any]) -> list[dict[str, Any]]:
    """A copy of ``results`` after checking image and category ids against ``gt``."""
    if not isinstance(results, list):
        raise DatasetError(f"COCO results must be a list of objects, got {type(results).__name__}")
    image_ids = {img["id"] for img in gt["images"]}
    cat_ids = {c["id"] for c in gt["categories"]}
    out = []
    for i, r in enumerate(results):
        if not isinstance(r, dict) or "image_id" not in r or "category_id" not in r:
            raise DatasetError(f"result #{i} lacks image_id or category_id: {str(r)[:80]}")
        if r["image_id"] not in image_ids:
            raise DatasetError(
                f"result #{i} refers to image_id {r['image_id']!r}, which the ground truth lacks",
                hint="the predictions must be made on the images of this annotation file",
            )
        if r["category_id"] not in cat_ids:
            raise DatasetError(
                f"result #{i} has category_id {r['category_id']!r}; the ground truth has "
                f"{sorted(cat_ids)}",
                hint="predictions must use the category ids of the annotation file",
            )
        score = r.get("score")
        if not isinstance(score, (int, float)) or not math.isfinite(score):
            raise DatasetError(f"result #{i} has no finite score: {score!r}")
        out.append(dict(r))
    return out


def _run_faster(gt, results, iou_type, categories):
    from faster_coco_eval import COCO, COCOeval_faster

    quiet = _silent
    coco_gt = COCO(gt, print_function=quiet)
    coco_dt = coco_gt.loadRes(results)
    ev = COCOeval_faster(coco_gt, coco_dt, iou_type, print_function=quiet, separate_eval=True)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return list(ev.stats[: len(STAT_KEYS)]), _per_class(ev.eval["precision"], categories)


def _run_pycocotools(gt, results, iou_type, categories):
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results) if results else empty_results(coco_gt)
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return list(ev.stats[: len(STAT_KEYS)]), _per_class(ev.eval["precision"], categories)


def empty_results(coco_gt):
    # pycocotools' loadRes cannot take an empty list; an empty result set is still scorable.
    from pycocotools.coco import COCO

    res = COCO()
    res.dataset = {"images": coco_gt.dataset["images"], "categories": coco_gt.dataset["categories"]}
    res.dataset["annotations"] = []
    res.createIndex()
    return res


def _per_class(precision: np.ndarray, categories: list[dict]) -> dict[str, float]:
    """AP per category from COCOeval's precision array [T, R, K, A, M] (area all, max dets 100).

    The category axis follows the sorted category ids, as in COCOeval.params.catIds.
    """
    out = {}
    for k, cat in enumerate(categories):
        p = precision[:, :, k, 0, -1]
        p = p[p > -1]
        out[str(cat["name"])] = float(np.mean(p)) if p.size else -1.0
    return out


def _silent(*args, **kwargs) -> None:
    return None
