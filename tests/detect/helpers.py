"""Builders for detection tests: images on disk, annotation files as other tools write them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def make_image(path: Path, width: int, height: int, seed: int = 0) -> Path:
    """A small random RGB image (PNG or JPEG by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(path)
    return path


def write_coco(
    path: Path, images: list[dict], annotations: list[dict], categories: list[dict]
) -> Path:
    """Write a COCO instances file; images are dicts with id, file_name, width, height."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": categories}),
        encoding="utf-8",
    )
    return path


def simple_coco(root: Path, n_images: int = 3, size: tuple[int, int] = (64, 48)) -> Path:
    """A valid single-file COCO data set under ``root``: images beside ``instances.json``.

    Categories 1 'cat' and 3 'dog' (ids not contiguous on purpose); image i has a cat box at
    (4 + i, 6, 20 x 10) and, for even i, a dog box at (30, 20, 16 x 16).
    """
    w, h = size
    images, anns = [], []
    for i in range(1, n_images + 1):
        make_image(root / f"img{i}.png", w, h, seed=i)
        images.append({"id": i, "file_name": f"img{i}.png", "width": w, "height": h})
        anns.append(
            {
                "id": len(anns) + 1,
                "image_id": i,
                "category_id": 1,
                "bbox": [4 + i, 6, 20, 10],
                "area": 200,
                "iscrowd": 0,
            }
        )
        if i % 2 == 0:
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": 3,
                    "bbox": [30, 20, 16, 16],
                    "area": 256,
                    "iscrowd": 0,
                }
            )
    cats = [
        {"id": 1, "name": "cat", "supercategory": "animal"},
        {"id": 3, "name": "dog", "supercategory": "animal"},
    ]
    return write_coco(root / "instances.json", images, anns, cats)
