"""Tiny multi-label data: 32 px images holding any of three coloured squares, labelled by them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220)}
CORNERS = {"red": (0, 0), "green": (0, 16), "blue": (16, 0)}


def draw(labels: list[str], rng: np.random.Generator, size: int = 32) -> Image.Image:
    """A grey noisy image with a square of each label's colour in that label's corner."""
    img = rng.integers(90, 140, size=(size, size, 3)).astype(np.uint8)
    for name in labels:
        y, x = CORNERS[name]
        img[y : y + 14, x : x + 14] = COLOURS[name]
    return Image.fromarray(img)


def label_sets(n: int, seed: int = 0) -> list[list[str]]:
    """``n`` label sets over the three colours, every colour present and some sets empty."""
    rng = np.random.default_rng(seed)
    names = list(COLOURS)
    out = [[c for c in names if rng.random() < 0.5] for _ in range(n)]
    out[0], out[1] = names, []  # every label at least once, and one image without a label
    return out


def make_csv(root: Path, n: int = 24, seed: int = 0, sep: str = ";", splits=False) -> Path:
    """Images under ``root/images`` and ``root/labels.csv`` (``path,labels[,split]``)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    lines = ["path,labels" + (",split" if splits else "")]
    for i, labels in enumerate(label_sets(n, seed)):
        draw(labels, rng).save(root / "images" / f"{i:03d}.png")
        split = ["train", "train", "val", "test"][i % 4] if splits else None
        lines.append(f"images/{i:03d}.png,{sep.join(labels)}" + (f",{split}" if split else ""))
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root / "labels.csv"


def make_one_hot(root: Path, n: int = 12, seed: int = 0) -> Path:
    """The same images with a one-hot CSV ``path,red,green,blue``."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    lines = ["path," + ",".join(COLOURS)]
    for i, labels in enumerate(label_sets(n, seed)):
        draw(labels, rng).save(root / "images" / f"{i:03d}.png")
        lines.append(f"images/{i:03d}.png," + ",".join(str(int(c in labels)) for c in COLOURS))
    (root / "onehot.csv").write_text("\n".join(lines) + "\n")
    return root / "onehot.csv"


def make_folder(root: Path, n: int = 12, seed: int = 0) -> Path:
    """Class folders where an image with several labels is copied (under another name) into
    each of its label folders."""
    rng = np.random.default_rng(seed)
    for i, labels in enumerate(label_sets(n, seed)[:n]):
        img = draw(labels, rng)
        for j, name in enumerate(labels):
            (root / name).mkdir(parents=True, exist_ok=True)
            img.save(root / name / f"img{i:03d}_{j}.png")
    return root
