"""Classification data sets: verified images, seeded stratified splits, a summary of what was read.

:func:`load_classification_data` is what the training loop, ``evaluate`` and ``predict`` call. It
lists the source (:mod:`transferkit.data.formats.class_folder`), decodes every image once up front so that
a corrupt file fails (or is skipped) before training rather than in epoch 3, splits the train set
into val/test where the source gives none, and wraps each split in a
:class:`ClassificationDataset`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from enum import Enum
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms import v2

from transferkit.core.errors import ConfigError, DatasetError, did_you_mean
from transferkit.data.datasets import DataSplits
from transferkit.data.formats.class_folder import Entry, Listing, list_source
from transferkit.data.images import load_image_rgb
from transferkit.data.splits import SPLIT_NAMES, carve, check_fractions
from transferkit.data.verified import verify_images as verify_files

_SHOWN = 5  # bad files listed by name in an error message; the rest are counted


class BadImagePolicy(str, Enum):
    """What to do with an image that does not decode: stop with an error, or skip and count it."""

    FAIL = "fail"
    SKIP = "skip"

    @classmethod
    def parse(cls, value: str | BadImagePolicy) -> BadImagePolicy:
        """Accept the enum or its string value; anything else is a :class:`ConfigError`."""
        try:
            return cls(value)
        except ValueError:
            options = [p.value for p in cls]
            raise ConfigError(
                f"unknown on_bad_image policy {value!r}; valid: {', '.join(options)}."
                + did_you_mean(str(value), options),
                hint="pass --on-bad-image fail or --on-bad-image skip",
            ) from None


class ClassificationDataset(Dataset):
    """Images with integer labels; items are ``(transform(image), label)``.

    ``samples`` holds ``(path, label)`` pairs and ``class_names`` maps labels back to names, so
    prediction and reports can name files and classes. Without a transform an item is the RGB
    image as a float tensor in [0, 1] (no normalisation: that needs the backbone's data config).
    ``decode_size`` lets large JPEGs decode at reduced scale (``images.load_image_rgb``).
    """

    def __init__(
        self,
        samples: list[tuple[str, int]],
        class_names: list[str],
        transform: Callable[[Any], torch.Tensor] | None = None,
        decode_size: int | None = None,
    ):
        self.samples = samples
        self.class_names = class_names
        self.decode_size = decode_size
        self.decoded: list | None = None  # uint8 (H, W, 3) arrays when cached (data.loading)
        self.transform = transform or v2.Compose(
            [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
        )

    @property
    def targets(self) -> list[int]:
        """Labels in sample order (the name torchvision's ``ImageFolder`` uses)."""
        return [label for _, label in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        if self.decoded is not None:  # exactly the image load_image_rgb returned
            return self.transform(Image.fromarray(self.decoded[index])), label
        return self.transform(load_image_rgb(path, self.decode_size)), label


def load_classification_data(
    path: str | Path,
    *,
    format: str = "auto",
    val_fraction: float = 0.2,
    test_fraction: float = 0.0,
    seed: int = 0,
    on_bad_image: str | BadImagePolicy = "fail",
    train_transform: Callable[[Any], torch.Tensor] | None = None,
    eval_transform: Callable[[Any], torch.Tensor] | None = None,
    verify_threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    decode_sizes: tuple[int | None, int | None] = (None, None),
) -> DataSplits:
    """Read an image folder or CSV into train/val(/test) datasets with a summary.

    Splits missing from the source are carved from train, per class, with ``val_fraction`` and
    ``test_fraction`` (seeded by ``seed``); splits the source gives are used as they are.
    ``on_bad_image`` is ``"fail"`` (a :class:`DatasetError` listing the first bad files) or
    ``"skip"`` (dropped, and listed in ``summary["skipped_files"]``). Images are decoded once up
    front on ``verify_threads`` threads (default: up to 8); ``progress(done, total)`` is called
    as they are checked. ``train_transform`` applies to train, ``eval_transform`` to val and test;
    ``decode_sizes`` (train, eval) let large JPEGs decode at reduced scale
    (``transforms.classify.decode_sizes``).
    """
    policy = BadImagePolicy.parse(on_bad_image)
    check_fractions(val_fraction, test_fraction)
    listing = list_source(path, format)
    sizes, bad = verify_images(listing.entries, verify_threads, progress)
    if bad and policy is BadImagePolicy.FAIL:
        shown = "; ".join(_describe_bad(e, why) for e, why in bad[:_SHOWN])
        more = f"; and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
        raise DatasetError(
            f"{len(bad)} unreadable image(s) in {listing.source}: {shown}{more}",
            hint="fix or delete them, or pass --on-bad-image skip to leave them out",
        )
    entries = [e for e in listing.entries if str(e.path) in sizes]
    by_split = _assign_splits(listing, entries, val_fraction, test_fraction, seed)
    class_names = _class_names(listing, by_split, bad)

    index = {name: i for i, name in enumerate(class_names)}
    datasets: dict[str, ClassificationDataset | None] = {}
    for split in SPLIT_NAMES:
        if split not in by_split:
            datasets[split] = None
            continue
        samples = [(str(e.path), index[e.label]) for e in by_split[split]]
        train = split == "train"
        transform = train_transform if train else eval_transform
        decode = decode_sizes[0] if train else decode_sizes[1]
        datasets[split] = ClassificationDataset(samples, class_names, transform, decode)
    summary = _summary(listing, by_split, class_names, sizes, bad)
    summary.update(seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    return DataSplits(datasets["train"], datasets["val"], datasets["test"], class_names, summary)


def sort_class_names(names: Iterable[str]) -> list[str]:
    """Sorted class names; names that are all integers sort by value ("2" before "10")."""
    names = sorted(set(names))
    if all(re.fullmatch(r"-?\d+", n) for n in names):
        return sorted(names, key=int)
    return names


def verify_images(
    entries: list[Entry], threads: int | None, progress: Callable[[int, int], None] | None
) -> tuple[dict[str, tuple[int, int]], list[tuple[Entry, str]]]:
    """Decode each image once (or recall it unchanged); sizes of the good ones by path, and the
    bad entries."""
    sizes, errors = verify_files((str(e.path) for e in entries), threads, progress)
    bad = [(e, errors[str(e.path)]) for e in entries if str(e.path) in errors]
    return sizes, bad


def _describe_bad(entry: Entry, message: str) -> str:
    return message if entry.where == str(entry.path) else f"{entry.where}: {message}"


def _assign_splits(
    listing: Listing, entries: list[Entry], val_fraction: float, test_fraction: float, seed: int
) -> dict[str, list[Entry]]:
    """Group entries by split, carving the splits the source lacks out of train."""
    given = {s: [e for e in entries if e.split == s] for s in SPLIT_NAMES}
    if listing.layout == "single":
        given["train"] = entries
    if not given["train"]:
        raise DatasetError(
            f"no training images in {listing.source}",
            hint="add a train split (a train folder, or rows with split=train)",
        )
    carve_val = not given["val"]
    carve_test = not given["test"] and test_fraction > 0
    if carve_val and val_fraction == 0:
        raise ConfigError(
            f"{listing.source} has no validation split and val_fraction is 0",
            hint="give a val split in the data, or a val_fraction above 0 (e.g. 0.2)",
        )
    by_split = {"train": given["train"]}
    if carve_val or carve_test:
        train = given["train"]
        by_split = carve(
            train,
            val_fraction if carve_val else 0.0,
            test_fraction if carve_test else 0.0,
            seed,
            key=lambda e: str(e.path),
            label=lambda e: e.label,
        )
    if not carve_val:
        by_split["val"] = given["val"]
    if given["test"]:
        by_split["test"] = given["test"]
    elif not carve_test:
        by_split.pop("test", None)
    if not by_split["val"]:
        raise DatasetError(
            f"too few images in {listing.source} to hold out a validation split "
            f"({len(given['train'])} training image(s))",
            hint="add images, or give a val split in the data",
        )
    return by_split


def _class_names(
    listing: Listing, by_split: dict[str, list[Entry]], bad: list[tuple[Entry, str]]
) -> list[str]:
    """Class names from the train split, after checking every class can be learned."""
    train_labels = {e.label for e in by_split["train"]}
    lost = sorted({e.label for e, _ in bad if e.split in (None, "train")} - train_labels)
    if lost:  # every image of these classes was unreadable: say so rather than drop the class
        raise DatasetError(
            f"class(es) {', '.join(repr(c) for c in lost)} in {listing.source} have no readable "
            f"training image ({len(bad)} image(s) skipped as unreadable)",
            hint="add readable images of those classes, or remove them from the data",
        )
    for split in ("val", "test"):
        extra = sorted({e.label for e in by_split.get(split) or []} - train_labels)
        if extra:
            raise DatasetError(
                f"the {split} split of {listing.source} has class(es) the train split lacks: "
                + ", ".join(repr(c) for c in extra[:_SHOWN])
                + (f" and {len(extra) - _SHOWN} more" if len(extra) > _SHOWN else ""),
                hint=f"add training images of those classes, or drop them from {split}",
            )
    if len(train_labels) < 2:
        found = f"only the class {next(iter(train_labels))!r}" if train_labels else "no class"
        raise DatasetError(
            f"classification needs at least 2 classes; {listing.source} has {found}",
            hint="add a folder (or label) per class",
        )
    return sort_class_names(train_labels)


def _summary(
    listing: Listing,
    by_split: dict[str, list[Entry]],
    class_names: list[str],
    sizes: dict[str, tuple[int, int]],
    bad: list[tuple[Entry, str]],
) -> dict[str, Any]:
    """Plain-JSON description of what was read (goes into the run record)."""
    counts = {
        split: {c: n for c, n in sorted(Counter(e.label for e in entries).items())}
        for split, entries in by_split.items()
    }
    kept = [sizes[str(e.path)] for entries in by_split.values() for e in entries]
    missing = {
        split: [c for c in class_names if c not in counts[split]]
        for split in by_split
        if split != "train"
    }
    return {
        "format": listing.format,
        "source": str(listing.source),
        "layout": listing.layout,
        "split_from": {
            s: "data" if s == "train" or any(e.split == s for e in entries) else "carved"
            for s, entries in by_split.items()
        },
        "num_classes": len(class_names),
        "class_names": list(class_names),
        "counts": counts,
        "totals": {split: len(entries) for split, entries in by_split.items()},
        "classes_missing": {s: m for s, m in missing.items() if m},
        "image_size": {
            "min_width": min(w for w, _ in kept),
            "max_width": max(w for w, _ in kept),
            "min_height": min(h for _, h in kept),
            "max_height": max(h for _, h in kept),
        },
        "skipped": len(bad),
        "skipped_files": [{"path": str(e.path), "where": e.where, "reason": why} for e, why in bad],
        "ignored_files": len(listing.ignored_files),
        "ignored_examples": [str(p) for p in listing.ignored_files[:_SHOWN]],
        "ignored_dirs": [str(p) for p in listing.ignored_dirs],
    }
