"""Images with label sets (multi-label classification): what a label format lists, before any
image is opened.

A label format (``data/formats/label_csv.py``, ``label_folder.py``) returns a
:class:`LabelListing`: one :class:`LabelEntry` per image with its set of label names (possibly
empty: an image with no label is a valid negative for every class), the split the source gives
(or None), and where it came from, for messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SPLIT_ALIASES = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}


@dataclass
class LabelEntry:
    """One image and its labels (names; empty: no label)."""

    path: Path
    labels: tuple[str, ...]
    split: str | None  # "train" / "val" / "test" when the source says, else None
    where: str  # for messages: "labels.csv:12", or the image file


@dataclass
class LabelListing:
    """What a label format found: entries, the class order it declares (one-hot columns), and
    what it merged or ignored."""

    format: str
    source: Path
    entries: list[LabelEntry] = field(default_factory=list)
    declared_classes: list[str] | None = None  # one-hot CSV columns: the file's own order
    merged: int = 0  # files folded into another with the same content (folder layout)
    ignored_files: list[Path] = field(default_factory=list)


def split_labels(text: str) -> tuple[str, ...]:
    """Label names of one cell: separated by ``;`` or by spaces (``cat;outdoor``, ``cat outdoor``).

    With a ``;`` anywhere, only ``;`` separates, so names may hold spaces (``"traffic light; car"``).
    Repeats are dropped; the order of first appearance is kept.
    """
    parts = text.split(";") if ";" in text else re.split(r"\s+", text)
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))
