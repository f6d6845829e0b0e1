"""Semantic segmentation data sets: checked image/mask pairs, seeded splits, paired transforms.

:func:`load_semantic_data` lists a data set (:mod:`transferkit.data.formats.mask_folder`), reads every
mask once up front and checks it against its image — same size, values that are classes or
``ignore_index`` — so a bad pair fails before training (or is skipped and counted under
``on_bad_image="skip"``), splits what the source does not split, and wraps each split in a
:class:`SegmentationDataset`.

Transforms move the image and its mask together (``torchvision.transforms.v2`` with
``tv_tensors.Mask``): masks are only ever resized with nearest neighbour, and pixels a crop pads
are ``ignore_index``. Evaluation runs at each image's own size; batches are padded by
:func:`collate_segmentation` (images with 0, masks with ``ignore_index``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from transferkit.core.errors import ConfigError, DatasetError
from transferkit.data.datasets import DataSplits
from transferkit.data.formats.classes_file import ClassTable
from transferkit.data.formats.mask_folder import Listing, SegSample, list_semantic
from transferkit.data.images import inspect_image, load_image_rgb
from transferkit.data.masks import read_mask_image
from transferkit.data.splits import carve_missing

_SHOWN = 5  # bad pairs named in an error; the rest are counted


def read_class_mask(sample: SegSample, classes: ClassTable | None) -> np.ndarray:
    """The ``(H, W)`` int64 class-index mask of ``sample`` (mask file or COCO annotations)."""
    if not isinstance(sample.mask, Path):
        return sample.mask()
    mask = read_mask_image(sample.mask, classes.colors if classes else None)
    return classes.to_classes(mask) if classes else mask


class SegmentationDataset(Dataset):
    """Image/mask pairs; items are ``transform(tv_tensors.Image, tv_tensors.Mask)``.

    Without a transform an item is the float image in [0, 1] (CHW) and the int64 mask (HW).
    """

    def __init__(
        self,
        samples: list[SegSample],
        class_names: list[str],
        classes: ClassTable | None = None,
        transform: Callable | None = None,
        ignore_index: int = 255,
    ):
        self.samples = samples
        self.class_names = class_names
        self.classes = classes
        self.transform = transform or v2.ToDtype(torch.float32, scale=True)
        self.ignore_index = ignore_index

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        sample = self.samples[index]
        image = TF.pil_to_tensor(load_image_rgb(sample.image))
        mask = torch.from_numpy(read_class_mask(sample, self.classes))
        image, mask = self.transform(tv_tensors.Image(image), tv_tensors.Mask(mask))
        return image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor).long()


def collate_segmentation(samples: list[tuple[torch.Tensor, torch.Tensor]], ignore_index: int = 255):
    """Stack images and masks, padding each to the batch's largest height and width.

    Padding goes right and bottom (0 for images, ``ignore_index`` for masks), so padded pixels
    count in no loss and no metric.
    """
    h = max(img.shape[-2] for img, _ in samples)
    w = max(img.shape[-1] for img, _ in samples)
    images = torch.zeros(len(samples), samples[0][0].shape[0], h, w, dtype=samples[0][0].dtype)
    masks = torch.full((len(samples), h, w), ignore_index, dtype=torch.long)
    for i, (img, mask) in enumerate(samples):
        images[i, :, : img.shape[-2], : img.shape[-1]] = img
        masks[i, : mask.shape[-2], : mask.shape[-1]] = mask
    return images, masks


def check_pairs(
    listing: Listing, ignore_index: int, workers: int | None = None
) -> tuple[list[SegSample], list[tuple[SegSample, str]], int, Counter]:
    """Read every mask once: good samples, bad (sample, why) pairs, class count, pixels per value.

    With a class table the class count is its length and larger values are errors; without one
    it is the largest value seen (other than ``ignore_index``) plus one, except that masks holding
    only 0 and 255 are binary: ``listing.classes`` becomes background / foreground with 255 read
    as class 1.
    """
    known = len(listing.classes.names) if listing.classes else None

    def check(sample: SegSample) -> tuple[str | None, Counter | None]:
        try:
            width, height = inspect_image(sample.image)
            mask = read_class_mask(sample, listing.classes)
        except DatasetError as e:
            return e.message, None
        if mask.shape != (height, width):
            mh, mw = mask.shape
            return f"mask {mw}x{mh} differs from image {width}x{height} ({sample.image.name})", None
        values, counts = np.unique(mask, return_counts=True)
        if values.size and values.min() < 0:
            return f"mask has negative value {int(values.min())}", None
        if known is not None:
            bad = [int(v) for v in values if v >= known and v != ignore_index]
            if bad:
                return (
                    f"mask value {bad[0]} is beyond the {known} classes of "
                    f"{Path(listing.classes.source).name} and is not ignore_index {ignore_index}",
                    None,
                )
        return None, Counter(dict(zip(values.tolist(), counts.tolist(), strict=True)))

    with ThreadPoolExecutor(max_workers=workers or min(8, len(listing.samples) or 1)) as pool:
        results = list(pool.map(check, listing.samples))
    good, bad, pixels = [], [], Counter()
    for sample, (why, counts) in zip(listing.samples, results, strict=True):
        if why is None:
            good.append(sample)
            pixels.update(counts)
        else:
            bad.append((sample, why))
    if known is None and ignore_index == 255 and set(pixels) == {0, 255}:
        # Many tools save binary masks as 0 / 255. Read as values, every foreground pixel would be
        # ignore_index and training would see background only, so 255 is class 1 here (recorded
        # in the listing's notes); a classes file or another ignore_index says otherwise.
        listing.classes = ClassTable(["background", "foreground"], values={255: 1})
        listing.notes["binary_masks"] = "masks hold only 0 and 255: read as background / foreground"
        pixels = Counter({0: pixels[0], 1: pixels[255]})
        known = 2
    if known is None:
        seen = [v for v in pixels if v != ignore_index]
        known = max(max(seen, default=0) + 1, 2)
    return good, bad, known, pixels


def assign_splits(
    samples: list[SegSample], val_fraction: float, test_fraction: float, seed: int
) -> dict[str, list[SegSample]]:
    """The source's splits; a missing val (and test) is carved from train by a seeded shuffle."""
    given: dict[str, list[SegSample]] = {}
    unsplit = []
    for s in samples:
        (given.setdefault(s.split, []) if s.split else unsplit).append(s)
    # Sorted by path before the shuffle, so the split depends on the seed, not file-system order.
    return carve_missing(
        unsplit, given, val_fraction, test_fraction, seed, key=lambda s: str(s.image)
    )


def load_semantic_data(
    path: str | Path,
    *,
    format: str = "auto",
    val_fraction: float = 0.2,
    test_fraction: float = 0.0,
    seed: int = 0,
    on_bad_image: str = "fail",
    ignore_index: int = 255,
    train_transform: Callable | None = None,
    eval_transform: Callable | None = None,
) -> DataSplits:
    """Read a semantic segmentation data set into checked train/val(/test) datasets.

    ``summary`` records the format, the classes file, images per split, pixels per class over
    all checked masks, and every skipped pair with the reason.
    """
    if on_bad_image not in ("fail", "skip"):
        raise ConfigError(f"on_bad_image must be 'fail' or 'skip', got {on_bad_image!r}")
    if not 0 <= ignore_index <= 65535:
        raise ConfigError(
            f"ignore_index must be in 0..65535, got {ignore_index}", hint="the default is 255"
        )
    listing = list_semantic(path, format, on_bad_image)
    if not listing.samples:
        raise DatasetError(
            f"{listing.source}: no images found", hint="check the layout (see `--format`)"
        )
    good, bad, num_classes, pixels = check_pairs(listing, ignore_index)
    if bad and on_bad_image == "fail":
        shown = "; ".join(f"{s.image}: {why}" for s, why in bad[:_SHOWN])
        more = f"; and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
        raise DatasetError(
            f"{len(bad)} bad image/mask pair(s) in {listing.source}: {shown}{more}",
            hint="fix or remove them, or pass --on-bad-image skip to leave them out",
        )
    names = listing.classes.names if listing.classes else [f"class_{i}" for i in range(num_classes)]
    splits = assign_splits(good, val_fraction, test_fraction, seed)
    if not splits["train"] or not splits["val"]:
        raise DatasetError(
            f"{listing.source}: {len(splits['train'])} training and {len(splits['val'])} "
            f"validation images after checking ({len(bad)} skipped)",
            hint="segmentation needs at least one image in each of train and val",
        )

    def make(split: str, transform) -> SegmentationDataset | None:
        if split == "test" and not splits["test"]:
            return None
        return SegmentationDataset(splits[split], names, listing.classes, transform, ignore_index)

    return DataSplits(
        train=make("train", train_transform),
        val=make("val", eval_transform),
        test=make("test", eval_transform),
        class_names=names,
        summary=_summary(listing, names, splits, pixels, bad, ignore_index),
    )


def _summary(
    listing: Listing,
    names: list[str],
    splits: dict[str, list[SegSample]],
    pixels: Counter,
    bad: list[tuple[SegSample, str]],
    ignore_index: int,
) -> dict[str, Any]:
    """What the run record keeps about the data: layout, classes, images and pixels, skips."""
    return {
        "format": listing.format,
        "source": str(listing.source),
        "classes_file": listing.classes.source if listing.classes else None,
        "num_classes": len(names),
        "ignore_index": ignore_index,
        "images": {k: len(v) for k, v in splits.items()},
        "pixels_per_class": {names[v]: int(n) for v, n in sorted(pixels.items()) if v < len(names)},
        "ignored_pixels": int(pixels.get(ignore_index, 0)),
        "skipped": len(bad),
        "skipped_files": [f"{s.image}: {why}" for s, why in bad],
        **listing.notes,
    }
