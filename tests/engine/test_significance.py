"""Paired tests between classification runs on the same images (``engine.significance``)."""

from __future__ import annotations

import pytest

from transferkit.engine.significance import better_than, compare_runs, verdict


def _metrics(target, pred, split="test"):
    per_class = {f"c{i}": {} for i in range(3)}
    return {
        "evaluated_split": split,
        split: {"per_image": {"target": target, "pred": pred}, "per_class": per_class},
    }


TARGET = [0, 1, 2] * 20  # 60 images


def test_a_clearly_better_run_is_named_and_a_close_one_is_not():
    strong = _metrics(TARGET, TARGET)  # all right
    weak = _metrics(TARGET, [0] * 60)  # right on 20 images
    close = _metrics(TARGET, TARGET[:57] + [0, 0, 0])  # 2 wrong (one of the last three is a 0)
    pairs = compare_runs(["strong", "weak", "close"], [strong, weak, close])
    by_pair = {(p["a"], p["b"]): p for p in pairs}
    sw = by_pair[("strong", "weak")]
    # 40 images strong-only, 0 weak-only: mid-p = 2 * 2^-40 - 2^-40, far below 0.05
    assert sw["test"]["mcnemar"]["a_only"] == 40 and sw["test"]["mcnemar"]["b_only"] == 0
    assert sw["test"]["accuracy"]["difference"] == pytest.approx(40 / 60)
    assert sw["better"] == "strong"
    sc = by_pair[("strong", "close")]
    # 2 discordant images: mid-p = 2 * 0.25 - 0.25 = 0.25; Holm can only raise it
    assert sc["test"]["mcnemar"]["p_mid"] == pytest.approx(0.25)
    assert sc["better"] is None and sc["p_holm"] >= 0.25
    assert sorted(better_than("strong", pairs)) == ["weak"]
    assert better_than("weak", pairs) == []
    text = verdict(["strong", "weak", "close"], [1.0, 1 / 3, 58 / 60], pairs)
    assert "within chance" in text and "close" in text and "no winner" in text


def test_a_winner_is_named_only_when_it_beats_every_other_run():
    strong = _metrics(TARGET, TARGET)
    weak = _metrics(TARGET, [0] * 60)
    pairs = compare_runs(["strong", "weak"], [strong, weak])
    assert verdict(["strong", "weak"], [1.0, 1 / 3], pairs).startswith(
        "strong is more accurate than every other run at p < 0.05"
    )


def test_runs_on_different_images_are_not_tested():
    a = _metrics(TARGET, TARGET)
    b = _metrics(TARGET[::-1], TARGET)  # another split: other targets
    c = {"evaluated_split": "val", "val": {}}  # no per-image outcomes (an old run)
    pairs = compare_runs(["a", "b", "c"], [a, b, c])
    assert all(p["test"] is None for p in pairs)
    assert "no paired test" in verdict(["a", "b", "c"], [1.0, 0.3, 0.5], pairs)
