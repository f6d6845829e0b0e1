"""Fixtures for loop tests: a tiny image-folder data set and the tiny backbone in the zoo's place."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.tiny import TinyBackbone


def make_image_folder(
    root, classes=("red", "green", "blue"), per_class=12, size=32, seed=0, splits=None
):
    """Images whose dominant colour is the class, with noise: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    colours = {
        "red": (200, 40, 40),
        "green": (40, 200, 40),
        "blue": (40, 40, 200),
        "grey": (128, 128, 128),
    }
    split_names = splits or [None]
    for split in split_names:
        for name in classes:
            folder = root / split / name if split else root / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                base = np.array(colours[name], dtype=np.float32)
                img = np.clip(base + rng.normal(0, 40, (size, size, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(folder / f"{name}_{i}.png")
    return root


@pytest.fixture
def colour_folder(tmp_path):
    return make_image_folder(tmp_path / "data")


@pytest.fixture
def tiny_zoo(monkeypatch):
    """Make every backbone name build the tiny test backbone (random init)."""
    import transferkit.zoo as zoo

    def create(name, weights="auto", **kwargs):
        return TinyBackbone()

    monkeypatch.setattr(zoo, "create_backbone", create)
    return create
