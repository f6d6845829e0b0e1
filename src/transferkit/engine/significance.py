"""Which of several classification runs on the same test images differ beyond chance.

Every pair of runs is tested *paired*, image by image: McNemar's mid-p test on the images one run
classifies right and the other wrong (the accuracy difference), and a paired bootstrap of the
accuracy and macro-F1 differences (``core.stats``). Comparing k runs makes k(k-1)/2 tests, so the
McNemar p-values are Holm-adjusted before anything is called "better": a run is better than
another only when its accuracy is higher with adjusted p < 0.05. Pairs whose test images differ
(another split seed, other data) are not tested.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from transferkit.core.stats import ALPHA, holm, mcnemar, paired_bootstrap
from transferkit.tasks.classify.stats import classification_resample


def outcomes(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """Per-image targets and predictions of a run's evaluated split (metrics.json), or None."""
    split = metrics.get(metrics.get("evaluated_split") or "val") or {}
    per_image = split.get("per_image")
    if not per_image:
        return None
    target, pred = np.asarray(per_image["target"]), np.asarray(per_image["pred"])
    classes = len(split.get("per_class") or {}) or int(max(target.max(), pred.max())) + 1
    return {"target": target, "pred": pred, "classes": classes}


def paired_test(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """McNemar and the paired bootstrap of run ``a`` against ``b`` (``outcomes``); None when
    they were not scored on the same images."""
    if a["target"].shape != b["target"].shape or not np.array_equal(a["target"], b["target"]):
        return None
    c = max(a["classes"], b["classes"])
    boot = paired_bootstrap(
        classification_resample(a["target"], a["pred"], c),
        classification_resample(b["target"], b["pred"], c),
        len(a["target"]),
    )
    return {
        "images": len(a["target"]),
        "mcnemar": mcnemar(a["pred"] == a["target"], b["pred"] == b["target"]),
        "accuracy": boot["accuracy"],
        "macro_f1": boot["macro_f1"],
    }


def compare_runs(labels: list[str], metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every pair of runs (``labels[i]`` with ``metrics[i]``), tested; ``p_holm`` is the
    Holm-adjusted McNemar mid-p over the tested pairs, ``better`` the label of the run that is
    more accurate at adjusted p < 0.05 (None: no difference shown)."""
    data = [outcomes(m) for m in metrics]
    pairs = []
    for i, j in combinations(range(len(labels)), 2):
        tested = paired_test(data[i], data[j]) if data[i] and data[j] else None
        pairs.append({"a": labels[i], "b": labels[j], "test": tested})
    tested = [p for p in pairs if p["test"]]
    for pair, p in zip(tested, holm([p["test"]["mcnemar"]["p_mid"] for p in tested]), strict=True):
        pair["p_holm"] = p
        diff = pair["test"]["accuracy"]["difference"]
        pair["better"] = (pair["a"] if diff > 0 else pair["b"]) if p < ALPHA and diff else None
    return pairs


def better_than(label: str, pairs: list[dict[str, Any]]) -> list[str]:
    """The runs ``label`` beats at p < 0.05 (Holm-adjusted McNemar)."""
    return [p["b"] if p["a"] == label else p["a"] for p in pairs if p.get("better") == label]


def verdict(labels: list[str], accuracy: list[float | None], pairs: list[dict[str, Any]]) -> str:
    """One sentence on what the data shows: a winner only when it beats every other run."""
    if len(labels) < 2:
        return "one run: nothing to compare"
    if not any(p["test"] for p in pairs):
        return "no paired test was possible (the runs were not scored on the same images)"
    scored = [(a, lab) for a, lab in zip(accuracy, labels, strict=True) if a is not None]
    top = max(scored)[1]
    beaten = better_than(top, pairs)
    others = [lab for lab in labels if lab != top]
    if others and len(beaten) == len(others):
        return f"{top} is more accurate than every other run at p < 0.05 (paired, Holm-adjusted)"
    tied = [lab for lab in others if lab not in beaten]
    return (
        f"highest accuracy: {top}, but {', '.join(tied)} within chance of it at p < 0.05 "
        "(paired, Holm-adjusted): no winner is shown"
    )
