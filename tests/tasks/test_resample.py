"""Each task's bootstrap statistic: with every image drawn once it is the task's own metric, and
a resample is the metric of the data set in which each image appears as often as it was drawn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.detect.test_coco_eval import _random_case
from transferkit.core.stats import summary_of
from transferkit.tasks.classify.task import ClassificationMetrics
from transferkit.tasks.common.coco_bootstrap import coco_resample
from transferkit.tasks.common.coco_eval import evaluate_coco
from transferkit.tasks.segment.metrics import SemanticMetrics


def _classification(n=60, c=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g)
    target = torch.randint(0, c, (n,), generator=g)
    logits[torch.arange(n // 2), target[: n // 2]] += 3  # half right for sure
    m = ClassificationMetrics([f"c{i}" for i in range(c)])
    m.update(logits, (None, target))
    return m, logits, target


def test_classification_all_ones_is_torchmetrics():
    m, _, _ = _classification()
    full = m.compute()
    r = m.resample(np.ones((1, m.num_images)))
    for key in ("accuracy", "macro_f1", "top5_accuracy"):
        assert r[key][0] == pytest.approx(full[key], abs=1e-6), key


def test_classification_resample_is_the_duplicated_data_set():
    m, logits, target = _classification(n=40, seed=1)
    draws = np.array([0, 0, 0, 5, 7, 7, 11, 20, 33, 39, 2, 2, 3])
    w = np.bincount(draws, minlength=40)[None].astype(float)
    dup = ClassificationMetrics(m.class_names)
    dup.update(logits[draws], (None, target[draws]))
    want = dup.compute()
    got = m.resample(w)
    for key in ("accuracy", "macro_f1", "top5_accuracy"):
        assert got[key][0] == pytest.approx(want[key], abs=1e-6), key


def test_classification_summary_has_intervals_and_per_image():
    m, logits, target = _classification()
    s = summary_of(m)
    assert set(s["ci"]) == {"accuracy", "macro_f1", "top5_accuracy"}
    full = m.compute()
    for key, (lo, hi) in s["ci"].items():
        assert lo <= full[key] <= hi and hi - lo > 0.05
    assert s["ci_settings"]["resamples"] == 1000 and s["ci_settings"]["level"] == 0.95
    assert s["per_image"]["target"] == target.tolist()
    assert s["per_image"]["pred"] == logits.argmax(1).tolist()
    assert summary_of(m) == s  # seeded


def _segmentation(seed=0, n=8, c=4):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, c, (n, 12, 10), generator=g)
    target[0, :3] = 255  # ignored pixels
    target[1] = 0  # an image with one class only
    preds = torch.where(torch.rand(n, 12, 10, generator=g) < 0.7, target, 1).clamp(max=c - 1)
    preds[target == 255] = 2
    return target, preds, c


def test_segmentation_resample_is_the_duplicated_data_set():
    target, preds, c = _segmentation()
    m = SemanticMetrics([f"c{i}" for i in range(c)])
    m.update_indices(preds, target)
    full = m.compute()
    ones = m.resample(np.ones((1, len(target))))
    for key in ("miou", "pixel_accuracy", "dice"):
        assert ones[key][0] == pytest.approx(full[key], abs=1e-6), key
    draws = np.array([1, 1, 1, 4, 6, 6, 0, 2])
    dup = SemanticMetrics(m.class_names)
    dup.update_indices(preds[draws], target[draws])
    w = np.bincount(draws, minlength=len(target))[None].astype(float)
    want, got = dup.compute(), m.resample(w)
    for key in ("miou", "pixel_accuracy", "dice"):
        assert got[key][0] == pytest.approx(want[key], abs=1e-6), key


def _duplicated(gt, results, draws):
    """The COCO data set in which image ``gt["images"][j]`` appears once per draw of ``j``."""
    images, anns, res = [], [], []
    for copy_id, j in enumerate(draws, start=1):
        img = gt["images"][j]
        images.append({**img, "id": copy_id})
        anns += [
            {**a, "id": len(anns) + k + 1, "image_id": copy_id}
            for k, a in enumerate(a for a in gt["annotations"] if a["image_id"] == img["id"])
        ]
        res += [{**r, "image_id": copy_id} for r in results if r["image_id"] == img["id"]]
    return {**gt, "images": images, "annotations": anns}, res


@pytest.mark.parametrize("seed", [0, 1])
def test_coco_resample_is_cocoeval_of_the_duplicated_data_set(seed):
    gt, results = _random_case(seed)
    resample = coco_resample(gt, results, "bbox")
    n = len(gt["images"])
    full = evaluate_coco(gt, results, "bbox", backend="pycocotools")
    ones = resample(np.ones((2, n)))
    for key in ("map", "map_50", "map_75"):
        assert ones[key] == pytest.approx([full[key]] * 2, abs=1e-9), key
    draws = np.random.default_rng(seed).integers(0, n, n)
    want = evaluate_coco(*_duplicated(gt, results, draws), "bbox", backend="pycocotools")
    got = resample(np.bincount(draws, minlength=n)[None].astype(float))
    for key in ("map", "map_50", "map_75"):
        # Equal-score ties may sort differently between the two; scores here are continuous.
        assert got[key][0] == pytest.approx(want[key], abs=1e-9), key


def test_coco_resample_without_ground_truth_is_undefined():
    gt = {
        "images": [{"id": 1, "width": 10, "height": 10}],
        "annotations": [],
        "categories": [{"id": 1, "name": "a"}],
    }
    out = coco_resample(gt, [], "bbox")(np.ones((3, 1)))
    assert np.isnan(out["map"]).all()
