"""The augmentation check on synthetic features: class-swapping flips go off, harmless ones stay."""

from __future__ import annotations

import json
import math

import pytest
import torch

from transferkit.core.errors import ConfigError
from transferkit.transfer.augment_check import check_augmentations, paired_standard_error
from transferkit.transfer.linear import fit_logistic


def _features(n_per_class=30, seed=0):
    """Three classes: 0 and 1 are mirror images of each other (a 'b' and a 'd'), 2 is symmetric.

    Feature 0 says "stroke on the left", feature 1 "stroke on the right", feature 2 "round"; a
    horizontal flip swaps features 0 and 1.
    """
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [1.5, 1.5, 3.0]])
    y = torch.arange(3).repeat_interleave(n_per_class)
    x = centers[y] + 0.3 * torch.randn(len(y), 3, generator=g)
    return x, y


def _probe():
    x, y = _features(seed=1)
    return fit_logistic(x, y, 3, l2=1e-3)


def test_a_flip_that_swaps_classes_is_turned_off():
    probe = _probe()
    x, y = _features()
    flipped = x[:, [1, 0, 2]]
    check = check_augmentations(probe, x, y, {"hflip": flipped})
    (v,) = check.verdicts
    assert v.clean_accuracy == 1.0
    assert v.augmented_accuracy == pytest.approx(1 / 3)  # only the symmetric class survives
    assert not v.keep and check.turned_off == ["hflip"]
    assert check.lines() == [
        "hflip turned off: probe accuracy 1.00 -> 0.33 on horizontally flipped val images"
    ]


def test_harmless_augmentations_are_kept():
    probe = _probe()
    x, y = _features()
    g = torch.Generator().manual_seed(2)
    jittered = x * 1.1 + 0.05 * torch.randn(x.shape, generator=g)
    cropped = 0.9 * x  # a crop that keeps what the classes depend on
    check = check_augmentations(
        (probe.weight, probe.bias), x, y, {"jitter": jittered, "crop": cropped}
    )
    assert [v.keep for v in check.verdicts] == [True, True]
    assert check.turned_off == [] and check.lines() == []
    assert check.verdicts[0].line().startswith("jitter kept: probe accuracy 1.00 -> ")
    record = json.loads(json.dumps(check.to_dict()))
    assert record["val_size"] == 90 and record["turned_off"] == []


def _one_hot_case(wrong: int, n: int = 40):
    """A two-class identity probe; the augmentation moves ``wrong`` of ``n`` images across."""
    weight, bias = torch.eye(2), torch.zeros(2)
    y = torch.arange(n) % 2
    clean = torch.nn.functional.one_hot(y, 2).float()
    aug = clean.clone()
    aug[:wrong] = aug[:wrong].flip(1)
    return (weight, bias), clean, y, aug


def test_noise_margin_depends_on_the_val_size():
    probe, clean, y, aug = _one_hot_case(wrong=3, n=40)  # drop 0.075
    d = torch.zeros(40, dtype=torch.float64)
    d[:3] = 1
    se = math.sqrt(float(d.var()) / 40)
    assert paired_standard_error(torch.ones(40), 1 - d) == pytest.approx(se)
    kept = check_augmentations(probe, clean, y, {"crop": aug}).verdicts[0]
    assert kept.drop == pytest.approx(0.075) and kept.keep
    assert kept.allowed_drop == pytest.approx(0.02 + 2 * se)
    strict = check_augmentations(probe, clean, y, {"crop": aug}, z=0.0).verdicts[0]
    assert not strict.keep
    # the same drop on ten times the images is no longer noise
    probe, clean, y, aug = _one_hot_case(wrong=30, n=400)
    assert not check_augmentations(probe, clean, y, {"crop": aug}).verdicts[0].keep


def test_bad_input_is_a_config_error():
    probe, clean, y, aug = _one_hot_case(wrong=1)
    with pytest.raises(ConfigError, match="'hflip' features"):
        check_augmentations(probe, clean, y, {"hflip": aug[:-1]})
    with pytest.raises(ConfigError, match="labels"):
        check_augmentations(probe, clean, y[:-1], {"hflip": aug})
    with pytest.raises(ConfigError, match="no validation images"):
        check_augmentations(probe, clean[:0], y[:0], {"hflip": aug[:0]})
    with pytest.raises(ConfigError, match="threshold"):
        check_augmentations(probe, clean, y, {"hflip": aug}, threshold=2.0)
    with pytest.raises(ConfigError, match="z must be"):
        check_augmentations(probe, clean, y, {"hflip": aug}, z=-1.0)
