"""How sure a metric is: seeded bootstrap intervals over images, paired tests between two models.

Pure numpy (scipy for the binomial tail), no task knowledge. A *resample function* turns a matrix
of bootstrap weights ``W`` of shape ``(B, N)`` -- how many times each of the ``N`` test images is
drawn in each of ``B`` resamples -- into ``{metric: values of shape (B,)}``. Each task writes one
for its metrics (accuracy from per-image correctness, mIoU from per-image confusion matrices, COCO
mAP from per-image matches); everything here works on any of them. Weights instead of index lists
let an additive statistic be one matrix product, ``W @ per_image``, for all resamples at once.

Two models scored on the same images are compared *paired*: the same weights resample both, so the
spread of the difference leaves out the variation the two share (which images are easy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

RESAMPLES = 1000  # bootstrap resamples behind every interval and paired test
LEVEL = 0.95
SEED = 0
ALPHA = 0.05  # the significance level of "better than X"
_CHUNK_CELLS = 2_000_000  # weights are made this many cells (resamples x images) at a time

Resample = Callable[[np.ndarray], dict[str, np.ndarray]]


def bootstrap_weights(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> Iterator[np.ndarray]:
    """Chunks of the ``(resamples, n)`` count matrix of a seeded bootstrap: each row draws ``n``
    images with replacement, and counts how often each was drawn (rows sum to ``n``)."""
    if n < 1 or resamples < 1:
        raise ValueError(f"need at least one image and one resample, got n={n}, B={resamples}")
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // n)
    for start in range(0, resamples, chunk):
        b = min(chunk, resamples - start)
        idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)


def bootstrap(
    resample: Resample, n: int, resamples: int = RESAMPLES, seed: int = SEED
) -> dict[str, np.ndarray]:
    """``{metric: (resamples,) values}``: ``resample`` applied to seeded bootstrap weights."""
    parts: dict[str, list[np.ndarray]] = {}
    for weights in bootstrap_weights(n, resamples, seed):
        for key, values in resample(weights).items():
            parts.setdefault(key, []).append(np.asarray(values, dtype=np.float64))
    return {key: np.concatenate(v) for key, v in parts.items()}


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> list[float] | None:
    """The central ``level`` percentile interval of ``samples`` (NaN resamples, where the metric
    is undefined, left out); None when none is defined."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return None
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return [float(lo), float(hi)]


METHODS = ("percentile", "basic")


def bootstrap_intervals(
    resample: Resample,
    n: int,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
    method: str = "percentile",
) -> dict[str, list[float] | None]:
    """``{metric: [low, high]}``: the bootstrap interval of each metric.

    ``percentile`` takes the resamples' central quantiles. ``basic`` reflects them about the
    value on all images, ``[2 v - q_high, 2 v - q_low]``: for a metric whose small-sample value
    is biased (COCO mAP runs high on few images, and higher still on resamples of them) it moves
    the interval back instead of further out (``benchmarks/bench_intervals.py``).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    samples = bootstrap(resample, n, resamples, seed)
    out = {k: percentile_interval(v, level) for k, v in samples.items()}
    if method == "basic":
        point = resample(np.ones((1, n)))
        for k, ci in out.items():
            v = float(np.asarray(point[k])[0])
            out[k] = None if ci is None or not np.isfinite(v) else [2 * v - ci[1], 2 * v - ci[0]]
    return out


def interval_settings(
    resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL, method: str = "percentile"
) -> dict:
    """How the intervals were made, recorded beside them."""
    return {
        "method": f"{method} bootstrap over images",
        "level": level,
        "resamples": resamples,
        "seed": seed,
    }


def paired_bootstrap(
    resample_a: Resample,
    resample_b: Resample,
    n: int,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> dict[str, dict[str, Any]]:
    """Per metric both models have: ``difference`` (a - b on all images), its interval ``ci``
    and the two-sided bootstrap ``p_value`` of "no difference".

    The same weights resample both models. The p-value is twice the smaller share of resampled
    differences on either side of 0 (each share counted as ``(1 + k) / (1 + B)``, so it is never 0).
    """
    a, b = bootstrap(resample_a, n, resamples, seed), bootstrap(resample_b, n, resamples, seed)
    ones = np.ones((1, n))
    point_a, point_b = resample_a(ones), resample_b(ones)
    out = {}
    for key in a.keys() & b.keys():
        diff = a[key] - b[key]
        diff = diff[np.isfinite(diff)]
        below = (1 + np.count_nonzero(diff <= 0)) / (1 + diff.size)
        above = (1 + np.count_nonzero(diff >= 0)) / (1 + diff.size)
        out[key] = {
            "difference": float(np.asarray(point_a[key])[0] - np.asarray(point_b[key])[0]),
            "ci": percentile_interval(diff, level),
            "p_value": float(min(1.0, 2 * min(below, above))),
        }
    return out


def mcnemar(correct_a, correct_b) -> dict[str, Any]:
    """McNemar's test of two classifiers on the same images, from per-image correctness.

    Only the discordant images count: ``a_only`` (a right, b wrong) and ``b_only``. Under "equal
    accuracy" each is Binomial(a_only + b_only, 1/2). ``p_exact`` is the two-sided exact
    binomial test; ``p_mid`` the mid-p version (the exact p minus the probability of the
    observed count), whose false-positive rate stays close to the nominal level where the exact
    test is conservative (Fagerland, Lydersen and Laake, 2013).
    """
    from scipy.stats import binom

    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"correctness vectors differ in length: {a.shape} vs {b.shape}")
    n10, n01 = int(np.count_nonzero(a & ~b)), int(np.count_nonzero(~a & b))
    total, low = n10 + n01, min(n10, n01)
    if total == 0:
        return {"a_only": 0, "b_only": 0, "p_exact": 1.0, "p_mid": 1.0}
    tail = float(binom.cdf(low, total, 0.5))
    exact = min(1.0, 2 * tail)
    mid = min(1.0, 2 * tail - float(binom.pmf(low, total, 0.5)))
    return {"a_only": n10, "b_only": n01, "p_exact": exact, "p_mid": mid}


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; 0 for a single value)."""
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def summary_of(metrics, level: float = LEVEL, seed: int = SEED) -> dict[str, Any]:
    """What a task's metric accumulator adds to its final numbers: ``ci`` (an interval per
    headline metric) and ``per_image`` outcomes where the task keeps them (classification).

    ``metrics`` offers ``num_images`` and ``resample(weights)``, optionally ``resamples`` (its
    bootstrap count), ``interval_method`` (``percentile`` unless it says) and ``per_image()``; an
    accumulator without them, or without images, adds nothing.
    """
    n = getattr(metrics, "num_images", 0)
    if not n or not hasattr(metrics, "resample"):
        return {}
    resamples = getattr(metrics, "resamples", RESAMPLES)
    method = getattr(metrics, "interval_method", "percentile")
    out: dict[str, Any] = {
        "ci": bootstrap_intervals(metrics.resample, n, resamples, seed, level, method),
        "ci_settings": interval_settings(resamples, seed, level, method),
    }
    if hasattr(metrics, "per_image"):
        out["per_image"] = metrics.per_image()
    return out


def holm(p_values) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (same order): with several pairs compared at
    once, "p < 0.05" on the adjusted values keeps the chance of any false "better" below 5 %."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out.tolist()
