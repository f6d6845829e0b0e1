"""Semantic segmentation sources: find the image/mask pairs and the class table of a data set.

Layouts read (``format="auto"`` picks from what is on disk):

* ``folder``: ``images/`` and ``masks/`` (or ``annotations/``, ``labels/``; mmseg's ``img_dir/``
  and ``ann_dir/``) with the same file stems (a mask may also be named ``<stem>_mask``),
  optionally inside ``train/``, ``val/`` (``valid``, ``validation``) and ``test/`` folders, or
  split the other way round (``images/training``, ``annotations/training`` as ADE20K and mmseg
  do); also Roboflow's export, where ``<stem>_mask.png`` sits next to each image in the split
  folder with a ``_classes.csv``.
* ``voc``: Pascal VOC (``JPEGImages/``, ``SegmentationClass/``, ``ImageSets/Segmentation/*.txt``),
  also inside ``VOCdevkit/VOC20xx`` and as CVAT exports it (RGB masks + ``labelmap.txt``).
* ``coco``: COCO instances JSON (any layout :mod:`transferkit.data.formats.coco` reads); polygons and RLE
  are rasterised to class masks, 0 = background, category k = its contiguous label.

Class names (and colours for RGB masks) come from a classes file next to the data
(:data:`CLASSES_FILES`); without one, classes are numbered from the mask values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.core.errors import DatasetError
from transferkit.data.formats import MASKS, Format, find_format, get_format, require_path
from transferkit.data.formats.classes_file import ClassTable, find_classes_file, read_classes_file
from transferkit.data.images import is_image_file

_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
_IMAGE_DIRS = ("images", "img_dir", "imgs", "JPEGImages")
_MASK_DIRS = ("masks", "annotations", "ann_dir", "labels", "SegmentationClass")


@dataclass
class SegSample:
    """One image and where its class mask comes from (a mask file, or a callable for COCO)."""

    image: Path
    mask: Path | Callable[[], np.ndarray]
    split: str | None = None

    @property
    def stem(self) -> str:
        return self.image.stem


@dataclass
class Listing:
    """What a layout reader found: samples, a class table (if the data set has one), the format."""

    samples: list[SegSample]
    classes: ClassTable | None
    format: str
    source: Path
    notes: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- layouts


def list_semantic(path: str | Path, format: str = "auto", on_bad: str = "fail") -> Listing:
    """List the image/mask pairs of a semantic data set in any supported layout.

    ``on_bad`` (fail | skip) applies to bad COCO annotations; mask files are checked later, when
    they are read (:func:`transferkit.data.datasets.segmentation.load_semantic_data`).
    """
    path = Path(path)
    if format != "auto":
        reader = get_format(format, MASKS, "segmentation data").list_masks
    require_path(path)
    if format == "auto":
        reader = get_format(detect_format(path), MASKS, "segmentation data").list_masks
    return reader(path, on_bad)


def detect_format(path: Path) -> str:
    """The first registered format holding semantic masks at ``path``; a DatasetError else."""
    found = find_format(path, MASKS)
    if found is None:
        raise DatasetError(
            f"{path}: no segmentation data set recognised",
            hint="expected images/ + masks/ folders (optionally under train/ val/ test/), a VOC "
            "folder (JPEGImages/ + SegmentationClass/), or a COCO annotations JSON",
        )
    return found


def image_files(folder: Path) -> list[Path]:
    """Visible image files directly in ``folder``, sorted."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and is_image_file(p)
    )


def _subdir(folder: Path, names) -> Path | None:
    for name in names:
        if (folder / name).is_dir():
            return folder / name
    return None


def _mask_dir(folder: Path) -> Path | None:
    """The mask folder of ``folder``: one of :data:`_MASK_DIRS` holding image files (directly or
    in split sub-folders), so that COCO's ``annotations/`` or YOLO's ``labels/`` do not count."""
    for name in _MASK_DIRS:
        d = folder / name
        if d.is_dir() and (image_files(d) or any(image_files(s) for s in _split_dirs(d).values())):
            return d
    return None


def _split_dirs(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {
        _SPLIT_ALIASES[p.name.lower()]: p
        for p in sorted(folder.iterdir())
        if p.is_dir() and p.name.lower() in _SPLIT_ALIASES
    }


def _folder_pairs(root: Path) -> list[tuple[Path, Path | None, str | None]]:
    """(image folder, mask folder or None for side-by-side ``_mask`` files, split) triples."""
    if not root.is_dir():
        return []
    images, masks = _subdir(root, _IMAGE_DIRS), _mask_dir(root)
    if images and masks:
        img_splits, mask_splits = _split_dirs(images), _split_dirs(masks)
        if img_splits:  # images/train + masks/train (ADE20K, mmseg)
            return [(d, mask_splits.get(s, masks / d.name), s) for s, d in img_splits.items()]
        return [(images, masks, None)]
    out = []
    for split, d in _split_dirs(root).items():
        images, masks = _subdir(d, _IMAGE_DIRS), _mask_dir(d)
        if images and masks:
            out.append((images, masks, split))
        elif any(p.stem.endswith("_mask") for p in image_files(d)):
            out.append((d, None, split))  # Roboflow: x.jpg next to x_mask.png
    if not out and any(p.stem.endswith("_mask") for p in image_files(root)):
        out.append((root, None, None))
    return out


def list_folder(root: Path, on_bad: str = "fail") -> Listing:
    """Image/mask pairs of a folder layout (``on_bad`` is unused: mask files are checked later)."""
    triples = _folder_pairs(root)
    if not triples:
        raise DatasetError(
            f"{root}: no images/ + masks/ folders found",
            hint="put images in images/ and masks with the same file names in masks/",
        )
    samples: list[SegSample] = []
    unpaired = 0
    for img_dir, mask_dir, split in triples:
        files = image_files(img_dir)
        if mask_dir is None:
            masks = {p.stem[: -len("_mask")]: p for p in files if p.stem.endswith("_mask")}
            files = [p for p in files if not p.stem.endswith("_mask")]
        else:
            masks = {}
            for p in image_files(mask_dir) if mask_dir.is_dir() else []:
                stem = p.stem[: -len("_mask")] if p.stem.endswith("_mask") else p.stem
                # With several mask files of one stem (x.png and x.jpg), PNG wins: it is lossless.
                if stem not in masks or p.suffix.lower() == ".png":
                    masks[stem] = p
        stems = {p.stem for p in files}
        unpaired += sum(1 for s in masks if s not in stems)
        mask_home = mask_dir or img_dir
        for p in files:
            samples.append(SegSample(p, masks.get(p.stem, mask_home / f"{p.stem}.png"), split))
    folders = [root] + [t[0] for t in triples] + [t[0].parent for t in triples]
    classes_file = find_classes_file(*dict.fromkeys(folders))
    classes = read_classes_file(classes_file) if classes_file else None
    return Listing(samples, classes, "folder", root, {"masks_without_image": unpaired})


FORMAT = Format(
    "folder",
    detect_masks=lambda path: bool(_folder_pairs(path)),
    list_masks=list_folder,
)
