"""Unlabelled images: listed from a folder (recursively) or a text file of paths, verified, and
cleared of leakage.

Every image is decoded once up front (:func:`~transferkit.data.images.inspect_image`, the check the
labelled data goes through): corrupt files are counted and skipped, as ``--on-bad-image skip``
does with labelled ones. An unlabelled image byte-identical to a labelled val or test image would
let self-training learn from the very images it is scored on: it is dropped and counted.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transferkit.core.errors import DatasetError
from transferkit.data.images import IMAGE_EXTENSIONS, inspect_image, is_image_file

_HINT = "pass --unlabelled a folder of images (searched recursively) or a text file of paths"


@dataclass
class UnlabelledImages:
    """The usable unlabelled images of ``source`` and what was left out, and why."""

    source: str
    paths: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why) unreadable
    leaked: list[str] = field(default_factory=list)  # byte-identical to a labelled val/test image
    ignored: int = 0  # files without an image extension

    def summary(self) -> dict[str, Any]:
        """Plain-JSON counts (the run's ``semi.json``)."""
        return {
            "source": self.source,
            "used": len(self.paths),
            "skipped_unreadable": len(self.skipped),
            "skipped_files": [{"path": p, "reason": why} for p, why in self.skipped[:20]],
            "refused_leakage": len(self.leaked),
            "leaked_files": self.leaked[:20],
            "ignored_files": self.ignored,
        }


def read_unlabelled(
    path: str | Path, held_out: Sequence[str] = (), threads: int | None = None
) -> UnlabelledImages:
    """The images of ``path`` (a folder or a text file of paths), verified, minus ``held_out``
    duplicates (the labelled val and test files). Raises DatasetError when none is usable."""
    source, files, ignored = list_unlabelled(path)
    bad = _unreadable(files, threads)
    good = [f for f in files if f not in bad]
    leaked = set(duplicates_of(good, held_out))
    kept = [f for f in good if f not in leaked]
    if not kept:
        raise DatasetError(
            f"none of the {len(files)} unlabelled image(s) in {source} is usable: {len(bad)} "
            f"unreadable, {len(leaked)} identical to labelled val/test images",
            hint="point --unlabelled at readable images that are not in the labelled val/test data",
        )
    skipped = [(f, bad[f]) for f in files if f in bad]
    return UnlabelledImages(str(source), kept, skipped, sorted(leaked), ignored)


def list_unlabelled(path: str | Path) -> tuple[Path, list[str], int]:
    """``(source, image files, files ignored)``; a missing path or no image file is an error.

    A folder is searched recursively (hidden entries skipped); a text file names one path a line
    (relative to the file's folder; blank lines and ``#`` comments skipped).
    """
    source = Path(path).expanduser()
    if not source.exists():
        raise DatasetError(f"unlabelled path not found: {source}", hint=_HINT)
    files, ignored = _list(source)
    if not files:
        raise DatasetError(
            f"no image files in the unlabelled {'folder' if source.is_dir() else 'list'} {source} "
            f"({', '.join(IMAGE_EXTENSIONS[:5])} ...)",
            hint=_HINT,
        )
    return source, files, ignored


def _list(source: Path) -> tuple[list[str], int]:
    if source.is_dir():
        found = [
            p
            for p in source.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(source).parts)
        ]
        files = sorted(str(p.resolve()) for p in found if is_image_file(p))
        return files, len(found) - len(files)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read the unlabelled list {source}: {e}", hint=_HINT) from None
    names = [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]
    # A listed file that is missing or not an image is an unreadable image: counted and skipped.
    files = sorted({str((source.parent / n).expanduser().resolve()) for n in names})
    return files, 0


def _unreadable(files: list[str], threads: int | None) -> dict[str, str]:
    """Path -> why, for the files that do not decode (threads overlap PIL's decoding)."""
    errors: dict[str, str] = {}

    def check(p: str) -> None:
        try:
            inspect_image(p)
        except DatasetError as e:
            errors[p] = e.message

    with ThreadPoolExecutor(max_workers=threads or min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(check, files))
    return errors


def duplicates_of(files: Sequence[str], held_out: Sequence[str]) -> list[str]:
    """The ``files`` byte-identical to one of ``held_out``: sizes first, sha256 where they match."""
    sizes: dict[int, list[str]] = {}
    for p in held_out:
        sizes.setdefault(os.path.getsize(p), []).append(p)
    candidates = [f for f in files if os.path.getsize(f) in sizes]
    if not candidates:
        return []
    same_size = {p for f in candidates for p in sizes[os.path.getsize(f)]}
    held = {_sha256(p) for p in same_size}
    return [f for f in candidates if _sha256(f) in held]


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
