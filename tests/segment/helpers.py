"""Helpers for segmentation tests: tiny random-init backbones and tiny data sets on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from transferkit.zoo import create_backbone


def tiny_backbone(name: str = "mobilenetv3_small_050"):
    """A random-init zoo backbone (``timm:<name>``), seeded."""
    torch.manual_seed(0)
    return create_backbone(f"timm:{name}", weights="none")


def write_pair(root, stem, mask, image_dir="images", mask_dir="masks", mask_name=None, image=None):
    """Write a random RGB JPEG and ``mask`` (HxW values, or HxWx3 colours) under ``root``."""
    root = Path(root)
    mask = np.asarray(mask, dtype=np.uint8)
    h, w = mask.shape[:2]
    if image is None:
        image = np.random.default_rng(len(stem)).integers(0, 255, (h, w, 3))
    (root / image_dir).mkdir(parents=True, exist_ok=True)
    (root / mask_dir).mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(root / image_dir / f"{stem}.jpg")
    Image.fromarray(mask).save(root / mask_dir / (mask_name or f"{stem}.png"))
    return root / image_dir / f"{stem}.jpg"


def blob_mask(seed: int, size: int = 32, classes: int = 3) -> np.ndarray:
    """Background plus one square per class 1..classes-1, placed by ``seed``."""
    rng = np.random.default_rng(seed)
    m = np.zeros((size, size), np.uint8)
    for c in range(1, classes):
        y, x = rng.integers(0, size // 2, 2)
        m[y : y + size // 3, x : x + size // 3] = c
    return m
