"""Multi-label metrics against hand-computed values (scikit-learn's definitions; scikit-learn is
not installed here, so its numbers are worked out below); thresholds fitted on val are stored in
the model and are what a test pass is judged by."""

from __future__ import annotations

import pytest
import torch

from tests.tiny import TinyBackbone
from transferkit.core.config import ModelSettings
from transferkit.tasks import get_task
from transferkit.tasks.multilabel.metrics import best_f1_thresholds, multilabel_metrics
from transferkit.transfer.linear import fit_logistic, select_l2

SCORES = torch.tensor(
    [[0.9, 0.2, 0.6], [0.8, 0.7, 0.1], [0.3, 0.6, 0.8], [0.1, 0.8, 0.3], [0.6, 0.9, 0.7]]
)
TARGET = torch.tensor([[1, 0, 1], [1, 1, 0], [0, 1, 1], [0, 0, 0], [0, 1, 0]])
NAMES = ["a", "b", "c"]


def test_map_equals_sklearn_average_precision_score_on_a_hand_case():
    # sklearn's AP = sum_n (R_n - R_n-1) P_n over the distinct scores, highest first.
    # a: .9+ .8+ -> 1.  b: .9+ .8- .7+ .6+ -> (1 + 2/3 + 3/4) / 3.  c: .8+ .7- .6+ -> (1 + 2/3) / 2
    per_label = [1.0, (1 + 2 / 3 + 3 / 4) / 3, (1 + 2 / 3) / 2]
    # micro, 7 positives among 15 scores: cuts .9 (2 TP 0 FP), .8 (4, 1), .7 (5, 2), .6 (7, 3)
    micro = 2 / 7 * 1 + 2 / 7 * 4 / 5 + 1 / 7 * 5 / 7 + 2 / 7 * 7 / 10
    m = multilabel_metrics(SCORES, TARGET, NAMES, torch.full((3,), 0.5))
    assert m["map_macro"] == pytest.approx(sum(per_label) / 3)
    assert m["map_micro"] == pytest.approx(micro)
    for name, ap in zip(NAMES, per_label, strict=True):
        assert m["per_label"][name]["ap"] == pytest.approx(ap)
    assert m["per_label"]["b"]["support"] == 3


def test_thresholded_metrics_at_per_label_thresholds_by_hand():
    m = multilabel_metrics(SCORES, TARGET, NAMES, torch.tensor([0.5, 0.65, 0.75]))
    # predictions a [1 1 0 0 1], b [0 1 0 1 1], c [0 0 1 0 0]: (TP, FP, FN) = (2,1,0) (2,1,1) (1,0,1)
    assert m["f1_macro"] == pytest.approx((4 / 5 + 4 / 6 + 2 / 3) / 3)
    assert m["f1_micro"] == pytest.approx(10 / 14)
    assert m["hamming_loss"] == pytest.approx(4 / 15)
    assert m["exact_match"] == pytest.approx(1 / 5)  # only the second image is exactly right
    assert m["per_label"]["c"]["threshold"] == pytest.approx(0.75)
    assert m["per_label"]["b"]["precision"] == pytest.approx(2 / 3)


def test_best_f1_thresholds_by_hand():
    # a: positives .9 .8, cut between .8 and the next score .6 -> 0.7
    # b: .9+ .8- .7+ .6+ .2-: keeping four gives F1 6/7, the best -> halfway to .2 = 0.4
    # c: .8+ .7- .6+ .3-: keeping three gives F1 0.8 -> halfway between .6 and .3 = 0.45
    assert best_f1_thresholds(SCORES, TARGET) == pytest.approx([0.7, 0.4, 0.45])
    # a label without a positive keeps 0.5
    assert best_f1_thresholds(SCORES[:, :1], torch.zeros(5, 1)) == [0.5]


def test_a_validation_pass_stores_thresholds_and_a_test_pass_only_uses_them():
    task = get_task("multilabel")
    model = task.build_model(TinyBackbone(), 3, ModelSettings(weights="none"))
    val = task.metrics_for(model, NAMES)
    val.update(torch.logit(SCORES), (None, TARGET))
    settled = task.settle_decision(model, val.compute(), choose=True)
    stored = model.net.thresholds.tolist()
    assert stored == pytest.approx([0.7, 0.4, 0.45]) and "decision_fit" not in settled
    assert settled["per_label"]["a"]["threshold"] == pytest.approx(0.7)
    flipped = 1 - TARGET  # a test split with other labels: its best thresholds differ
    test = task.metrics_for(model, NAMES)
    test.update(torch.logit(SCORES), (None, flipped))
    judged = task.settle_decision(model, test.compute(), choose=False)
    assert model.net.thresholds.tolist() == stored  # the test split never moves them
    expected = multilabel_metrics(SCORES, flipped, NAMES, torch.tensor(stored))
    assert judged["f1_macro"] == pytest.approx(expected["f1_macro"])
    assert "decision_fit" not in judged


def test_the_probe_fits_one_vs_rest_logistic_with_the_l2_grid():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(60, 5, generator=gen)
    y = torch.stack([(x[:, 0] > 0), (x[:, 1] + x[:, 2] > 0)], 1).float()
    fit, rows = select_l2(x[:40], y[:40], x[40:], y[40:], 2)
    assert len(rows) == 6 and all("val_map_macro" in r for r in rows)
    assert max(r["val_map_macro"] for r in rows) > 0.9
    # the joint fit is the two separate one-vs-rest fits
    alone = fit_logistic(x[:40], y[:40, 1:], 1, 1e-2, max_iter=500)
    joint = fit_logistic(x[:40], y[:40], 2, 1e-2, max_iter=500)
    assert torch.allclose(joint.weight[1], alone.weight[0], rtol=1e-3, atol=1e-3)
