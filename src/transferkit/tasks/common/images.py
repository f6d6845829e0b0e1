"""The image files a prediction runs on: files named directly, or found in folders."""

from __future__ import annotations

from pathlib import Path

from transferkit.core.errors import DatasetError
from transferkit.data.images import is_image_file


def collect_images(paths: list[str | Path]) -> list[Path]:
    """Image files among ``paths``; folders are searched recursively, in sorted order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and is_image_file(f))
        elif p.is_file():
            found.append(p)
        else:
            raise DatasetError(
                f"no such file or folder: {p}", hint="check the paths given to predict"
            )
    if not found:
        raise DatasetError(
            f"no images found in {', '.join(map(str, paths))}",
            hint="pass image files or folders that hold images",
        )
    return found
