"""Class weights: sklearn's "balanced" by hand, and the weighted loss they give by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from transferkit.core.errors import ConfigError, DatasetError
from transferkit.transfer.class_weights import (
    check_class_weight_mode,
    class_counts,
    class_weights,
    sample_weights,
)


def test_auto_is_inverse_frequency_with_mean_one_per_image():
    # 10 images: 6, 3, 1 -> N / (K n_c) = 10/18, 10/9, 10/3
    w = class_weights([6, 3, 1], "auto")
    torch.testing.assert_close(w, torch.tensor([10 / 18, 10 / 9, 10 / 3]))
    assert float((w * torch.tensor([6.0, 3.0, 1.0])).sum() / 10) == pytest.approx(1.0)
    torch.testing.assert_close(class_weights([4, 4, 4]), torch.ones(3))
    by_name = class_weights({"cat": 2, "dog": 6})
    torch.testing.assert_close(by_name, torch.tensor([2.0, 2 / 3]))
    torch.testing.assert_close(class_weights(torch.tensor([2, 6])), by_name)
    torch.testing.assert_close(class_weights(np.array([2, 6])), by_name)
    assert class_weights([6, 3, 1], "none") is None


def test_weighted_cross_entropy_equals_the_hand_computed_loss():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-0.5, 1.5, 0.0], [1.0, 1.0, 3.0]])
    target = torch.tensor([0, 2, 1, 2])
    counts = [6, 3, 1]
    w = [10 / 18, 10 / 9, 10 / 3]
    # by hand: -log softmax of the true class, weighted, divided by the sum of the weights used
    terms, total = 0.0, 0.0
    for row, t in zip(logits.tolist(), target.tolist()):
        log_p = row[t] - math.log(sum(math.exp(v) for v in row))
        terms += -w[t] * log_p
        total += w[t]
    ours = F.cross_entropy(logits, target, weight=class_weights(counts))
    assert float(ours) == pytest.approx(terms / total, rel=1e-6)
    # and the weights do change the loss on imbalanced data
    assert float(ours) != pytest.approx(float(F.cross_entropy(logits, target)), rel=1e-3)


def test_counts_and_balanced_sample_weights():
    labels = torch.tensor([0, 0, 0, 1, 2, 2])
    assert class_counts(labels, 4) == [3, 1, 2, 0]
    sw = sample_weights(labels, 3)
    torch.testing.assert_close(sw, torch.tensor([1 / 3, 1 / 3, 1 / 3, 1.0, 0.5, 0.5]))
    per_class = [float(sw[labels == c].sum()) for c in range(3)]
    assert per_class == pytest.approx([1.0, 1.0, 1.0])  # every class drawn equally often
    with pytest.raises(DatasetError, match=r"labels must be in \[0, 1\]"):
        class_counts([0, 2], 2)


@pytest.mark.parametrize(
    ("counts", "mode", "error", "match"),
    [
        ([3, 1], "balanced", ConfigError, "unknown class weights 'balanced'"),
        ([3, 1], "atuo", ConfigError, "Did you mean 'auto'"),
        ({"cat": 3, "dog": 0}, "auto", DatasetError, "none for 'dog'"),
        ([3, -1], "auto", ConfigError, "class '1' has -1"),
        ([3, 1.5], "auto", ConfigError, "whole numbers"),
        ([3, True], "auto", ConfigError, "whole numbers"),
        ([], "auto", ConfigError, "at least one class"),
    ],
)
def test_bad_input_is_a_clean_error(counts, mode, error, match):
    with pytest.raises(error, match=match) as err:
        class_weights(counts, mode)
    assert err.value.hint


def test_mode_check_alone():
    assert check_class_weight_mode("none") == "none"
    with pytest.raises(ConfigError, match="--class-weights"):
        check_class_weight_mode("yes")
