"""COCO mAP under image resampling (``core.stats``), without re-running COCOeval per resample.

COCOeval works in two steps: ``evaluate`` matches each image's detections to its ground truth
(per image, per category, per IoU threshold), and ``accumulate`` pools those matches over the
images into precision/recall curves. A bootstrap resample changes only how often each image
counts, not its matches, so the matching runs once (pycocotools' ``evaluateImg`` results) and each
resample re-accumulates with every detection and ground-truth box weighted by its image's count.
That is the same number as COCOeval on a data set where each drawn image appears that many times
(tested against it), at the cost of a few array operations per resample.

Covered: ``map``, ``map_50`` and ``map_75`` (all areas, 100 detections per image, the COCO
defaults); the size-range and recall keys get no interval.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np

from transferkit.core.stats import Resample
from transferkit.tasks.common.coco_eval import check_results, empty_results, prepare_ground_truth

RESAMPLES = 200  # fewer than classification's 1000: each resample re-accumulates every category
# The mAP of a small test set is biased upward (the precision envelope of a noisy curve), and its
# resamples more so: percentile intervals covered the population mAP 80-81 % of the time, the
# basic (reflected) bootstrap 88-93 % (benchmarks/bench_intervals.py, docs/benchmarks.md).
INTERVAL = "basic"
_ROW_CELLS = 4_000_000  # (resamples x IoU thresholds x detections) cells held at a time


def coco_resample(
    gt: dict[str, Any], results: list[dict[str, Any]], iou_type: str = "bbox", prefix: str = ""
) -> Resample:
    """The resample function of ``map``, ``map_50``, ``map_75`` (keys after ``prefix``);
    weight columns follow the order of ``gt["images"]``."""
    gt = prepare_ground_truth(gt)
    results = check_results(results, gt)
    column = {img["id"]: j for j, img in enumerate(gt["images"])}
    per_category, iou_thrs, rec_thrs = _matches(gt, results, iou_type, column)

    def resample(weights: np.ndarray) -> dict[str, np.ndarray]:
        ap = np.stack(
            [_average_precision(weights, cat, rec_thrs) for cat in per_category], axis=2
        )  # (B, T, K), NaN where a category has no ground truth in the resample
        with np.errstate(invalid="ignore"):
            return {
                prefix + "map": _nanmean(ap.reshape(len(weights), -1)),
                prefix + "map_50": _nanmean(ap[:, _index(iou_thrs, 0.5)]),
                prefix + "map_75": _nanmean(ap[:, _index(iou_thrs, 0.75)]),
            }

    return resample


def _matches(gt, results, iou_type, column):
    """Per category: detection scores, their image columns, TP / FP flags per IoU threshold
    (T, D) and the count of non-ignored ground truth per image, from one COCOeval.evaluate."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results) if results else empty_results(coco_gt)
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        ev.evaluate()
    p = ev.params
    n_img, n_area, max_det = len(p.imgIds), len(p.areaRng), p.maxDets[-1]
    out = []
    for k in range(len(p.catIds)):
        # Area range 0 is "all"; evalImgs runs category-major, then area range, then image.
        evals = [
            (column[img_id], ev.evalImgs[k * n_area * n_img + i])
            for i, img_id in enumerate(p.imgIds)
        ]
        evals = [(j, e) for j, e in evals if e is not None]
        gt_count = np.zeros(len(column))
        for j, e in evals:
            gt_count[j] += np.count_nonzero(np.asarray(e["gtIgnore"]) == 0)
        scores = np.concatenate([np.asarray(e["dtScores"][:max_det]) for _, e in evals] or [[]])
        images = np.concatenate(
            [np.full(len(e["dtScores"][:max_det]), j) for j, e in evals] or [[]]
        ).astype(np.int64)
        t = len(p.iouThrs)
        dtm = np.concatenate(
            [e["dtMatches"][:, :max_det] for _, e in evals] or [np.zeros((t, 0))], axis=1
        )
        dtig = np.concatenate(
            [e["dtIgnore"][:, :max_det] for _, e in evals] or [np.zeros((t, 0))], axis=1
        )
        order = np.argsort(-scores, kind="mergesort")  # COCOeval's order
        dtm, dtig = dtm[:, order].astype(bool), dtig[:, order].astype(bool)
        out.append({"images": images[order], "tp": dtm & ~dtig, "fp": ~dtm & ~dtig, "gt": gt_count})
    return out, np.asarray(p.iouThrs), np.asarray(p.recThrs)


def _average_precision(weights: np.ndarray, cat: dict, rec_thrs: np.ndarray) -> np.ndarray:
    """AP per resample and IoU threshold (B, T) of one category, as COCOeval.accumulate: the
    precision envelope read at 101 recall levels and averaged."""
    b, (t, d) = len(weights), cat["tp"].shape
    npig = weights @ cat["gt"]  # non-ignored ground truth per resample
    ap = np.full((b, t), np.nan)
    ap[npig > 0] = 0.0
    if d == 0:
        return ap
    step = max(1, _ROW_CELLS // (t * d))
    for s in range(0, b, step):
        w = weights[s : s + step, cat["images"]][:, None, :]  # (b', 1, D)
        tp, fp = np.cumsum(w * cat["tp"], axis=2), np.cumsum(w * cat["fp"], axis=2)
        rc = tp / np.maximum(npig[s : s + step], 1)[:, None, None]
        pr = tp / (fp + tp + np.spacing(1))
        pr = np.maximum.accumulate(pr[..., ::-1], axis=2)[..., ::-1]  # precision envelope
        for i in range(len(rc)):
            if npig[s + i] == 0:
                continue
            for j in range(t):
                idx = np.searchsorted(rc[i, j], rec_thrs, side="left")
                q = pr[i, j][np.minimum(idx, d - 1)] * (idx < d)
                ap[s + i, j] = q.mean()
    return ap


def _index(thresholds: np.ndarray, value: float) -> int:
    return int(np.argmin(np.abs(thresholds - value)))


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Mean over the last axes' defined entries, NaN (not a warning) where none is."""
    flat = values.reshape(len(values), -1)
    seen = np.isfinite(flat).sum(axis=1)
    return np.where(seen > 0, np.nansum(flat, axis=1) / np.maximum(seen, 1), np.nan)
