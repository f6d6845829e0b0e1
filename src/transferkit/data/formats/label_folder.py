"""Multi-label image folders: ``root/<class>/<image>`` (or ``root/{train,val,test}/<class>/...``)
where one image may sit in several class folders.

Files with the same content are one image (compared by SHA-256, so a copy under another name in
another class folder counts once) whose labels are the folders it appears in. The same content in
two splits is refused: it would leak test images into training.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from transferkit.core.errors import DatasetError
from transferkit.data.formats import Format
from transferkit.data.images import is_image_file
from transferkit.data.labels import SPLIT_ALIASES, LabelEntry, LabelListing

_HINT = "lay the data out as ROOT/<class>/<image> (an image in every class folder it belongs to)"


def _dirs(folder: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def detect(path: Path) -> bool:
    """A folder with visible sub-folders (class folders, or split folders of class folders)."""
    return path.is_dir() and bool(_dirs(path))


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_labels(path: Path) -> LabelListing:
    """One entry per distinct image content, labelled by every class folder holding it."""
    subdirs = _dirs(path)
    if not subdirs:
        raise DatasetError(f"no class folders in {path}", hint=_HINT)
    split_named = all(d.name.lower() in SPLIT_ALIASES for d in subdirs)
    roots = [(d, SPLIT_ALIASES[d.name.lower()]) for d in subdirs] if split_named else [(path, None)]
    listing = LabelListing("label_folder", path)
    by_digest: dict[str, LabelEntry] = {}
    files = 0
    for root, split in roots:
        for class_dir in _dirs(root):
            for p in sorted(class_dir.rglob("*")):
                if not p.is_file():
                    continue
                if not is_image_file(p) or any(s.startswith(".") for s in p.parts[-2:]):
                    listing.ignored_files.append(p)
                    continue
                files += 1
                _add(by_digest, _digest(p), p, class_dir.name, split)
    if not by_digest:
        raise DatasetError(f"no images in the class folders of {path}", hint=_HINT)
    listing.entries = sorted(by_digest.values(), key=lambda e: str(e.path))
    listing.merged = files - len(listing.entries)
    return listing


def _add(seen: dict[str, LabelEntry], digest: str, p: Path, label: str, split) -> None:
    entry = seen.get(digest)
    if entry is None:
        seen[digest] = LabelEntry(p, (label,), split, str(p))
        return
    if entry.split != split:
        raise DatasetError(
            f"{p} has the same content as {entry.path}, in another split ({split} vs "
            f"{entry.split})",
            hint="an image belongs to one split: remove one of the copies",
        )
    if label not in entry.labels:
        entry.labels = (*entry.labels, label)
    if str(p) < str(entry.path):  # the name shown is the first in sorted order, however listed
        entry.path, entry.where = p, str(p)


FORMAT = Format("label_folder", detect_labels=detect, list_labels=list_labels)
