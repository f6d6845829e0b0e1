"""Detection and instance segmentation transforms: boxes and masks move with the image.

Image size: the shorter side is ``data.img_size`` (default 512), the longer one at most 1333/800
of it. Training flips, jitters colours and jitters the scale of the shorter side as the run's
augmentation settings say (``--augment`` preset and the ``hflip`` / ``vflip`` / ``jitter`` knobs;
the preset sets the scale range, :data:`SCALE_JITTER`); ``transforms.v2`` moves the boxes (and
masks) with the image. Rotation is not offered: the box of a rotated object is no longer tight.
"""

from __future__ import annotations

import math

import torch
from torchvision.transforms import v2

from transferkit.core.config import RunConfig
from transferkit.data.augment import PRESETS, AugmentSettings

DEFAULT_IMG_SIZE = 512
# Range of the shorter side's random scale, per augmentation preset ("auto" is "default").
SCALE_JITTER = {
    "none": (1.0, 1.0),
    "light": (0.9, 1.1),
    "default": (0.8, 1.2),
    "strong": (0.5, 1.5),
}


def image_size_of(cfg: RunConfig) -> int:
    """Shorter image side the detector sees for a run configuration."""
    return int(cfg.data.img_size or DEFAULT_IMG_SIZE)


def default_max_size(img_size: int) -> int:
    """Longest side allowed for a given shorter side (torchvision's 800 / 1333 ratio)."""
    return int(math.ceil(img_size * 1333 / 800))


def train_transform(
    img_size: int,
    settings: AugmentSettings = PRESETS["default"],
    scale: tuple[float, float] = SCALE_JITTER["default"],
) -> v2.Transform:
    """Flips, colour jitter, scale jitter of the shorter side (five steps over ``scale``); boxes
    and masks follow the image. ``settings.crop_scale`` and ``settings.rotation`` do not apply."""
    steps: list[v2.Transform] = []
    if settings.hflip > 0:
        steps.append(v2.RandomHorizontalFlip(settings.hflip))
    if settings.vflip > 0:
        steps.append(v2.RandomVerticalFlip(settings.vflip))
    if settings.jitter > 0:
        j = settings.jitter
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j))
    low, high = scale
    sizes = sorted({round(img_size * (low + (high - low) * i / 4)) for i in range(5)})
    return v2.Compose(
        [
            *steps,
            v2.RandomShortestSize(sizes, default_max_size(img_size)),
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
