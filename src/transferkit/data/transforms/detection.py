"""Detection and instance segmentation transforms: boxes and masks move with the image.

Image size: the shorter side is ``data.img_size`` (default 512), the longer one at most 1333/800
of it. Training jitters the shorter side between 0.8x and 1.2x (scale jitter), flips
horizontally and distorts colours; ``transforms.v2`` moves the boxes (and masks) with the image.
"""

from __future__ import annotations

import math

import torch
from torchvision.transforms import v2

from transferkit.core.config import RunConfig

DEFAULT_IMG_SIZE = 512
JITTER = (0.8, 0.9, 1.0, 1.1, 1.2)


def image_size_of(cfg: RunConfig) -> int:
    """Shorter image side the detector sees for a run configuration."""
    return int(cfg.data.img_size or DEFAULT_IMG_SIZE)


def default_max_size(img_size: int) -> int:
    """Longest side allowed for a given shorter side (torchvision's 800 / 1333 ratio)."""
    return int(math.ceil(img_size * 1333 / 800))


def train_transform(img_size: int) -> v2.Transform:
    """Flip, photometric distortion, scale jitter of the shorter side; boxes follow the image."""
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(0.5),
            v2.RandomPhotometricDistort(p=0.5),
            v2.RandomShortestSize(
                [round(img_size * f) for f in JITTER], default_max_size(img_size)
            ),
            v2.ToDtype(torch.float32, scale=True),
            v2.ClampBoundingBoxes(),
            v2.SanitizeBoundingBoxes(min_size=1.0),
        ]
    )


def eval_transform(img_size: int) -> v2.Transform:
    """Resize the shorter side to ``img_size`` (longer side capped), scale to [0, 1]."""
    return v2.Compose(
        [
            v2.Resize(img_size, max_size=default_max_size(img_size), antialias=True),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )
