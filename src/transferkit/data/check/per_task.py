"""The per-task half of ``data check``: list a data set with the task's readers, keep going.

Each function reads the data set at ``path`` the way the task's ``load_data`` does, records every
problem in the :class:`~transferkit.data.check.dataset.CheckReport` instead of stopping at the first,
fills the report's summary, and returns ``(rows, after)``: the ``(path, split, label)`` of every
image file, for the decoding, hashing and leakage checks that all tasks share, and an optional
callable run on the decoded files (image size against annotation size, for example).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from transferkit.core.errors import DatasetError
from transferkit.data.images import IMAGE_EXTENSIONS, is_image_file
from transferkit.data.records import Issues

UNSPLIT = "unsplit"
_SHOWN = 5


def classify(path: Path, s: dict[str, Any], report) -> tuple[list, Any]:
    """Image folders / CSV: layout, empty classes, ignored files, counts per class and split."""
    from transferkit.data.datasets.classification import load_classification_data
    from transferkit.data.formats.class_folder import list_source

    empty: list[Path] = []
    walked: list[tuple[str, str, str]] = []
    if path.is_dir() and s["format"] in ("auto", "folder") and not list(path.glob("*.csv")):
        walked, empty = _walk_folder(path)
    for d in empty:
        others = [p.suffix.lower() or p.name for p in d.rglob("*") if p.is_file()]
        found = f"; it holds {', '.join(sorted(set(others)))} files" if others else ""
        report.add(
            "error",
            "empty_class",
            f"class folder {d} has no image "
            f"({', '.join(IMAGE_EXTENSIONS[:6])} …){found}; training stops on it",
            [d],
        )
    listing = None
    try:
        listing = list_source(path, s["format"])
    except DatasetError as e:
        if not (empty and e.message.startswith("empty class folder")):
            report.add("error", "layout", e.message + (f" (hint: {e.hint})" if e.hint else ""))
    if listing is not None:
        report.summary.update(format=listing.format, layout=listing.layout)
        if listing.ignored_files:
            kinds = Counter(p.suffix.lower() or "(no extension)" for p in listing.ignored_files)
            report.add(
                "warning",
                "ignored_files",
                f"{len(listing.ignored_files)} file(s) are "
                f"not read as images ({', '.join(f'{k} {n}' for k, n in kinds.items())})",
                listing.ignored_files,
            )
    try:
        splits = load_classification_data(
            path,
            format=s["format"],
            val_fraction=s["val_fraction"],
            test_fraction=s["test_fraction"],
            seed=s["seed"],
            on_bad_image="skip",
        )
    except DatasetError as e:
        if listing is not None:
            report.add("error", "unusable", f"training would stop: {e.message}")
        entries = listing.entries if listing is not None else []
        rows = [(str(e.path), e.split or UNSPLIT, e.label) for e in entries] or walked
        report.summary["counts"] = _counts(rows)
        return rows, None
    summary = splits.summary
    report.summary.update(
        class_names=splits.class_names,
        counts=summary["counts"],
        totals=summary["totals"],
        split_from=summary["split_from"],
    )
    for split, missing in summary.get("classes_missing", {}).items():
        report.add(
            "warning",
            "class_missing_in_split",
            f"the {split} split has no image of "
            f"{', '.join(map(repr, missing))}: their {split} metrics cannot be measured",
        )
    rows = []
    for split in ("train", "val", "test"):
        ds = getattr(splits, split)
        if ds is not None:
            rows += [(p, split, splits.class_names[label]) for p, label in ds.samples]
    # Unreadable files were skipped by the loader; they are decoded again to be reported.
    rows += [(f["path"], UNSPLIT, None) for f in summary.get("skipped_files", [])]
    return rows, None


def boxes(path: Path, s: dict[str, Any], report, instance: bool = False) -> tuple[list, Any]:
    """COCO / VOC / YOLO: every bad annotation, empty categories, sizes against the files."""
    from transferkit.data.formats.coco import read_coco
    from transferkit.data.formats.voc import read_voc
    from transferkit.data.formats.yolo import read_yolo
    from transferkit.data.records import assign_splits, detect_format, split_summary

    issues = RecordingIssues()
    try:
        fmt = detect_format(path) if s["format"] == "auto" else s["format"]
        readers = {"coco": read_coco, "voc": read_voc, "yolo": read_yolo}
        if fmt not in readers:
            raise DatasetError(f"unknown box format {fmt!r}; use coco, voc or yolo")
        source = readers[fmt](path, issues)
        if instance:
            from transferkit.data.datasets.instance import check_records

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
    records = [(r, split) for split, rs in splits.items() for r in rs]

    def sizes(infos) -> None:
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

    rows = [(str(r.path), split, None) for r, split in records]
    return rows, sizes


def instances(path: Path, s: dict[str, Any], report) -> tuple[list, Any]:
    """Boxes plus a usable polygon / RLE mask for every object (instance segmentation)."""
    return boxes(path, s, report, instance=True)


def segment(path: Path, s: dict[str, Any], report) -> tuple[list, Any]:
    """Image/mask pairs: unreadable or mismatched masks, values beyond the classes, empty ones."""
    from transferkit.data.datasets.segmentation import assign_splits, check_pairs
    from transferkit.data.formats.mask_folder import list_semantic

    try:
        listing = list_semantic(path, s["format"], "skip")
    except DatasetError as e:
        report.add("error", "layout", e.message)
        return [], None
    good, bad, num_classes, pixels = check_pairs(listing, s["ignore_index"])
    for sample, why in bad:
        report.add("error", "bad_mask", f"{sample.image}: {why}", [sample.image])
    names = listing.classes.names if listing.classes else [f"class_{i}" for i in range(num_classes)]
    splits = assign_splits(good, s["val_fraction"], s["test_fraction"], s["seed"])
    for split in ("train", "val"):
        if not splits[split]:
            report.add("error", "unusable", f"training would stop: no {split} image left")
    report.summary.update(
        format=listing.format,
        class_names=names,
        classes_file=listing.classes.source if listing.classes else None,
        images={k: len(v) for k, v in splits.items()},
        pixels_per_class={n: int(pixels.get(i, 0)) for i, n in enumerate(names)},
        ignored_pixels=int(pixels.get(s["ignore_index"], 0)),
    )
    for i, n in enumerate(names):
        if not pixels.get(i) and listing.classes:
            report.add("error", "empty_class", f"class {n!r} (value {i}) appears in no mask")
    rows = [(str(x.image), split, None) for split, xs in splits.items() for x in xs]
    rows += [(str(x.image), x.split or UNSPLIT, None) for x, _ in bad]
    return rows, None


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


def _walk_folder(root: Path) -> tuple[list[tuple[str, str, str]], list[Path]]:
    """Every image of an image-folder data set, and the class folders that hold none."""
    from transferkit.data.formats.class_folder import SPLIT_ALIASES

    def visible(folder: Path) -> list[Path]:
        return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))

    dirs = visible(root)
    split_dirs = [d for d in dirs if d.name.lower() in SPLIT_ALIASES]
    if any(d.name.lower() == "train" for d in split_dirs):
        parents = [(SPLIT_ALIASES[d.name.lower()], d) for d in split_dirs]
    else:
        parents = [(UNSPLIT, root)]
    rows, empty = [], []
    for split, parent in parents:
        for class_dir in visible(parent):
            files = [
                p
                for p in sorted(class_dir.rglob("*"))
                if p.is_file()
                and is_image_file(p)
                and not any(x.startswith(".") for x in p.relative_to(class_dir).parts)
            ]
            if not files:
                empty.append(class_dir)
            rows += [(str(p), split, class_dir.name) for p in files]
    return rows, empty


def _counts(rows: list[tuple[str, str, str | None]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for _, split, label in rows:
        out.setdefault(split, Counter())[str(label)] += 1
    return {k: dict(sorted(v.items())) for k, v in out.items()}
