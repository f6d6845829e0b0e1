"""Learning curve on tiny synthetic features: stratified nested subsets and the one-line answer."""

from __future__ import annotations

import json

import pytest
import torch

from transferkit.core.errors import ConfigError
from transferkit.transfer.curve import learning_curve, parse_fractions, stratified_subsets
from transferkit.transfer.linear import select_l2, threads_for

GRID = (1e-2, 1e-4)  # two L2 values keep the test fast


def blobs(n_per_class: int, separation: float, seed: int, d: int = 64, k: int = 4):
    """``k`` Gaussian classes in ``d`` dimensions; the centres are the same for every seed."""
    centres = torch.randn(k, d, generator=torch.Generator().manual_seed(99)) * separation
    y = torch.arange(k).repeat_interleave(n_per_class)
    g = torch.Generator().manual_seed(seed)
    return centres[y] + torch.randn(len(y), d, generator=g), y


def test_hard_data_says_more_labels_would_help():
    (tx, ty), (vx, vy) = blobs(40, 0.3, 1), blobs(50, 0.3, 2)
    curve = learning_curve(tx, ty, vx, vy, 4, grid=GRID)
    assert [p.fraction for p in curve.points] == [0.1, 0.25, 0.5, 1.0]
    assert [p.images for p in curve.points] == [16, 40, 80, 160]
    accs = [p.val_accuracy for p in curve.points]
    assert accs[-1] > accs[0] + 0.1
    assert curve.more_labels_help and curve.slope_per_doubling > 0.01
    assert curve.answer.startswith("more labels would likely help: val accuracy 0.")
    assert "from 80 to 160 labelled images" in curve.answer
    record = json.loads(json.dumps(curve.to_dict()))
    assert record["points"][-1]["images"] == 160 and record["more_labels_help"] is True


def test_easy_data_says_the_probe_has_levelled_off():
    (tx, ty), (vx, vy) = blobs(40, 3.0, 1), blobs(50, 3.0, 2)
    curve = learning_curve(tx, ty, vx, vy, 4, grid=GRID)
    assert [p.val_accuracy for p in curve.points][-2:] == [1.0, 1.0]
    assert not curve.more_labels_help and curve.slope_per_doubling == 0.0
    assert curve.answer.startswith("more labels would likely not help much")
    assert curve.answer.endswith("the probe has levelled off")


def test_the_full_point_is_the_probe_on_all_labels():
    (tx, ty), (vx, vy) = blobs(10, 0.5, 1), blobs(10, 0.5, 2)
    curve = learning_curve(tx, ty, vx, vy, 4, fractions=(0.5, 1.0), grid=GRID)
    mean, std = tx.mean(0), tx.std(0).clamp_min(1e-6)
    with threads_for(tx.numel(), tx.device):
        fit, rows = select_l2((tx - mean) / std, ty, (vx - mean) / std, vy, 4, GRID)
    assert curve.points[-1].l2 == fit.l2
    assert curve.points[-1].val_accuracy == max(r["val_accuracy"] for r in rows)


def test_subsets_are_stratified_nested_and_seeded():
    labels = torch.tensor([0] * 20 + [1] * 10 + [2] * 3)
    subsets = stratified_subsets(labels, (0.1, 0.5, 1.0), seed=3)
    counts = [torch.bincount(labels[s], minlength=3).tolist() for s in subsets]
    assert counts == [[2, 1, 1], [10, 5, 2], [20, 10, 3]]  # at least one of every class
    for small, large in zip(subsets, subsets[1:]):
        assert set(small.tolist()) <= set(large.tolist())
    again = stratified_subsets(labels, (0.1, 0.5, 1.0), seed=3)
    assert all(torch.equal(a, b) for a, b in zip(subsets, again))
    other = stratified_subsets(labels, (0.1, 0.5, 1.0), seed=4)
    assert not torch.equal(subsets[1], other[1])


def test_too_few_labels_to_tell():
    tx, ty = blobs(1, 3.0, 1, k=2)
    vx, vy = blobs(2, 3.0, 2, k=2)
    curve = learning_curve(tx, ty, vx, vy, 2, grid=GRID)
    assert curve.answer == "cannot tell: every subset has the same 2 labelled images"
    assert not curve.more_labels_help


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fractions": (1.0,)}, "at least two increasing values"),
        ({"fractions": (0.5, 0.25)}, "at least two increasing values"),
        ({"fractions": (0.0, 1.0)}, "in \\(0, 1\\]"),
        ({"fractions": (0.5, 1.5)}, "in \\(0, 1\\]"),
        ({"threshold": -0.1}, "threshold must be >= 0"),
    ],
)
def test_bad_arguments_are_config_errors(kwargs, match):
    (tx, ty), (vx, vy) = blobs(4, 1.0, 1), blobs(4, 1.0, 2)
    with pytest.raises(ConfigError, match=match) as err:
        learning_curve(tx, ty, vx, vy, 4, grid=GRID, **kwargs)
    assert err.value.hint


def test_parse_fractions_reads_the_command_line_form_and_numbers():
    assert parse_fractions("0.1,0.25,0.5,1") == (0.1, 0.25, 0.5, 1.0)
    assert parse_fractions(" 0.5 , 1 ") == (0.5, 1.0)
    assert parse_fractions([0.5, 1]) == (0.5, 1.0)


@pytest.mark.parametrize(
    "text", ["0", "1.5", "", "0.5", "0,1", "0.5,1.5", "1,0.5", "0.5,0.5,1", "x,1"]
)
def test_parse_fractions_refuses_what_is_not_a_curve(text):
    with pytest.raises(ConfigError, match="invalid fractions") as info:
        parse_fractions(text)
    assert "--fractions 0.1,0.25,0.5,1" in info.value.hint
