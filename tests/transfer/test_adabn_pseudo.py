"""AdaBN moves BatchNorm running statistics only; the self-training decisions on hand-made tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from tests.tiny import TinyBackbone
from transferkit.core.errors import ConfigError
from transferkit.data.transforms.classify import eval_transform
from transferkit.transfer.adabn import adapt_batchnorm, batchnorm_layers
from transferkit.transfer.cache_key import weights_digest
from transferkit.transfer.pseudo import choose_threshold, guard, holdout_check, select


def _bright_images(root, n=10, size=32):
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = rng.integers(180, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(img).save(root / f"{i}.png")
    return sorted(str(p) for p in root.iterdir())


def test_adabn_changes_running_statistics_only(tmp_path):
    torch.manual_seed(0)
    backbone = TinyBackbone()
    backbone.weights_info = {"sha256": "abc"}  # a pretrained file: the cache key must still move
    files = _bright_images(tmp_path / "target")
    params = {n: p.detach().clone() for n, p in backbone.named_parameters()}
    stats = {
        n: (m.running_mean.clone(), m.running_var.clone())
        for n, m in backbone.named_modules()
        if isinstance(m, nn.BatchNorm2d)
    }
    key_before = weights_digest(backbone)
    backbone.train()  # the mode it is in must come back
    seen = adapt_batchnorm(backbone, files, eval_transform(backbone.data_config, 32), batch_size=4)
    assert seen == 10
    for n, p in backbone.named_parameters():
        assert torch.equal(p, params[n]), n
    for n, m in backbone.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            assert not torch.allclose(m.running_mean, stats[n][0]), n
            assert not torch.allclose(m.running_var, stats[n][1]), n
            assert m.momentum == 0.1 and m.training
    assert weights_digest(backbone) != key_before


def test_adabn_refuses_a_backbone_without_batchnorm(tmp_path):
    backbone = TinyBackbone()
    for block in backbone.blocks:
        block[1] = nn.Identity()
    assert not batchnorm_layers(backbone)
    with pytest.raises(ConfigError, match="no BatchNorm"):
        adapt_batchnorm(backbone, ["x.png"], lambda im: im)


def test_threshold_is_the_lowest_confidence_that_meets_the_target():
    confidence = torch.tensor([0.95, 0.9, 0.8, 0.7, 0.6])
    correct = torch.tensor([True, True, False, True, False])
    # Prefix precisions: 1, 1, 2/3, 3/4, 3/5.
    assert choose_threshold(confidence, correct, 0.75) == pytest.approx(0.7)
    assert choose_threshold(confidence, correct, 0.9) == pytest.approx(0.9)
    assert math.isinf(choose_threshold(confidence, torch.zeros(5, dtype=torch.bool), 0.5))


def test_selection_is_class_balanced_by_confidence():
    probs = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.55, 0.45], [0.2, 0.8], [0.4, 0.6]])
    index, labels = select(probs, threshold=0.58, quota=2)
    assert index.tolist() == [0, 1, 4, 5]  # class 0 capped at 2; row 3 below the threshold
    assert labels.tolist() == [0, 0, 1, 1]


def test_holdout_check_counts_accepted_predictions_on_the_other_half():
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])
    labels = torch.tensor([0, 1, 1, 1])
    check = holdout_check(probs, labels, target=0.5)
    # Even half {0, 2} (both right) sets 0.8: of the odd half only row 1 (wrong) clears it.
    # Odd half {1 wrong, 3 right} meets 0.5 at 0.7: rows 0 and 2 (both right) clear it.
    assert (check["accepted"], check["correct"]) == (3, 2)
    assert check["accuracy"] == pytest.approx(2 / 3)


def test_guard_tolerates_noise_and_refuses_a_real_drop():
    keep, why = guard(0.8, 0.75, 100)  # one standard error is 0.04: 0.75 is a real drop
    assert not keep and "labelled-only" in why
    keep, _ = guard(0.8, 0.77, 100)
    assert keep
