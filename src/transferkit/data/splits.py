"""Seeded train/val/test splits: the one carve every reader uses.

:func:`carve` cuts a pool of samples into train/val/test, stratified by class when the samples
have labels (classification) and by one seeded shuffle otherwise (boxes, masks);
:func:`carve_missing` applies it to the splits a source lacks. In a stratified carve each class is
split on its own, so every split keeps the class balance of the whole. The shuffle of
a class depends only on the seed and the class name, and samples are sorted by key first, so the
split does not change with the order the file system lists files in, nor when another class is added
or removed.
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import numpy as np

from transferkit.core.errors import ConfigError

SPLIT_NAMES = ("train", "val", "test")
T = TypeVar("T")


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Raise :class:`ConfigError` unless both fractions are in [0, 1) and sum below 1."""
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ConfigError(
                f"{name} must be a number in [0, 1), got {value!r}",
                hint=f"pass e.g. {name}=0.2",
            )
    if val_fraction + test_fraction >= 1.0:
        raise ConfigError(
            f"val_fraction + test_fraction must be below 1 so that training keeps images, "
            f"got {val_fraction} + {test_fraction}",
            hint="lower the fractions, e.g. val 0.2 and test 0.1",
        )


def split_counts(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """``(train, val, test)`` sizes for one class of ``n`` samples.

    Sizes round half up. A split asked for (fraction > 0) gets at least one sample whenever the
    class has enough for train to keep one too; train has priority, then val, then test.
    """
    n_val = math.floor(n * val_fraction + 0.5)
    n_test = math.floor(n * test_fraction + 0.5)
    if val_fraction > 0:
        n_val = max(n_val, 1)
    if test_fraction > 0:
        n_test = max(n_test, 1)
    spare = max(n - 1, 0)  # train keeps at least one sample
    n_val = min(n_val, spare)
    n_test = min(n_test, spare - n_val)
    return n - n_val - n_test, n_val, n_test


def stratified_split(
    labels: Sequence[Hashable],
    val_fraction: float,
    test_fraction: float = 0.0,
    seed: int = 0,
    keys: Sequence[str] | None = None,
) -> dict[str, list[int]]:
    """Split sample indices by class into ``{"train": [...], "val": [...], "test": [...]}``.

    ``keys`` (e.g. file paths) fix the order samples are shuffled from, so the result is the same
    however the inputs were listed; without them the input order is used. Indices in each split
    are sorted.
    """
    check_fractions(val_fraction, test_fraction)
    if keys is not None and len(keys) != len(labels):
        raise ValueError(f"got {len(keys)} keys for {len(labels)} labels")
    by_class: dict[Hashable, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    out: dict[str, list[int]] = {name: [] for name in SPLIT_NAMES}
    for label, idx in by_class.items():
        if keys is not None:
            idx.sort(key=lambda i: keys[i])
        rng = np.random.default_rng([int(seed) % 2**32, zlib.crc32(str(label).encode("utf-8"))])
        order = [idx[j] for j in rng.permutation(len(idx))]
        n_train, n_val, _ = split_counts(len(idx), val_fraction, test_fraction)
        out["train"] += order[:n_train]
        out["val"] += order[n_train : n_train + n_val]
        out["test"] += order[n_train + n_val :]
    return {name: sorted(v) for name, v in out.items()}


def carve(
    pool: Sequence[T],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    key: Callable[[T], Any],
    label: Callable[[T], Hashable] | None = None,
) -> dict[str, list[T]]:
    """Cut ``pool`` into ``{"train", "val", "test"}`` lists by a seeded shuffle.

    With ``label``, each class is cut on its own (:func:`stratified_split`, ``key`` as the sort
    key) and every split keeps ``pool``'s order. Without it, the pool is sorted by ``key`` and cut
    in the order of one seeded permutation, so the result depends on the seed only, not on the
    order the files were listed in.
    """
    check_fractions(val_fraction, test_fraction)
    if label is not None:
        idx = stratified_split(
            [label(x) for x in pool], val_fraction, test_fraction, seed, [key(x) for x in pool]
        )
        return {name: [pool[i] for i in idx[name]] for name in SPLIT_NAMES}
    ordered = sorted(pool, key=key)
    picked = [ordered[i] for i in np.random.default_rng(int(seed)).permutation(len(ordered))]
    n_train, n_val, _ = split_counts(len(picked), val_fraction, test_fraction)
    return {
        "train": picked[:n_train],
        "val": picked[n_train : n_train + n_val],
        "test": picked[n_train + n_val :],
    }


def carve_missing(
    unsplit: list[T],
    given: dict[str, list[T]],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    key: Callable[[T], Any],
) -> dict[str, list[T]]:
    """A source's splits (``given``) completed by :func:`carve`; train, val and test lists.

    Samples without a split (``unsplit``) are pooled with train and cut into train/val/test.
    Otherwise a source without a val split gets ``val_fraction`` of its train split as val
    (test stays as given); a source with a val split is used as it is.
    """
    check_fractions(val_fraction, test_fraction)
    given = dict(given)
    if unsplit:
        pool, fractions = unsplit + given.pop("train", []), (val_fraction, test_fraction)
    elif "val" not in given:
        pool, fractions = given.pop("train", []), (val_fraction, 0.0)
    else:
        pool, fractions = [], (0.0, 0.0)
    if pool:
        parts = carve(pool, *fractions, seed, key)
        given["train"], given["val"] = parts["train"], parts["val"]
        if fractions[1] > 0:
            given["test"] = parts["test"]
    return {name: given.get(name, []) for name in SPLIT_NAMES}


def stratified_folds(
    labels: Sequence[Hashable], folds: int, seed: int = 0, keys: Sequence[str] | None = None
) -> list[list[int]]:
    """Sample indices cut into ``folds`` disjoint folds that together hold every sample once,
    each class spread over the folds as evenly as it divides (stratified k-fold).

    Each class is shuffled as in :func:`stratified_split` (seeded by ``seed`` and the class name,
    from the order of ``keys``) and dealt round-robin; each class starts dealing where the one
    before it stopped, so fold sizes differ by at most one. Indices in each fold are sorted.
    Raises :class:`ConfigError` for fewer than 2 folds or more folds than the smallest class
    has samples (a fold would lack that class).
    """
    by_class: dict[Hashable, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    check_folds(folds, {label: len(idx) for label, idx in by_class.items()})
    out: list[list[int]] = [[] for _ in range(folds)]
    start = 0
    for label in sorted(by_class, key=str):
        idx = by_class[label]
        if keys is not None:
            idx.sort(key=lambda i: keys[i])
        rng = np.random.default_rng([int(seed) % 2**32, zlib.crc32(str(label).encode("utf-8"))])
        for j, pick in enumerate(rng.permutation(len(idx))):
            out[(start + j) % folds].append(idx[pick])
        start = (start + len(idx)) % folds
    return [sorted(f) for f in out]


def check_folds(folds: int, class_counts: dict[Hashable, int]) -> None:
    """Raise :class:`ConfigError` unless ``folds`` is at least 2 and at most the smallest
    class's count (``class_counts``: samples per class)."""
    if not isinstance(folds, int) or isinstance(folds, bool) or folds < 2:
        raise ConfigError(
            f"--folds must be a whole number of at least 2, got {folds!r}",
            hint="k-fold trains one run per fold: use e.g. --folds 5, or leave --folds out",
        )
    if not class_counts:
        raise ConfigError("k-fold found no labelled images", hint="check the --data path")
    label, smallest = min(class_counts.items(), key=lambda kv: (kv[1], str(kv[0])))
    if folds > smallest:
        raise ConfigError(
            f"--folds {folds} is more than the {smallest} image(s) of class {label!r}: "
            "a fold would have none of it",
            hint=f"use --folds {smallest} or fewer, or add images of {label!r}"
            if smallest >= 2
            else f"add images of {label!r}: k-fold needs at least 2 per class",
        )
