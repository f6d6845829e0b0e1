"""Multi-label classification data: images with label sets, verified, split, as multi-hot targets.

:func:`load_multilabel_data` lists the source through the FORMATS registry (a multi-label CSV or
image folders where an image may sit in several class folders), checks every label against
``classes`` when given (else the classes are the labels found, sorted), decodes every image once,
and carves the splits the source lacks out of train (one seeded shuffle: label combinations are
too many to stratify on). Items are ``(transform(image), target)`` with ``target`` a float
tensor of 0/1, one per class.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from transferkit.core.errors import ConfigError, DatasetError, did_you_mean
from transferkit.data.datasets import DataSplits
from transferkit.data.datasets.classification import (
    BadImagePolicy,
    sort_class_names,
    verify_images,
)
from transferkit.data.formats import LABELS, find_format, get_format, require_path
from transferkit.data.images import load_image_rgb
from transferkit.data.labels import LabelEntry, LabelListing
from transferkit.data.splits import SPLIT_NAMES, carve_missing, check_fractions

ALIASES = {"csv": "label_csv", "folder": "label_folder"}  # the names classification uses
_SHOWN = 5


class MultiLabelDataset(Dataset):
    """Images with multi-hot targets; ``samples`` holds ``(path, (0/1 per class))`` pairs."""

    def __init__(self, samples: list[tuple[str, tuple[float, ...]]], class_names, transform=None):
        self.samples = samples
        self.class_names = list(class_names)
        self.transform = transform or v2.Compose(
            [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
        )

    @property
    def targets(self) -> torch.Tensor:
        """``(N, K)`` multi-hot targets in sample order."""
        return torch.tensor([t for _, t in self.samples], dtype=torch.float32).reshape(
            -1, len(self.class_names)
        )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        path, target = self.samples[index]
        return self.transform(load_image_rgb(path)), torch.tensor(target, dtype=torch.float32)


def list_label_source(path: str | Path, format: str = "auto") -> LabelListing:
    """The listing of a multi-label source (``format``: auto, csv, folder or a registry name)."""
    path = Path(path).expanduser().absolute()
    require_path(path)
    name = ALIASES.get(format, format)
    if name == "auto":
        name = find_format(path, LABELS)
        if name is None and path.suffix.lower() == ".csv":
            name = "label_csv"  # its reader says what is wrong with the file
        if name is None:
            raise DatasetError(
                f"{path}: neither a multi-label CSV nor class folders",
                hint="pass a CSV (path,labels or one-hot path,<class>...) or ROOT/<class>/<image>",
            )
    return get_format(name, LABELS, "multi-label").list_labels(path)


def class_order(listing: LabelListing, classes: list[str] | None) -> list[str]:
    """``classes`` after checking every label against it, else the declared or found labels."""
    found = {label for e in listing.entries for label in e.labels}
    if classes is None:
        names = listing.declared_classes or sort_class_names(found)
        if not names:
            raise DatasetError(f"{listing.source}: no image has a label", hint="label some images")
        return list(names)
    known = set(classes)
    for e in listing.entries:
        unknown = [label for label in e.labels if label not in known]
        if unknown:
            raise DatasetError(
                f"{e.where}: label {unknown[0]!r} is not in --classes ({', '.join(classes)})."
                + did_you_mean(unknown[0], classes),
                hint="add it to --classes, or fix the label in the data",
            )
    return list(classes)


def load_multilabel_data(
    path: str | Path,
    *,
    format: str = "auto",
    classes: list[str] | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.0,
    seed: int = 0,
    on_bad_image: str = "fail",
    train_transform: Callable[[Any], torch.Tensor] | None = None,
    eval_transform: Callable[[Any], torch.Tensor] | None = None,
) -> DataSplits:
    """Read a multi-label source into train/val(/test) datasets with a summary (see module)."""
    policy = BadImagePolicy.parse(on_bad_image)
    check_fractions(val_fraction, test_fraction)
    listing = list_label_source(path, format)
    names = class_order(listing, classes)
    sizes, bad = verify_images(listing.entries, None, None)
    if bad and policy is BadImagePolicy.FAIL:
        shown = "; ".join(why for _, why in bad[:_SHOWN])
        raise DatasetError(
            f"{len(bad)} unreadable image(s) in {listing.source}: {shown}",
            hint="fix or delete them, or pass --on-bad-image skip to leave them out",
        )
    entries = [e for e in listing.entries if str(e.path) in sizes]
    by_split = _splits(listing, entries, val_fraction, test_fraction, seed)
    index = {n: i for i, n in enumerate(names)}
    datasets: dict[str, MultiLabelDataset | None] = dict.fromkeys(SPLIT_NAMES)
    for split, items in by_split.items():
        samples = [(str(e.path), _multi_hot(e, index)) for e in items]
        transform = train_transform if split == "train" else eval_transform
        datasets[split] = MultiLabelDataset(samples, names, transform) if items else None
    summary = _summary(listing, by_split, names, bad)
    summary.update(seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    return DataSplits(datasets["train"], datasets["val"], datasets["test"], names, summary)


def _multi_hot(entry: LabelEntry, index: dict[str, int]) -> tuple[float, ...]:
    hot = [0.0] * len(index)
    for label in entry.labels:
        hot[index[label]] = 1.0
    return tuple(hot)


def _splits(listing, entries, val_fraction, test_fraction, seed) -> dict[str, list[LabelEntry]]:
    given: dict[str, list[LabelEntry]] = {}
    for e in entries:
        if e.split is not None:
            given.setdefault(e.split, []).append(e)
    unsplit = [e for e in entries if e.split is None]
    if unsplit and given:
        raise DatasetError(
            f"{listing.source}: some images have a split and {len(unsplit)} have none",
            hint="give every image a split, or none of them",
        )
    if "val" not in given and val_fraction == 0:
        raise ConfigError(
            f"{listing.source} has no validation split and val_fraction is 0",
            hint="give a val split in the data, or a val_fraction above 0 (e.g. 0.2)",
        )
    out = carve_missing(
        unsplit, given, val_fraction, test_fraction, seed, key=lambda e: str(e.path)
    )
    if not out["train"] or not out["val"]:
        which = "training" if not out["train"] else "validation"
        raise DatasetError(
            f"{listing.source}: no {which} images ({len(entries)} readable image(s))",
            hint="add images, or give train and val splits in the data",
        )
    return {k: v for k, v in out.items() if v or k != "test"}


def _summary(listing, by_split, names, bad) -> dict[str, Any]:
    """Plain-JSON description of what was read (goes into the run record)."""
    counts = {
        split: {n: c for n, c in Counter(lb for e in items for lb in e.labels).items()}
        for split, items in by_split.items()
    }
    return {
        "format": listing.format,
        "source": str(listing.source),
        "num_classes": len(names),
        "class_names": list(names),
        "counts": {s: {n: counts[s].get(n, 0) for n in names} for s in by_split},
        "totals": {s: len(items) for s, items in by_split.items()},
        "unlabelled": {s: sum(1 for e in items if not e.labels) for s, items in by_split.items()},
        "labels_per_image": {
            s: round(sum(len(e.labels) for e in items) / max(len(items), 1), 3)
            for s, items in by_split.items()
        },
        "merged_duplicates": listing.merged,
        "skipped": len(bad),
        "skipped_files": [{"path": str(e.path), "reason": why} for e, why in bad],
        "ignored_files": len(listing.ignored_files),
    }
