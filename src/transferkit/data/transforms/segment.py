"""Semantic segmentation transforms: the image and its class mask move together.

Training jitters the scale around the native size, crops (padding the mask with the ignore index),
then flips, rotates and jitters colours as the run's augmentation settings say (``--augment``
preset and knobs; the preset sets the scale range, :data:`SCALE_JITTER`); evaluation keeps the native size so metrics are computed on the masks
as given. Normalisation comes from the backbone's :class:`DataConfig`.
"""

from __future__ import annotations

from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms.v2 import functional as TF

from transferkit.data.augment import PRESETS, AugmentSettings
from transferkit.data.transforms.classify import interpolation_mode, resolve_size
from transferkit.zoo.backbone import DataConfig

# Range of the random scale factor, per augmentation preset ("auto" is "default").
SCALE_JITTER = {
    "none": (1.0, 1.0),
    "light": (0.9, 1.1),
    "default": (0.75, 1.5),
    "strong": (0.5, 2.0),
}


class RandomScale(v2.Transform):
    """Resize by a random factor of the input's own size (masks: nearest, as v2 does for Mask)."""

    def __init__(self, scale: tuple[float, float], interpolation=InterpolationMode.BILINEAR):
        super().__init__()
        self.scale = scale
        self.interpolation = interpolation

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        h, w = v2.query_size(flat_inputs)
        f = float(torch.empty(1).uniform_(*self.scale))
        return {"size": [max(1, round(h * f)), max(1, round(w * f))]}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._call_kernel(TF.resize, inpt, params["size"], interpolation=self.interpolation)


def segmentation_train_transform(
    data_config: DataConfig,
    img_size: int | None = None,
    ignore_index: int = 255,
    scale: tuple[float, float] = SCALE_JITTER["default"],
    settings: AugmentSettings = PRESETS["default"],
) -> v2.Compose:
    """Scale jitter around the native size, crop (padded with ignore), flips, rotation (the
    corners filled with ignore), colour, normalise. ``settings.crop_scale`` does not apply: the
    crop is the training size, the scale range comes from ``scale``."""
    size = resolve_size(data_config, img_size)
    fill = {tv_tensors.Image: 0, tv_tensors.Mask: ignore_index}
    steps: list[v2.Transform] = [
        RandomScale(scale, interpolation_mode(data_config.interpolation)),
        v2.RandomCrop(size, pad_if_needed=True, fill=fill),
    ]
    if settings.hflip > 0:
        steps.append(v2.RandomHorizontalFlip(settings.hflip))
    if settings.vflip > 0:
        steps.append(v2.RandomVerticalFlip(settings.vflip))
    if settings.rotation > 0:
        steps.append(v2.RandomRotation(settings.rotation, fill=fill))
    if settings.jitter > 0:
        j = settings.jitter
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j))
    return v2.Compose(
        [
            *steps,
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=list(data_config.mean), std=list(data_config.std)),
        ]
    )


def segmentation_eval_transform(data_config: DataConfig) -> v2.Compose:
    """Native size: only scale and normalise, so metrics are computed on the masks as given."""
    return v2.Compose(
        [
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=list(data_config.mean), std=list(data_config.std)),
        ]
    )
