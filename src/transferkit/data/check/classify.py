"""``data check`` for classification: list image folders / CSV files as training does, keep going.

Like every lister of this package (:mod:`.boxes`, :mod:`.masks`), :func:`check_classify` reads the
data set at ``path`` the way ``load_data`` does, records every problem in the
:class:`~transferkit.data.check.dataset.CheckReport` instead of stopping at the first, fills the
report's summary, and returns ``(rows, after)``: the ``(path, split, label)`` of every image file,
for the decoding, hashing and leakage checks that all tasks share, and an optional callable run on
the decoded files (image size against annotation size, for example).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from transferkit.core.errors import DatasetError
from transferkit.data.datasets import DataSplits
from transferkit.data.datasets.classification import load_classification_data
from transferkit.data.formats.class_folder import SPLIT_ALIASES, Listing, list_source
from transferkit.data.images import IMAGE_EXTENSIONS, is_image_file

UNSPLIT = "unsplit"


def check_classify(path: Path, s: dict[str, Any], report) -> tuple[list, Any]:
    """Image folders / CSV: layout, empty classes, ignored files, counts per class and split."""
    walked: list[tuple[str, str, str]] = []
    empty: list[Path] = []
    if path.is_dir() and s["format"] in ("auto", "folder") and not list(path.glob("*.csv")):
        walked, empty = _walk_folder(path)
    _report_empty(empty, report)
    listing = _listing(path, s["format"], report, bool(empty))
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
    return _summarise(splits, report), None


def _report_empty(empty: list[Path], report) -> None:
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


def _listing(path: Path, format: str, report, has_empty: bool) -> Listing | None:
    """The source's listing (layout errors reported), with its ignored files as a warning."""
    try:
        listing = list_source(path, format)
    except DatasetError as e:
        if not (has_empty and e.message.startswith("empty class folder")):
            report.add("error", "layout", e.message + (f" (hint: {e.hint})" if e.hint else ""))
        return None
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
    return listing


def _summarise(splits: DataSplits, report) -> list[tuple[str, str, str | None]]:
    """Counts and missing classes into the report; the ``(path, split, label)`` rows."""
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
    return rows


def _walk_folder(root: Path) -> tuple[list[tuple[str, str, str]], list[Path]]:
    """Every image of an image-folder data set, and the class folders that hold none."""

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
