"""A multi-label data set built from a single-label one: 2x2 mosaics labelled by what they hold.

Each mosaic is a 2x2 grid of tiles; each tile is an image of the source or left empty (black). Its
labels are the classes of the images it holds (a class twice counts once; a mosaic of empty tiles
has no label). :func:`write_mosaics` writes the PNGs and a ``labels.csv`` (``path,labels,split``)
that the ``multilabel`` task reads. Tiles of a split's mosaics come from the same split of the
source only, so no source image is seen in two splits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from transferkit.core.errors import DatasetError
from transferkit.core.fileio import atomic_write_text


def mosaic(tiles: list[np.ndarray | None], size: int) -> np.ndarray:
    """A (2 size, 2 size) uint8 image of four tiles (row-major); ``None`` is an empty tile."""
    out = np.zeros((2 * size, 2 * size), dtype=np.uint8)
    for i, tile in enumerate(tiles):
        if tile is not None:
            r, c = divmod(i, 2)
            out[r * size : (r + 1) * size, c * size : (c + 1) * size] = tile
    return out


def write_mosaics(
    dest: str | Path,
    pools: dict[str, tuple[np.ndarray, np.ndarray]],
    counts: dict[str, int],
    class_names: list[str],
    seed: int = 0,
    empty: float = 0.25,
) -> Path:
    """Write ``counts[split]`` mosaics per split under ``dest``; returns ``dest/labels.csv``.

    ``pools[split]`` holds the source's ``(images (N, H, W) uint8, labels (N,))`` for that split;
    each tile is empty with probability ``empty``, else a random image of the pool.
    """
    dest = Path(dest)
    rng = np.random.default_rng(seed)
    lines = ["path,labels,split"]
    for split, n in counts.items():
        images, labels = pools[split]
        if len(images) == 0:
            raise DatasetError(f"no source images for the {split} mosaics")
        folder = dest / split
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            picks = [
                None if rng.random() < empty else int(rng.integers(len(images))) for _ in range(4)
            ]
            grid = mosaic([None if j is None else images[j] for j in picks], images.shape[1])
            names = sorted({class_names[int(labels[j])] for j in picks if j is not None})
            rel = f"{split}/{i:05d}.png"
            Image.fromarray(grid).save(dest / rel)
            lines.append(f"{rel},{';'.join(names)},{split}")
    return atomic_write_text(dest / "labels.csv", "\n".join(lines) + "\n")
