"""Seeded stratified splits: sizes by hand, determinism, order independence, class balance."""

from __future__ import annotations

import random

import pytest

from transferkit.core.errors import ConfigError
from transferkit.data.splits import check_fractions, split_counts, stratified_split


@pytest.mark.parametrize(
    ("n", "val", "test", "expected"),
    [
        (10, 0.2, 0.0, (8, 2, 0)),
        (10, 0.2, 0.1, (7, 2, 1)),
        (5, 0.5, 0.0, (2, 3, 0)),  # 2.5 rounds half up
        (3, 0.2, 0.2, (1, 1, 1)),  # 0.6 rounds to 1, and a split asked for gets one
        (2, 0.2, 0.2, (1, 1, 0)),  # train keeps one, val has priority over test
        (1, 0.2, 0.0, (1, 0, 0)),
        (4, 0.0, 0.0, (4, 0, 0)),
    ],
)
def test_split_counts(n, val, test, expected):
    assert split_counts(n, val, test) == expected


def test_stratified_split_is_seeded_balanced_and_complete():
    labels = ["a"] * 10 + ["b"] * 20 + ["c"] * 5
    keys = [f"img{i:03d}" for i in range(len(labels))]
    out = stratified_split(labels, 0.2, 0.2, seed=3, keys=keys)
    assert stratified_split(labels, 0.2, 0.2, seed=3, keys=keys) == out
    assert stratified_split(labels, 0.2, 0.2, seed=4, keys=keys) != out
    every = out["train"] + out["val"] + out["test"]
    assert sorted(every) == list(range(len(labels)))  # disjoint and complete
    for split, per_class in (("train", (6, 12, 3)), ("val", (2, 4, 1)), ("test", (2, 4, 1))):
        counts = tuple(sum(labels[i] == c for i in out[split]) for c in "abc")
        assert counts == per_class, split


def test_split_does_not_depend_on_listing_order():
    labels = ["a"] * 8 + ["b"] * 8
    keys = [f"{label}/{i}.png" for i, label in enumerate(labels)]
    base = stratified_split(labels, 0.25, seed=0, keys=keys)
    order = list(range(len(labels)))
    random.Random(1).shuffle(order)
    shuffled = stratified_split(
        [labels[i] for i in order], 0.25, seed=0, keys=[keys[i] for i in order]
    )
    for split in ("train", "val"):
        assert {keys[order[i]] for i in shuffled[split]} == {keys[i] for i in base[split]}


def test_adding_a_class_keeps_the_split_of_the_others():
    labels = ["a"] * 10 + ["b"] * 10
    keys = [f"k{i}" for i in range(20)]
    before = stratified_split(labels, 0.3, seed=0, keys=keys)
    more_keys = keys + [f"c{i}" for i in range(6)]
    after = stratified_split(labels + ["c"] * 6, 0.3, seed=0, keys=more_keys)
    assert [i for i in after["val"] if i < 20] == before["val"]


@pytest.mark.parametrize(("val", "test"), [(-0.1, 0.0), (1.0, 0.0), (0.6, 0.4), ("0.2", 0.0)])
def test_bad_fractions(val, test):
    with pytest.raises(ConfigError):
        check_fractions(val, test)
