"""Annotation formats: the FORMATS registry, and how a format is found for a path.

A format is one module that defines ``FORMAT``, a :class:`Format` naming what it can do: detect
itself on disk and read boxes / instances (``read_boxes``), write them (``write_boxes``), or list
image/mask pairs for semantic segmentation (``list_masks``), or list images with their label sets
for multi-label classification (``list_labels``). Readers, converters and ``data check``
look formats up here and never import a format module themselves, so adding a format is that
module plus one line below. Registration order is auto-detection order (first match wins).
Classification's image folders and CSV files have their own lister in
:mod:`transferkit.data.formats.class_folder`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transferkit.core.errors import ConfigError, DatasetError, did_you_mean
from transferkit.core.registry import Registry

BOXES, MASKS, LABELS = (
    "read_boxes",
    "list_masks",
    "list_labels",
)  # what a caller needs a format to do
_DETECTORS = {BOXES: "detect_boxes", MASKS: "detect_masks", LABELS: "detect_labels"}


@dataclass(frozen=True)
class Format:
    """What one annotation format reads and writes (``None``: not supported)."""

    name: str
    detect_boxes: Callable[[Path], bool] | None = None  # holds boxes in this format?
    read_boxes: Callable[..., Any] | None = None  # (path, issues) -> DetectionSource
    write_boxes: Callable[..., Any] | None = None  # (dst, splits, class_names, category_ids)
    detect_masks: Callable[[Path], bool] | None = None  # holds semantic masks in this format?
    list_masks: Callable[..., Any] | None = None  # (path, on_bad) -> mask_folder.Listing
    keeps_ignore_regions: bool = True  # can the writer mark crowd / difficult regions "ignore"?
    detect_labels: Callable[[Path], bool] | None = None  # holds image label sets this way?
    list_labels: Callable[..., Any] | None = None  # (path) -> data.labels.LabelListing


FORMATS: Registry[Format] = Registry("format")
FORMATS.register("yolo", "transferkit.data.formats.yolo:FORMAT")
FORMATS.register("voc", "transferkit.data.formats.voc:FORMAT")
FORMATS.register("folder", "transferkit.data.formats.mask_folder:FORMAT")
FORMATS.register("labelme", "transferkit.data.formats.labelme:FORMAT")
FORMATS.register("coco", "transferkit.data.formats.coco:FORMAT")
FORMATS.register("label_csv", "transferkit.data.formats.label_csv:FORMAT")
FORMATS.register("label_folder", "transferkit.data.formats.label_folder:FORMAT")


def formats_for(ability: str) -> list[str]:
    """Names of the formats that can do ``ability`` (:data:`BOXES`, :data:`MASKS`, :data:`LABELS`,
    ``write_boxes``)."""
    return [name for name, f in FORMATS.items() if getattr(f, ability) is not None]


def get_format(name: str, ability: str, what: str, auto: bool = True) -> Format:
    """The format ``name``, refused with the valid names (``auto`` first when it is one of them)
    when it cannot do ``ability``."""
    valid = formats_for(ability)
    if name not in valid:
        raise ConfigError(
            f"unknown {what} format {name!r}.{did_you_mean(name, valid)}",
            hint=f"valid formats: {', '.join((['auto'] if auto else []) + valid)}",
        )
    return FORMATS.get(name)


def find_format(path: Path, ability: str) -> str | None:
    """The first registered format that recognises ``path`` for ``ability``, else ``None``."""
    detector = _DETECTORS[ability]
    for name, f in FORMATS.items():
        detect = getattr(f, detector)
        if detect is not None and getattr(f, ability) is not None and detect(path):
            return name
    return None


def require_path(path: Path) -> None:
    """A :class:`DatasetError` when ``path`` does not exist."""
    if not path.exists():
        raise DatasetError(f"data path not found: {path}", hint="check the path given to --data")
