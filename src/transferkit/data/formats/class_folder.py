"""Finding the images of a classification data set: image folders, CSV files, format detection.

A source lists entries (path, label, split or None, where it came from) without opening any image;
:mod:`transferkit.data.datasets.classification` verifies, splits and wraps them.

Layouts:

* image folder, one root: ``root/<class>/**/<image>``; the loader splits it (seeded, stratified);
* image folder, split on disk: ``root/train/<class>/...`` plus ``val`` (or ``valid``,
  ``validation``) and/or ``test``; a root counts as split on disk when it has a ``train`` folder
  and every other visible folder is a split name;
* CSV: a header with ``path`` and ``label`` columns and an optional ``split`` column; paths are
  relative to the CSV's folder (absolute paths are kept).

Folders and files whose name starts with ``.`` (``.ipynb_checkpoints``, ``.DS_Store``) are never
classes or images. Every file that is not used as an image (non-image extensions, hidden files,
loose files next to the class folders) is ignored and counted.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from transferkit.core.errors import ConfigError, DatasetError, did_you_mean
from transferkit.data.images import IMAGE_EXTENSIONS, is_image_file

FORMATS = ("auto", "folder", "csv")
SPLIT_ALIASES = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}
_SHOWN = 5  # offending names listed in a message; the rest are counted
_FOLDER_HINT = "lay the data out as ROOT/<class>/<image> or ROOT/{train,val,test}/<class>/<image>"


@dataclass
class Entry:
    """One image of the data set before verification."""

    path: Path
    label: str
    split: str | None  # "train" / "val" / "test" when the source says, else None
    where: str  # for messages: the file itself, or "labels.csv:12"


@dataclass
class Listing:
    """Everything a source found: entries plus what it ignored and how it was laid out."""

    format: str  # "folder" or "csv"
    source: Path  # the root folder or the CSV file
    layout: str  # "single" (loader splits) or "split" (splits given by folders or a column)
    entries: list[Entry] = field(default_factory=list)
    ignored_files: list[Path] = field(default_factory=list)
    ignored_dirs: list[Path] = field(default_factory=list)


def list_source(path: str | Path, format: str = "auto") -> Listing:
    """Detect the format of ``path`` (``auto``, ``folder`` or ``csv``) and list its entries."""
    if format not in FORMATS:
        raise ConfigError(
            f"unknown data format {format!r}; valid: {', '.join(FORMATS)}."
            + did_you_mean(format, FORMATS),
            hint="pass --format auto, folder or csv",
        )
    # Absolute paths keep samples valid for DataLoader workers and for a run record read later.
    path = Path(path).expanduser().absolute()
    if not path.exists():
        raise DatasetError(
            f"data path does not exist: {path}",
            hint="pass --data with an image folder or a CSV file (path,label[,split])",
        )
    if path.is_file():
        if format == "folder":
            raise DatasetError(
                f"--format folder needs a folder, got the file {path}", hint=_FOLDER_HINT
            )
        if format == "auto" and path.suffix.lower() != ".csv":
            raise DatasetError(
                f"cannot tell the format of {path}: expected a folder or a .csv file",
                hint="pass an image folder, or a CSV file with --format csv",
            )
        return read_csv(path)
    csvs = [] if format == "folder" else _labelled_csvs(path)
    if format == "csv" and len(csvs) != 1:
        found = f"{len(csvs)} CSV files with path,label headers" if csvs else "no such CSV file"
        raise DatasetError(
            f"--format csv with the folder {path}: found {found}",
            hint="pass the CSV file itself as the data path",
        )
    if len(csvs) > 1:
        names = ", ".join(c.name for c in csvs[:_SHOWN])
        raise DatasetError(
            f"{path} holds several CSV files with path,label headers ({names}); "
            "which one is meant?",
            hint="pass the CSV file itself as the data path, or --format folder",
        )
    return read_csv(csvs[0]) if csvs else scan_folder(path)


def scan_folder(root: Path) -> Listing:
    """List an image folder (one root, or split into train/val/test folders)."""
    subdirs = _visible_dirs(root)
    if not subdirs:
        raise DatasetError(f"no class folders in {root}", hint=_FOLDER_HINT)
    names = [d.name.lower() for d in subdirs]
    splits_named = [n for n in names if n in SPLIT_ALIASES and n != "train"]
    if "train" in names and (splits_named or all(n in SPLIT_ALIASES for n in names)):
        others = [d.name for d in subdirs if d.name.lower() not in SPLIT_ALIASES]
        if others:  # read as classes they would swallow the split folders' images
            raise DatasetError(
                f"{root} has split folders (train, {', '.join(splits_named)}) and also "
                f"{', '.join(others[:_SHOWN])}, which is not a split name",
                hint="move it out, or rename it to train, val (valid, validation) or test",
            )
        listing = Listing("folder", root, "split")
        seen: dict[str, Path] = {}
        for d in subdirs:
            split = SPLIT_ALIASES[d.name.lower()]
            if split in seen:
                raise DatasetError(
                    f"{root} has two folders for the {split} split: "
                    f"{seen[split].name} and {d.name}",
                    hint="merge them or rename one",
                )
            seen[split] = d
            _scan_classes(d, split, listing)
        listing.ignored_files += _visible_files(root)
    else:
        listing = Listing("folder", root, "single")
        _scan_classes(root, None, listing)
    listing.ignored_dirs += [d for d in root.iterdir() if d.is_dir() and d.name.startswith(".")]
    return listing


def read_csv(path: Path) -> Listing:
    """List the rows of a ``path,label[,split]`` CSV file, checking columns and paths."""
    listing = Listing("csv", path, "single")
    missing: list[str] = []
    first_line: dict[Path, str] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        columns = [c.strip().lower() for c in header or []]
        need = [c for c in ("path", "label") if c not in columns]
        if need:
            raise DatasetError(
                f"{path}: the header lacks the column(s) {', '.join(need)}; "
                f"found {', '.join(columns) if columns else 'no header'}",
                hint="the first line must name the columns: path,label[,split]",
            )
        i_path, i_label = columns.index("path"), columns.index("label")
        i_split = columns.index("split") if "split" in columns else None
        if i_split is not None:
            listing.layout = "split"
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue  # blank lines are not rows
            if len(row) < len(columns):
                raise DatasetError(
                    f"{where}: expected {len(columns)} columns ({','.join(columns)}), "
                    f"got {len(row)}",
                    hint="fix the line, or quote values that contain commas",
                )
            rel, label = row[i_path].strip(), row[i_label].strip()
            if not rel or not label:
                empty = "path" if not rel else "label"
                raise DatasetError(f"{where}: the {empty} is empty", hint="fill it in or drop it")
            split = _csv_split(row[i_split], where) if i_split is not None else None
            image = Path(rel).expanduser()
            image = image if image.is_absolute() else path.parent / image
            if not image.is_file():
                missing.append(f"{where}: {rel}")
            if image in first_line:  # in two splits it leaks; with two labels it contradicts
                raise DatasetError(
                    f"{where}: {rel} is listed a second time (first at {first_line[image]})",
                    hint="list each image once",
                )
            first_line[image] = where
            listing.entries.append(Entry(image, label, split, where))
    check_csv_rows(path, missing, len(listing.entries))
    return listing


def check_csv_rows(path: Path, missing: list[str], rows: int) -> None:
    """Raise DatasetError when image paths of the CSV ``path`` are ``missing`` ("line N: rel"
    each) or it has no rows: the checks every CSV layout makes after reading."""
    if missing:
        raise DatasetError(
            f"{len(missing)} image path(s) in {path} do not exist, e.g. "
            + "; ".join(missing[:_SHOWN])
            + f" (paths are relative to {path.parent})",
            hint="fix the paths in the CSV, or move it next to the images",
        )
    if not rows:
        raise DatasetError(f"{path} has a header but no rows", hint="add one line per image")


def _scan_classes(folder: Path, split: str | None, listing: Listing) -> None:
    classes = _visible_dirs(folder)
    if not classes:
        raise DatasetError(f"no class folders in {folder}", hint=_FOLDER_HINT)
    listing.ignored_files += _visible_files(folder)
    for class_dir in classes:
        images, others = [], []
        for p in sorted(class_dir.rglob("*")):
            if p.is_file():
                hidden = any(part.startswith(".") for part in p.relative_to(class_dir).parts)
                (images if is_image_file(p) and not hidden else others).append(p)
        listing.ignored_files += others
        if not images:
            also = f"; {len(others)} non-image file(s) ignored there" if others else ""
            raise DatasetError(
                f"empty class folder {class_dir}: no image files ({', '.join(IMAGE_EXTENSIONS)})"
                + also,
                hint="add images to it or delete the folder",
            )
        listing.entries += [Entry(p, class_dir.name, split, str(p)) for p in images]


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _visible_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def _csv_split(value: str, where: str) -> str:
    key = value.strip().lower()
    if key not in SPLIT_ALIASES:
        raise DatasetError(
            f"{where}: unknown split {value.strip()!r}; valid: train, val, test."
            + did_you_mean(key, SPLIT_ALIASES),
            hint="use train, val (valid, validation) or test",
        )
    return SPLIT_ALIASES[key]


def _labelled_csvs(folder: Path) -> list[Path]:
    """CSV files directly in ``folder`` whose header names both path and label columns."""
    found = []
    for p in sorted(folder.glob("*.csv")):
        try:
            with open(p, newline="", encoding="utf-8-sig") as f:
                header = next(csv.reader(f), [])
        except (OSError, UnicodeDecodeError, csv.Error):
            continue
        if {"path", "label"} <= {c.strip().lower() for c in header}:
            found.append(p)
    return found
