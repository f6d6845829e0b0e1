"""``data check``: image paths that lead out of the data folder (``../``, absolute, a symlink out).

Such a data set reads where it stands but breaks when the folder is moved, copied or shared, and
an annotation file can make the tool read any file the user can; they are named as a warning.
"""

from __future__ import annotations

from pathlib import Path


def data_folder(path: Path) -> Path:
    """The folder a data set given as ``path`` lives in (an annotation file's folder; the parent
    of ``annotations/``, as in COCO's official layout)."""
    folder = path if path.is_dir() else path.parent
    return folder.parent if folder.name == "annotations" and not path.is_dir() else folder


def check_paths_inside(path: Path, image_paths: list[str], report) -> None:
    """Add one warning naming every image whose real path is outside the data folder."""
    root = data_folder(path).resolve()
    outside = sorted({p for p in image_paths if not Path(p).resolve().is_relative_to(root)})
    if outside:
        report.add(
            "warning",
            "outside_data_folder",
            f"{len(outside)} image path(s) lead outside the data folder {root} (../, absolute "
            f"paths or symlinks), e.g. {', '.join(outside[:3])}: the data set breaks when moved "
            "or shared",
            outside,
        )
