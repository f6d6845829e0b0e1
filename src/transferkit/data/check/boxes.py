"""``data check`` for detection and instance segmentation: every bad annotation, not the first.

The box format is found through the FORMATS registry and read with an :class:`Issues` that keeps
every message; instance segmentation also checks each object's polygon / RLE. Splits are made as
training makes them (see :mod:`transferkit.data.check.classify` for the lister contract).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.core.errors import DatasetError
from transferkit.data.datasets.instance import check_records
from transferkit.data.formats import BOXES, get_format
from transferkit.data.records import (
    DetectionRecord,
    DetectionSource,
    Issues,
    assign_splits,
    detect_format,
    split_summary,
)


class RecordingIssues(Issues):
    """Annotation issues that keep every message (``Issues`` keeps one example per kind)."""

    def __init__(self):
        super().__init__("skip")
        self.items: list[tuple[str, str, str]] = []

    def bad(self, kind: str, message: str) -> None:
        """An item training would skip (or stop on): an error."""
        self.items.append(("error", kind, message))
        Issues.note(self, kind, message)

    def note(self, kind: str, message: str) -> None:
        """An item training repairs (a box clipped to the image): a warning."""
        self.items.append(("warning", kind, message))
        super().note(kind, message)


def check_boxes(path: Path, s: dict[str, Any], report, instance: bool = False) -> tuple[list, Any]:
    """COCO / VOC / YOLO …: every bad annotation, empty categories, sizes against the files."""
    issues = RecordingIssues()
    try:
        fmt = detect_format(path) if s["format"] == "auto" else s["format"]
        source = get_format(fmt, BOXES, "box").read_boxes(path, issues)
        if instance:
            for records in source.splits.values():
                check_records(records, issues)
    except DatasetError as e:
        report.add("error", "unreadable_annotations", e.message)
        return [], None
    for severity, kind, message in issues.items:
        report.add(severity, kind, message)
    try:
        splits = assign_splits(source, s["val_fraction"], s["test_fraction"], s["seed"])
    except DatasetError as e:
        report.add("error", "unusable", f"training would stop: {e.message}")
        splits = {name: records for name, records in source.splits.items() if records}
    _summarise(source, splits, report)
    records = [(r, split) for split, rs in splits.items() for r in rs]
    rows = [(str(r.path), split, None) for r, split in records]
    return rows, lambda infos: _check_sizes(records, infos, report)


def check_instances(path: Path, s: dict[str, Any], report) -> tuple[list, Any]:
    """Boxes plus a usable polygon / RLE mask for every object (instance segmentation)."""
    return check_boxes(path, s, report, instance=True)


def _summarise(source: DetectionSource, splits: dict[str, list[DetectionRecord]], report) -> None:
    """Objects per class and split into the summary; empty and unmeasurable classes reported."""
    names = source.class_names
    per_split = split_summary(splits, names)
    report.summary.update(
        format=source.format,
        class_names=names,
        splits=per_split,
        objects_per_class={
            n: {k: v["objects_per_class"].get(n, 0) for k, v in per_split.items()} for n in names
        },
    )
    for n in names:
        total = sum(v["objects_per_class"].get(n, 0) for v in per_split.values())
        if total == 0:
            report.add("error", "empty_class", f"category {n!r} has no object in any split")
        elif (
            "val" in per_split
            and per_split["val"]["images"]
            and not per_split["val"]["objects_per_class"].get(n)
        ):
            report.add(
                "warning",
                "class_missing_in_split",
                f"the val split has no object of {n!r}: its AP cannot be measured",
            )


def _check_sizes(records: list[tuple[DetectionRecord, str]], infos, report) -> None:
    """Decoded image sizes against the sizes the annotations give."""
    for r, _ in records:
        info = infos.get(str(r.path))
        if info and info.size and tuple(info.size) != (r.width, r.height):
            report.add(
                "error",
                "size_mismatch",
                f"{r.path}: image is {info.size[0]}x"
                f"{info.size[1]} but its annotation says {r.width}x{r.height}; "
                "the boxes would be misplaced",
                [r.path],
            )
