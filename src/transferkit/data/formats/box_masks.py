"""Semantic segmentation from a format that holds instances (COCO, YOLO polygons, LabelMe).

:func:`masks_from_boxes` turns a format's ``read_boxes`` into its ``list_masks``: every image of
the source, with a class mask rasterised from its objects' polygons / RLE when it is read (0 =
background, an object's contiguous label its class; later objects over earlier ones). An object
without a segmentation (a plain box) is reported, and skipped and counted under ``skip``: left
out of the mask, its pixels would silently become background. What was skipped or repaired is
in the listing's ``annotation_issues`` note, which ``data check`` reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transferkit.data.formats.classes_file import ClassTable
from transferkit.data.formats.mask_folder import Listing, SegSample
from transferkit.data.masks import instances_to_class_mask, segmentation_to_mask
from transferkit.data.records import ALL, DetectionSource, Issues


@dataclass
class ObjectsClassMask:
    """Class mask of one image, rasterised from its objects when called."""

    objects: list  # records.ObjectAnn with .segmentation and .label
    height: int
    width: int
    where: str

    def __call__(self) -> np.ndarray:
        masks = [
            segmentation_to_mask(
                o.segmentation, self.height, self.width, f"{self.where}, object {i + 1}"
            )
            for i, o in enumerate(self.objects)
        ]
        return instances_to_class_mask(
            masks, [o.label for o in self.objects], self.height, self.width
        )


class SortedIssues(Issues):
    """:class:`Issues` that remember which kinds were skipped (the rest were repaired)."""

    def __init__(self, on_bad: str):
        super().__init__(on_bad)
        self.skipped: set[str] = set()

    def bad(self, kind: str, message: str) -> None:
        """Raise under ``fail``; else count the item as skipped."""
        super().bad(kind, message)
        self.skipped.add(kind)

    def summary(self) -> dict:
        """Counts, one example per kind, and the kinds skipped (``data check`` errors)."""
        return {**super().summary(), "skipped": sorted(self.skipped)}


def source_listing(source: DetectionSource, path: Path, issues: Issues) -> Listing:
    """The images of ``source`` with their class masks (objects without segmentation reported)."""
    samples = []
    for split, records in source.splits.items():
        for r in records:
            where = f"{r.file_name or r.path.name} (image id {r.image_id})"
            kept = []
            for i, o in enumerate(r.objects):
                if o.segmentation is None:
                    issues.bad(
                        "no_segmentation", f"{path}: {where}, object {i + 1} has no segmentation"
                    )
                    continue
                kept.append(o)
            mask = ObjectsClassMask(kept, r.height, r.width, f"{path}: {where}")
            samples.append(SegSample(r.path, mask, None if split == ALL else split))
    classes = ClassTable(["background", *source.class_names], None, str(path))
    notes = {"annotation_issues": issues.summary()}
    return Listing(samples, classes, source.format, source.root, notes)


def masks_from_boxes(read_boxes: Callable[[Path, Issues], DetectionSource]):
    """A format's ``list_masks`` (``(path, on_bad) -> Listing``) built on its ``read_boxes``."""

    def list_masks(path: Path, on_bad: str) -> Listing:
        issues = SortedIssues(on_bad)
        return source_listing(read_boxes(path, issues), path, issues)

    return list_masks
