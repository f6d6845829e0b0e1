"""Multi-label CSV files: ``path,labels`` (labels separated by ``;`` or spaces) or one-hot
(``path,cat,dog,outdoor`` with 0/1 cells), each with an optional ``split`` column.

Paths are relative to the CSV's folder (absolute paths are kept). An empty ``labels`` cell, or a
one-hot row of zeros, is an image with no label: kept, and counted by the loader.
"""

from __future__ import annotations

import csv
from pathlib import Path

from transferkit.core.errors import DatasetError, did_you_mean
from transferkit.data.formats import Format
from transferkit.data.formats.class_folder import check_csv_rows
from transferkit.data.labels import SPLIT_ALIASES, LabelEntry, LabelListing, split_labels

_HINT = "the first line names the columns: path,labels[,split] or path,<class>,<class>...[,split]"


def _header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return [c.strip() for c in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _is_label_csv(path: Path) -> bool:
    columns = [c.lower() for c in _header(path)]
    return "path" in columns and "label" not in columns and len(columns) >= 2


def _csv_of(path: Path) -> list[Path]:
    return [p for p in sorted(path.glob("*.csv")) if _is_label_csv(p)] if path.is_dir() else []


def detect(path: Path) -> bool:
    """A ``.csv`` file with a ``path`` column (and no single ``label`` column), or a folder
    holding exactly one."""
    if path.is_file():
        return path.suffix.lower() == ".csv" and _is_label_csv(path)
    return len(_csv_of(path)) == 1


def list_labels(path: Path) -> LabelListing:
    """The rows of a multi-label CSV (``path`` may be its folder), checked column by column."""
    if path.is_dir():
        found = _csv_of(path)
        if len(found) != 1:
            raise DatasetError(
                f"{path}: expected one multi-label CSV file, found {len(found)}", hint=_HINT
            )
        path = found[0]
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    rows = [(i, r) for i, r in enumerate(rows, 1) if any(c.strip() for c in r)]
    if not rows:
        raise DatasetError(f"{path} is empty", hint=_HINT)
    columns = [c.strip() for c in rows[0][1]]
    lower = [c.lower() for c in columns]
    if "path" not in lower or len(columns) < 2:
        raise DatasetError(f"{path}: no 'path' column (found {', '.join(columns)})", hint=_HINT)
    i_split = lower.index("split") if "split" in lower else None
    one_hot = "labels" not in lower
    classes = [c for c, low in zip(columns, lower) if low not in ("path", "split")]
    listing = LabelListing("label_csv", path, declared_classes=classes if one_hot else None)
    missing: list[str] = []
    for line, row in rows[1:]:
        where = f"{path}:{line}"
        if len(row) < len(columns):
            raise DatasetError(
                f"{where}: expected {len(columns)} columns ({','.join(columns)}), got {len(row)}",
                hint="fix the line, or quote values that contain commas",
            )
        cell = dict(zip(lower, row))
        rel = cell["path"].strip()
        if not rel:
            raise DatasetError(f"{where}: the path is empty", hint="fill it in or drop the line")
        labels = _one_hot(row, columns, lower, where) if one_hot else split_labels(cell["labels"])
        split = _split(row[i_split], where) if i_split is not None else None
        image = Path(rel).expanduser()
        image = image if image.is_absolute() else path.parent / image
        if not image.is_file():
            missing.append(f"{where}: {rel}")
        listing.entries.append(LabelEntry(image, labels, split, where))
    check_csv_rows(path, missing, len(listing.entries))
    _refuse_repeats(listing)
    return listing


def _one_hot(row: list[str], columns: list[str], lower: list[str], where: str) -> tuple[str, ...]:
    labels = []
    for value, name, low in zip(row, columns, lower):
        if low in ("path", "split"):
            continue
        v = value.strip()
        try:
            number = float(v)
        except ValueError:
            number = None
        if number not in (0.0, 1.0):
            raise DatasetError(
                f"{where}: column {name!r} holds {v!r}, not 0 or 1",
                hint="a one-hot CSV has 0 or 1 in every class column",
            )
        if number == 1.0:
            labels.append(name)
    return tuple(labels)


def _split(value: str, where: str) -> str:
    key = value.strip().lower()
    if key not in SPLIT_ALIASES:
        raise DatasetError(
            f"{where}: unknown split {value.strip()!r}; valid: train, val, test."
            + did_you_mean(key, SPLIT_ALIASES),
            hint="use train, val (valid, validation) or test",
        )
    return SPLIT_ALIASES[key]


def _refuse_repeats(listing: LabelListing) -> None:
    first: dict[Path, str] = {}
    for e in listing.entries:
        if e.path in first:
            raise DatasetError(
                f"{e.where}: {e.path.name} is listed a second time (first at {first[e.path]})",
                hint="list each image once, with all its labels on one line",
            )
        first[e.path] = e.where


FORMAT = Format("label_csv", detect_labels=detect, list_labels=list_labels)
