"""Class tables of segmentation data: names in index order, optional colours, from a classes file.

Files read (:data:`CLASSES_FILES`, first found wins): ``classes.json``, ``classes.txt``,
CVAT's ``labelmap.txt`` and Roboflow's ``_classes.csv``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transferkit.core.errors import DatasetError

CLASSES_FILES = ("classes.json", "classes.txt", "labelmap.txt", "_classes.csv")


@dataclass
class ClassTable:
    """Class names in index order, optional RGB colours, and the file they came from.

    ``values`` maps stored mask values to class indices where they differ (binary 0/255 masks).
    """

    names: list[str]
    colors: list[tuple[int, int, int]] | None = None
    source: str | None = None
    values: dict[int, int] | None = None

    def to_classes(self, mask: np.ndarray) -> np.ndarray:
        """Stored mask values to class indices (a copy only when ``values`` changes something)."""
        if not self.values:
            return mask
        out = mask.copy()
        for stored, index in self.values.items():
            out[mask == stored] = index
        return out


def read_classes_file(path: str | Path) -> ClassTable:
    """Read class names (and colours) from classes.json / classes.txt / labelmap.txt / _classes.csv.

    * ``classes.txt``: one class per line, ``name`` or ``name R G B`` (commas allowed);
    * ``labelmap.txt`` (VOC / CVAT): ``name:R,G,B:parts:actions`` lines, ``#`` comments;
    * ``classes.json``: a list of names, or of ``{"name", "color", "id"}`` objects, optionally under
      ``"classes"``;
    * ``_classes.csv`` (Roboflow): ``Pixel Value, Class`` rows.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise DatasetError(f"cannot read classes file {path}: {e}") from None
    if path.suffix == ".json":
        return _classes_json(text, path)
    if path.suffix == ".csv":
        return _classes_csv(text, path)
    names, colors = [], []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if path.name == "labelmap.txt":
            name, _, rest = line.partition(":")
            tokens = rest.split(":")[0].replace(",", " ").split()
        else:
            tokens = line.replace(",", " ").split()
            has_color = len(tokens) >= 4 and _is_rgb(tokens[-3:])
            name = " ".join(tokens[:-3]) if has_color else line
            tokens = tokens[-3:] if has_color else []
        if tokens and not _is_rgb(tokens):
            raise DatasetError(
                f"{path}:{lineno}: colour {' '.join(tokens)!r} is not three integers 0..255"
            )
        names.append(name.strip())
        colors.append(tuple(int(t) for t in tokens) if tokens else None)
    return _table(names, colors, path)


def _is_rgb(tokens: list[str]) -> bool:
    return len(tokens) == 3 and all(t.isdigit() and int(t) <= 255 for t in tokens)


def _classes_json(text: str, path: Path) -> ClassTable:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    if isinstance(data, dict):
        data = data.get("classes", data.get("names"))
    if not isinstance(data, list) or not data:
        raise DatasetError(
            f"{path}: expected a list of class names or objects", hint='e.g. ["background", "cell"]'
        )
    if all(isinstance(d, str) for d in data):
        return _table(list(data), [None] * len(data), path)
    entries = []
    for i, d in enumerate(data):
        if not isinstance(d, dict) or "name" not in d:
            raise DatasetError(f"{path}: entry {i} needs a 'name', got {d!r:.60}")
        color = d.get("color")
        if color is not None and not _is_rgb([str(c) for c in color]):
            raise DatasetError(
                f"{path}: entry {d['name']!r} colour {color!r} is not [R, G, B] in 0..255"
            )
        entries.append(
            (int(d.get("id", i)), d["name"], tuple(color) if color is not None else None)
        )
    entries.sort()
    if [e[0] for e in entries] != list(range(len(entries))):
        raise DatasetError(
            f"{path}: class ids must be 0..{len(entries) - 1}, got {[e[0] for e in entries]}"
        )
    return _table([e[1] for e in entries], [e[2] for e in entries], path)


def _classes_csv(text: str, path: Path) -> ClassTable:
    rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    if rows and not rows[0][0].strip().lstrip("-").isdigit():
        rows = rows[1:]  # header ("Pixel Value, Class")
    by_value = {}
    for lineno, row in enumerate(rows, 2):
        if len(row) < 2 or not row[0].strip().isdigit():
            raise DatasetError(f"{path}:{lineno}: expected 'pixel value, class name', got {row!r}")
        by_value[int(row[0])] = row[1].strip()
    if sorted(by_value) != list(range(len(by_value))):
        raise DatasetError(
            f"{path}: pixel values must be 0..{len(by_value) - 1}, got {sorted(by_value)}"
        )
    names = [by_value[i] for i in range(len(by_value))]
    return _table(names, [None] * len(names), path)


def _table(names: list[str], colors: list, path: Path) -> ClassTable:
    if not names:
        raise DatasetError(f"classes file {path} lists no classes")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DatasetError(f"{path}: class {dup!r} listed twice")
    if any(c is not None for c in colors):
        missing = [n for n, c in zip(names, colors, strict=True) if c is None]
        if missing:
            raise DatasetError(f"{path}: classes {missing[:3]} have no colour while others do")
        return ClassTable(names, [tuple(c) for c in colors], str(path))
    return ClassTable(names, None, str(path))


def find_classes_file(*folders: Path) -> Path | None:
    """The first classes file (in :data:`CLASSES_FILES` order) found in ``folders``."""
    for folder in folders:
        for name in CLASSES_FILES:
            if (folder / name).is_file():
                return folder / name
    return None
