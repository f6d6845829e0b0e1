"""Detection data: one record type for every format, box checks, reading and splitting a source.

Every box reader (a format of :mod:`transferkit.data.formats`: COCO, Pascal VOC, YOLO …) turns its files into :class:`DetectionRecord` objects: the
image path and size, and one :class:`ObjectAnn` per object with its box in absolute pixel XYXY
coordinates (pixel-edge convention: a box covering the first pixel column is ``[0, 1)``), a
contiguous label (1-based; 0 is the background of torchvision detectors), and what the format adds
(``iscrowd`` and ``segmentation`` from COCO, ``difficult`` from VOC).

Bad annotations go through :class:`Issues`: with ``on_bad="fail"`` the first one raises a
:class:`DatasetError` naming the file and item; with ``"skip"`` the item is dropped and counted.
Boxes that leave the image are clipped and counted, or an error under ``strict``.
:func:`read_source` finds the reader through the FORMATS registry (``format="auto"``: the first
format that recognises the path); :func:`assign_splits` completes the source's splits with the
one carve of :mod:`transferkit.data.splits`.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from transferkit.core.errors import ConfigError, DatasetError
from transferkit.data.formats import BOXES, find_format, get_format, require_path
from transferkit.data.images import oriented_size
from transferkit.data.splits import carve_missing

ALL = "all"  # the split name of a source that comes without splits
# Folder names that mean a split, as exporters spell them (Roboflow writes "valid").
SPLIT_ALIASES = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}
# A box may overshoot the image by this many pixels (rounding in the file) without counting as
# clipped: YOLO's normalised floats and VOC's 1-based integers both produce such overshoots.
CLIP_TOLERANCE = 1e-3


@dataclass
class ObjectAnn:
    """One annotated object: XYXY pixel box, contiguous 1-based label, and format extras."""

    box: tuple[float, float, float, float]
    label: int
    iscrowd: bool = False
    difficult: bool = False
    segmentation: Any = None  # COCO polygons (list) or RLE (dict), as stored in the file
    area: float | None = None  # COCO 'area' when the file gives one

    @property
    def box_area(self) -> float:
        x1, y1, x2, y2 = self.box
        return (x2 - x1) * (y2 - y1)


@dataclass
class DetectionRecord:
    """One image and its objects."""

    path: Path
    width: int
    height: int
    image_id: int
    objects: list[ObjectAnn] = field(default_factory=list)
    file_name: str = ""  # the name the annotation file uses (relative), kept for writers

    def boxes(self, include_crowd: bool = True) -> np.ndarray:
        """``(N, 4)`` float32 XYXY boxes."""
        objs = [o for o in self.objects if include_crowd or not o.iscrowd]
        return np.array([o.box for o in objs], dtype=np.float32).reshape(-1, 4)

    def labels(self, include_crowd: bool = True) -> np.ndarray:
        """``(N,)`` int64 contiguous labels."""
        objs = [o for o in self.objects if include_crowd or not o.iscrowd]
        return np.array([o.label for o in objs], dtype=np.int64)


@dataclass
class DetectionSource:
    """What a reader returns: records per split, the classes, and what it skipped or clipped.

    ``category_ids[i]`` is the id the source uses for label ``i + 1`` (COCO category ids; YOLO
    class index + 1; VOC label position + 1), so predictions can be written in the source's ids.
    ``coco`` holds the raw COCO dict of each split when the source is COCO JSON.
    """

    format: str
    root: Path
    class_names: list[str]
    category_ids: list[int]
    splits: dict[str, list[DetectionRecord]]
    issues: Issues
    coco: dict[str, dict] = field(default_factory=dict)


class Issues:
    """Bad annotations: raise on the first one (``fail``) or count them (``skip``)."""

    def __init__(self, on_bad: str = "fail", strict: bool = False):
        if on_bad not in ("fail", "skip"):
            raise ConfigError(
                f"on_bad must be 'fail' or 'skip', got {on_bad!r}",
                hint="pass --on-bad-image fail or --on-bad-image skip",
            )
        self.on_bad = on_bad
        self.strict = strict
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def bad(self, kind: str, message: str, hint: str | None = None) -> None:
        """Report one bad item: raise under ``fail`` (``hint``: the fix), else count it as skipped."""
        if self.on_bad == "fail":
            fix = f"{hint}; or pass --on-bad-image skip" if hint else None
            raise DatasetError(
                message, hint=fix or "fix the annotation, or pass --on-bad-image skip"
            )
        self.note(kind, message)

    def note(self, kind: str, message: str) -> None:
        """Count an item that was kept after a repair (or skipped), remembering one example."""
        self.counts[kind] += 1
        self.examples.setdefault(kind, message)

    def summary(self) -> dict[str, Any]:
        """Counts per kind plus one example message each (for the run record)."""
        return {"counts": dict(self.counts), "examples": dict(self.examples)}


def check_box(
    box: tuple[float, float, float, float],
    width: int,
    height: int,
    where: str,
    issues: Issues,
) -> tuple[float, float, float, float] | None:
    """Validate an XYXY box against the image: clip (counted) or raise; ``None`` drops it."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(np.isfinite(v) for v in (x1, y1, x2, y2)):
        issues.bad("bad_box", f"{where}: box {list(box)} has a non-finite value")
        return None
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        issues.bad(
            "degenerate_box",
            f"{where}: box [x1={x1:g}, y1={y1:g}, x2={x2:g}, y2={y2:g}] has zero or negative area",
        )
        return None
    cx1, cy1 = min(max(x1, 0.0), width), min(max(y1, 0.0), height)
    cx2, cy2 = min(max(x2, 0.0), width), min(max(y2, 0.0), height)
    moved = max(abs(cx1 - x1), abs(cy1 - y1), abs(cx2 - x2), abs(cy2 - y2))
    if moved > CLIP_TOLERANCE:
        message = f"{where}: box [{x1:g}, {y1:g}, {x2:g}, {y2:g}] leaves the {width}x{height} image"
        if issues.strict:
            raise DatasetError(message, hint="fix the box, or drop --strict to clip it")
        issues.note("clipped_box", message)
    if cx2 - cx1 <= 0 or cy2 - cy1 <= 0:
        issues.bad("degenerate_box", f"{where}: box lies outside the {width}x{height} image")
        return None
    return (cx1, cy1, cx2, cy2)


def image_size(path: Path) -> tuple[int, int]:
    """Upright ``(width, height)`` of an image, read from its header."""
    try:
        with Image.open(path) as im:
            return oriented_size(im)
    except FileNotFoundError:
        raise DatasetError(f"image file not found: {path}") from None
    except Exception as e:  # PIL raises many types for unreadable headers
        raise DatasetError(
            f"cannot read image {path}: {e}",
            hint="replace or delete the file, or pass --on-bad-image skip",
        ) from None


def dedupe(records: list[DetectionRecord], where: str, issues: Issues) -> list[DetectionRecord]:
    """Drop (counted) or refuse records whose image file appears more than once."""
    seen: set[Path] = set()
    out = []
    for r in records:
        key = r.path.resolve()
        if key in seen:
            issues.bad("duplicate_image", f"{where}: image {r.file_name or r.path} is listed twice")
            continue
        seen.add(key)
        out.append(r)
    return out


def assign_splits(
    source: DetectionSource, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, list[DetectionRecord]]:
    """Train/val/test record lists: the source's own splits, else a seeded split of its images.

    A source with a train split but no val split gets ``val_fraction`` of train as val. Images
    are ordered by file name before the seeded shuffle, so the split does not depend on listing
    order.
    """
    splits = dict(source.splits)
    out = carve_missing(
        splits.pop(ALL, []),
        splits,
        val_fraction,
        test_fraction,
        seed,
        key=lambda r: (r.file_name, str(r.path)),
    )
    if not out["train"]:
        raise DatasetError(
            f"{source.root}: no training images left after reading and filtering",
            hint="check the annotation files and image paths (skipped: "
            f"{dict(source.issues.counts) or 'none'})",
        )
    if not out["val"]:
        raise DatasetError(
            f"{source.root}: no validation images (train has {len(out['train'])})",
            hint="add a val split or raise --val-fraction",
        )
    return out


def split_summary(splits: dict[str, list[DetectionRecord]], class_names: list[str]) -> dict:
    """Images and objects per split and per class (for the run record)."""
    out: dict[str, Any] = {}
    for name, records in splits.items():
        per_class = Counter(class_names[o.label - 1] for r in records for o in r.objects)
        out[name] = {
            "images": len(records),
            "objects": sum(len(r.objects) for r in records),
            "images_without_objects": sum(1 for r in records if not r.objects),
            "objects_per_class": dict(per_class),
        }
    return out


def detect_format(path: str | Path) -> str:
    """The name of the box format ``path`` holds (first match in FORMATS); a DatasetError else."""
    path = Path(path)
    require_path(path)
    found = find_format(path, BOXES)
    if found is not None:
        return found
    if path.is_file():
        raise DatasetError(
            f"{path}: cannot tell the annotation format from a '{path.suffix.lower()}' file",
            hint="pass a COCO .json, a YOLO data.yaml, or a data set folder",
        )
    raise DatasetError(
        f"{path}: no COCO JSON, VOC Annotations/ folder or YOLO data.yaml / labels/ found",
        hint="pass --format coco|voc|yolo with the annotation file or data set folder",
    )


def read_source(
    path: str | Path, format: str = "auto", on_bad: str = "fail", strict: bool = False
) -> DetectionSource:
    """Read a detection data set in any supported format (``format="auto"`` detects it)."""
    path = Path(path)
    if format == "auto":
        format = detect_format(path)
    else:
        require_path(path)
    reader = get_format(format, BOXES, "detection").read_boxes
    source = reader(path, Issues(on_bad, strict))
    if not any(source.splits.values()):
        raise DatasetError(
            f"{path}: no images left after reading ({source.issues.summary()['counts'] or 'none'} "
            "skipped)",
            hint="check the annotation files and image paths",
        )
    return source


def copy_images(records: list[DetectionRecord], folder: Path) -> list[str]:
    """Copy each record's image into ``folder`` under a unique name; the names, in order."""
    names: list[str] = []
    taken: set[str] = set()
    for r in records:
        name = r.path.name
        stem, suffix, n = r.path.stem, r.path.suffix, 1
        while name in taken:
            n += 1
            name = f"{stem}_{n}{suffix}"
        taken.add(name)
        shutil.copy2(r.path, folder / name)
        names.append(name)
    return names
