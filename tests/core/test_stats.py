"""Bootstrap intervals, the paired bootstrap and McNemar's test (``core.stats``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from transferkit.core import stats


def _mean_of(values):
    values = np.asarray(values, dtype=np.float64)
    return lambda w: {"mean": (w @ values) / w.sum(axis=1)}


def test_weights_count_draws_of_every_image():
    chunks = list(stats.bootstrap_weights(7, resamples=50, seed=3))
    w = np.concatenate(chunks)
    assert w.shape == (50, 7)
    assert np.all(w.sum(axis=1) == 7)
    again = np.concatenate(list(stats.bootstrap_weights(7, resamples=50, seed=3)))
    assert np.array_equal(w, again)  # seeded
    # Each image is drawn Binomial(7, 1/7) times: mean 1 over many resamples.
    big = np.concatenate(list(stats.bootstrap_weights(7, resamples=4000, seed=0)))
    assert abs(big.mean() - 1.0) < 0.02


def test_interval_coverage_of_a_known_accuracy():
    """Over many test sets drawn from a classifier of known accuracy 0.8, about 95 % of the
    intervals contain 0.8 (percentile bootstrap, n = 200 images)."""
    truth, n, trials = 0.8, 200, 400
    rng = np.random.default_rng(12345)
    hits = 0
    for seed in range(trials):
        correct = rng.random(n) < truth
        lo, hi = stats.bootstrap_intervals(_mean_of(correct), n, resamples=400, seed=seed)["mean"]
        hits += lo <= truth <= hi
    coverage = hits / trials
    # Binomial sd of the coverage at 400 trials is about 1.1 points; the percentile bootstrap
    # of a proportion runs a little below nominal at n = 200.
    assert 0.91 <= coverage <= 0.98, coverage


def test_interval_width_matches_the_binomial_formula():
    n = 400
    correct = np.zeros(n)
    correct[:300] = 1  # accuracy 0.75
    lo, hi = stats.bootstrap_intervals(_mean_of(correct), n, resamples=2000, seed=1)["mean"]
    half = 1.96 * math.sqrt(0.75 * 0.25 / n)  # 0.0424
    assert lo == pytest.approx(0.75 - half, abs=0.008)
    assert hi == pytest.approx(0.75 + half, abs=0.008)


def test_undefined_resamples_are_left_out():
    assert stats.percentile_interval(np.array([np.nan, np.nan])) is None
    assert stats.percentile_interval(np.array([np.nan, 1.0, 1.0])) == [1.0, 1.0]


def test_mcnemar_against_hand_computed_values():
    # a right and b wrong on 9 images, the reverse on 1; 90 images agree.
    a = np.array([1] * 9 + [0] * 1 + [1] * 50 + [0] * 40, dtype=bool)
    b = np.array([0] * 9 + [1] * 1 + [1] * 50 + [0] * 40, dtype=bool)
    r = stats.mcnemar(a, b)
    assert (r["a_only"], r["b_only"]) == (9, 1)
    # exact: 2 * P(X <= 1), X ~ Bin(10, 1/2) = 2 * 11 / 1024; mid-p subtracts P(X = 1) = 10/1024
    assert r["p_exact"] == pytest.approx(22 / 1024)
    assert r["p_mid"] == pytest.approx(12 / 1024)
    assert stats.mcnemar(b, a)["p_mid"] == pytest.approx(12 / 1024)  # symmetric


def test_mcnemar_balanced_and_no_discordant_pairs():
    a = np.array([1, 0, 1, 0, 1, 1], dtype=bool)
    b = np.array([0, 1, 0, 1, 1, 1], dtype=bool)  # 2 vs 2
    assert stats.mcnemar(a, b)["p_exact"] == 1.0
    assert stats.mcnemar(a, b)["p_mid"] == pytest.approx(1.0)
    assert stats.mcnemar(a, a) == {"a_only": 0, "b_only": 0, "p_exact": 1.0, "p_mid": 1.0}
    with pytest.raises(ValueError, match="differ in length"):
        stats.mcnemar(a, a[:3])


def test_paired_bootstrap_of_an_accuracy_difference():
    """Difference (n10 - n01) / n; its bootstrap sd is sqrt((p10 + p01 - d^2) / n) by hand."""
    n, n10, n01 = 500, 40, 15
    a = np.ones(n)
    b = np.ones(n)
    b[:n10] = 0
    a[n10 : n10 + n01] = 0
    r = stats.paired_bootstrap(_mean_of(a), _mean_of(b), n, resamples=4000, seed=2)["mean"]
    d = (n10 - n01) / n  # 0.05
    sd = math.sqrt((n10 / n + n01 / n - d**2) / n)  # 0.0103
    assert r["difference"] == pytest.approx(d)
    assert r["ci"][0] == pytest.approx(d - 1.96 * sd, abs=0.003)
    assert r["ci"][1] == pytest.approx(d + 1.96 * sd, abs=0.003)
    assert r["p_value"] < 0.01  # z = 4.9


def test_paired_bootstrap_identical_and_opposite_models():
    x = np.array([1, 0, 1, 1, 0, 1, 0, 1], dtype=float)
    same = stats.paired_bootstrap(_mean_of(x), _mean_of(x), len(x), resamples=200)["mean"]
    assert same["difference"] == 0 and same["ci"] == [0.0, 0.0] and same["p_value"] == 1.0
    ones, zeros = np.ones(30), np.zeros(30)
    far = stats.paired_bootstrap(_mean_of(ones), _mean_of(zeros), 30, resamples=199)["mean"]
    assert far["difference"] == 1.0
    assert far["p_value"] == pytest.approx(2 / 200)  # the smallest p with 199 resamples


def test_paired_is_narrower_than_unpaired_when_models_agree():
    """Two models right on mostly the same images: pairing removes the shared variation."""
    rng = np.random.default_rng(0)
    n = 300
    a = (rng.random(n) < 0.8).astype(float)
    b = a.copy()
    flip = rng.choice(n, 12, replace=False)
    b[flip] = 1 - b[flip]
    paired = stats.paired_bootstrap(_mean_of(a), _mean_of(b), n, resamples=1000)["mean"]["ci"]
    ia = stats.bootstrap_intervals(_mean_of(a), n, 1000, seed=0)["mean"]
    assert paired[1] - paired[0] < 0.5 * (ia[1] - ia[0])


def test_mean_sd():
    assert stats.mean_sd([0.7, 0.8, 0.9]) == pytest.approx((0.8, 0.1))
    assert stats.mean_sd([0.5]) == (0.5, 0.0)


def test_holm_against_hand_computed_values():
    # sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert stats.holm([]) == []


def test_basic_interval_reflects_the_percentile_one_about_the_value():
    n = 40
    x = np.array([1.0] * 30 + [0.0] * 10)  # 0.75
    pct = stats.bootstrap_intervals(_mean_of(x), n, 500, seed=5)["mean"]
    basic = stats.bootstrap_intervals(_mean_of(x), n, 500, seed=5, method="basic")["mean"]
    assert basic == pytest.approx([1.5 - pct[1], 1.5 - pct[0]])
    with pytest.raises(ValueError, match="method"):
        stats.bootstrap_intervals(_mean_of(x), n, 10, method="bca")
