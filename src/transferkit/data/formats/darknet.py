"""Darknet's ``obj.data`` layout of YOLO labels (CVAT's "YOLO 1.1" export).

``obj.data`` names the class file and the image lists (``train = data/train.txt``); paths are
relative to darknet's own folder, and labels sit beside the images.
"""

from __future__ import annotations

from pathlib import Path

from transferkit.core.errors import DatasetError
from transferkit.data.images import is_image_file
from transferkit.data.text import read_text


def find_darknet_data(path: Path) -> Path | None:
    """Darknet's ``obj.data``: ``path`` itself or inside it."""
    if path.is_file():
        return path if path.suffix.lower() == ".data" else None
    return path / "obj.data" if (path / "obj.data").is_file() else None


def read_darknet_layout(spec: Path) -> tuple[list[str], dict[str, list[Path]], Path]:
    """Class names, image lists per split and the root of a darknet ``obj.data``."""
    root = spec.parent
    entries = {}
    for line in read_text(spec).splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            entries[key.strip()] = value.strip()
    names_file = _darknet_path(root, entries.get("names", "obj.names"))
    if names_file is None:
        raise DatasetError(f"{spec}: names file '{entries.get('names')}' not found")
    names = [ln.strip() for ln in read_text(names_file).splitlines() if ln.strip()]
    lists: dict[str, list[Path]] = {}
    for key, split in (("train", "train"), ("valid", "val"), ("test", "test")):
        listing = _darknet_path(root, entries[key]) if entries.get(key) else None
        if listing is not None:
            lines = [ln.strip() for ln in read_text(listing).splitlines() if ln.strip()]
            lists[split] = [_darknet_path(root, ln) or root / ln for ln in lines]
    if not lists and (root / "obj_train_data").is_dir():
        folder = root / "obj_train_data"
        lists["train"] = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_file(p))
    return names, lists, root


def _darknet_path(root: Path, value: str) -> Path | None:
    """Darknet paths are relative to darknet's folder (``data/obj.names``): try with and without
    that first component."""
    p = Path(value)
    candidates = [p] if p.is_absolute() else [root / p]
    if not p.is_absolute() and len(p.parts) > 1:
        candidates.append(root / Path(*p.parts[1:]))
    return next((c for c in candidates if c.is_file()), None)
