"""Do the 95 % bootstrap intervals hold 95 %? Coverage where the truth is known, and their cost.

Coverage: draw many test sets from a population whose metric is known, make the interval of each
test set as a run would (``core.stats`` with the task's resample function) and count how often it
holds the population value.

* accuracy: each image right with probability 0.8 (the truth), n test images;
* COCO mAP: a population of synthetic detection images (ground truth and noisy detections, as in
  ``tests/detect/test_coco_eval.py``), its mAP by COCOeval over all of them; test sets of n images
  drawn without replacement; percentile and basic (reflected) intervals side by side.

Cost: seconds to make the intervals of one evaluation (classification 1,000 resamples; COCO 200).

    python benchmarks/bench_intervals.py [--trials 400] [--coco-trials 150]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from transferkit.core.stats import METHODS, bootstrap_intervals
from transferkit.tasks.classify.stats import classification_resample
from transferkit.tasks.common.coco_bootstrap import RESAMPLES as COCO_RESAMPLES
from transferkit.tasks.common.coco_bootstrap import coco_resample
from transferkit.tasks.common.coco_eval import evaluate_coco


def accuracy_coverage(n: int, trials: int, truth: float = 0.8) -> tuple[float, float]:
    rng = np.random.default_rng(n)
    hits, widths = 0, []
    for seed in range(trials):
        correct = (rng.random(n) < truth).astype(float)
        lo, hi = bootstrap_intervals(
            lambda w, c=correct: {"a": (w @ c) / w.sum(axis=1)}, n, seed=seed
        )["a"]
        hits += lo <= truth <= hi
        widths.append(hi - lo)
    return hits / trials, float(np.mean(widths))


def population(images: int, seed: int = 0):
    """Synthetic detection images: 0-5 objects of 3 classes, 85 % found with jitter, 0-3 false
    positives, scores uniform (detections of found objects score higher on average)."""
    rng = np.random.default_rng(seed)
    imgs, anns, res = [], [], []
    for i in range(1, images + 1):
        imgs.append({"id": i, "width": 320, "height": 240})
        for _ in range(int(rng.integers(0, 6))):
            w, h = rng.uniform(8, 150, 2)
            x, y = rng.uniform(0, 320 - w), rng.uniform(0, 240 - h)
            cat = int(rng.integers(1, 4))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": float(w * h),
                    "iscrowd": 0,
                }
            )
            if rng.random() < 0.85:
                jx, jy, jw, jh = rng.normal(0, 0.1 * min(w, h), 4)
                res.append(
                    {
                        "image_id": i,
                        "category_id": cat,
                        "score": float(rng.uniform(0.3, 1)),
                        "bbox": [x + jx, y + jy, max(1.0, w + jw), max(1.0, h + jh)],
                    }
                )
        for _ in range(int(rng.integers(0, 4))):
            x, y, w, h = rng.uniform(0, 150, 4) + [0, 0, 4, 4]
            res.append(
                {
                    "image_id": i,
                    "category_id": int(rng.integers(1, 4)),
                    "score": float(rng.uniform(0, 0.8)),
                    "bbox": [x, y, w, h],
                }
            )
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2, 3)]
    return {"images": imgs, "annotations": anns, "categories": cats}, res


def subset(gt, results, ids):
    keep = set(ids)
    return (
        {
            **gt,
            "images": [g for g in gt["images"] if g["id"] in keep],
            "annotations": [a for a in gt["annotations"] if a["image_id"] in keep],
        },
        [r for r in results if r["image_id"] in keep],
    )


def coco_coverage(n: int, trials: int, pop: int = 3000) -> tuple[float, dict, float]:
    """Population mAP, coverage of the percentile and basic intervals, mean sample mAP."""
    gt, results = population(pop)
    truth = evaluate_coco(gt, results, "bbox", backend="pycocotools")["map"]
    rng = np.random.default_rng(1)
    hits, estimates = dict.fromkeys(METHODS, 0), []
    for seed in range(trials):
        ids = rng.choice(pop, n, replace=False) + 1
        resample = coco_resample(*subset(gt, results, ids))
        estimates.append(resample(np.ones((1, n)))["map"][0])
        for method in METHODS:
            lo, hi = bootstrap_intervals(resample, n, COCO_RESAMPLES, seed, method=method)["map"]
            hits[method] += lo <= truth <= hi
    return truth, {m: h / trials for m, h in hits.items()}, float(np.mean(estimates))


def costs() -> None:
    rng = np.random.default_rng(0)
    n, c = 10_000, 10
    target, pred = rng.integers(0, c, n), rng.integers(0, c, n)
    start = time.perf_counter()
    bootstrap_intervals(classification_resample(target, pred, c), n)
    print(f"cost: classification, {n} images, 1000 resamples: {time.perf_counter() - start:.2f} s")
    gt, results = population(100)
    start = time.perf_counter()
    bootstrap_intervals(coco_resample(gt, results), 100, COCO_RESAMPLES)
    print(
        f"cost: COCO mAP, 100 images, {len(results)} detections, {COCO_RESAMPLES} resamples: "
        f"{time.perf_counter() - start:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--coco-trials", dest="coco_trials", type=int, default=150)
    args = parser.parse_args()
    for n in (50, 250, 1000):
        cov, width = accuracy_coverage(n, args.trials)
        print(
            f"accuracy 0.8, n={n}: coverage {cov:.3f} over {args.trials} test sets, "
            f"mean width {width:.3f}"
        )
    for n in (50, 200):
        truth, cov, mean = coco_coverage(n, args.coco_trials)
        print(
            f"COCO mAP {truth:.3f}, n={n}: mean test-set mAP {mean:.3f}; coverage over "
            f"{args.coco_trials} test sets: percentile {cov['percentile']:.3f}, "
            f"basic {cov['basic']:.3f}"
        )
    costs()


if __name__ == "__main__":
    main()
