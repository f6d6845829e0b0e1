"""Our COCO numbers against pycocotools run directly on the same ground truth and predictions."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from transferkit.tasks.common.coco_eval import STAT_KEYS, evaluate_coco


def _random_case(seed: int):
    """Ground truth with crowd regions and varied sizes; noisy predictions with false positives."""
    rng = np.random.default_rng(seed)
    images = [{"id": i, "width": 320, "height": 240, "file_name": f"{i}.jpg"} for i in range(1, 31)]
    cats = [{"id": c, "name": f"class{c}"} for c in (2, 5, 9)]
    anns, results = [], []
    for img in images:
        for _ in range(int(rng.integers(0, 6))):
            w, h = rng.uniform(4, 200, 2)
            x, y = rng.uniform(0, 320 - w), rng.uniform(0, 240 - h)
            cat = int(rng.choice([2, 5, 9]))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img["id"],
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": float(w * h),
                    "iscrowd": int(rng.random() < 0.08),
                }
            )
            if rng.random() < 0.85:
                jx, jy, jw, jh = rng.normal(0, 0.08 * min(w, h), 4)
                results.append(
                    {
                        "image_id": img["id"],
                        "category_id": cat if rng.random() < 0.85 else 5,
                        "bbox": [x + jx, y + jy, max(1.0, w + jw), max(1.0, h + jh)],
                        "score": float(rng.random()),
                    }
                )
        for _ in range(int(rng.integers(0, 4))):  # pure false positives
            x, y, w, h = rng.uniform(0, 150, 4) + [0, 0, 2, 2]
            results.append(
                {
                    "image_id": img["id"],
                    "category_id": int(rng.choice([2, 5, 9])),
                    "bbox": [x, y, w, h],
                    "score": float(rng.random()),
                }
            )
    return {"images": images, "annotations": anns, "categories": cats}, results


def _pycocotools(gt, results):
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_equals_pycocotools(seed):
    gt, results = _random_case(seed)
    ours = evaluate_coco(gt, results, "bbox")
    ref = _pycocotools(gt, results)
    for key, value in zip(STAT_KEYS, ref.stats, strict=True):
        assert ours[key] == pytest.approx(value, abs=1e-6), key
    assert 0.05 < ours["map"] < 0.95  # a case where every number matters
    # Per-class AP: pycocotools' precision array for area "all", 100 detections.
    for k, cat in enumerate(sorted(gt["categories"], key=lambda c: c["id"])):
        p = ref.eval["precision"][:, :, k, 0, -1]
        assert ours["map_per_class"][cat["name"]] == pytest.approx(np.mean(p[p > -1]), abs=1e-6)


def test_both_backends_agree_and_inputs_untouched():
    gt, results = _random_case(3)
    gt_copy, res_copy = copy.deepcopy(gt), copy.deepcopy(results)
    fast = evaluate_coco(gt, results, backend="faster_coco_eval")
    ref = evaluate_coco(gt, results, backend="pycocotools")
    assert gt == gt_copy and results == res_copy
    for key in STAT_KEYS:
        assert fast[key] == pytest.approx(ref[key], abs=1e-6)


def test_perfect_and_empty_predictions():
    gt, _ = _random_case(4)
    perfect = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 1.0,
        }
        for a in gt["annotations"]
        if not a["iscrowd"]
    ]
    assert evaluate_coco(gt, perfect)["map"] == pytest.approx(1.0)
    empty = evaluate_coco(gt, [])
    assert empty["map"] == 0.0 and empty["mar_100"] == 0.0


def test_prefix_for_mask_keys_and_missing_area_filled():
    gt, results = _random_case(5)
    for a in gt["annotations"]:
        del a["area"]  # many exporters omit it; the box area is what they mean
    out = evaluate_coco(gt, results, prefix="mask_")
    assert set(out) == {"mask_" + k for k in STAT_KEYS} | {"mask_map_per_class"}


def test_results_for_unknown_image_or_category_are_refused():
    gt, _ = _random_case(6)
    with pytest.raises(ValueError, match="image_id 999"):
        evaluate_coco(gt, [{"image_id": 999, "category_id": 2, "bbox": [0, 0, 1, 1], "score": 1}])
    with pytest.raises(ValueError, match="category_id 7"):
        evaluate_coco(gt, [{"image_id": 1, "category_id": 7, "bbox": [0, 0, 1, 1], "score": 1}])
