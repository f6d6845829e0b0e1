"""Classification transform presets built from a backbone's :class:`DataConfig`.

Preprocessing comes from the weights (mean, std, input size, interpolation, crop fraction), never
from hard-coded ImageNet numbers. Both presets take an RGB ``PIL.Image`` (what
:func:`transferkit.data.images.load_image_rgb` returns) and give a normalised float32 CHW tensor.
"""

from __future__ import annotations

import math

import torch
from torchvision.transforms import InterpolationMode, v2

from transferkit.core.errors import ConfigError, did_you_mean
from transferkit.zoo.backbone import DataConfig

_INTERPOLATIONS = {
    "nearest": InterpolationMode.NEAREST,
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "lanczos": InterpolationMode.LANCZOS,
    "box": InterpolationMode.BOX,
    "hamming": InterpolationMode.HAMMING,
}


def resolve_size(
    data_config: DataConfig, img_size: int | tuple[int, int] | None
) -> tuple[int, int]:
    """``(height, width)`` the model sees: ``img_size`` when given, else the config's input size."""
    if img_size is None:
        _, h, w = data_config.input_size
        return int(h), int(w)
    size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ConfigError(
            f"img_size must be a positive integer or (height, width), got {img_size!r}",
            hint="pass e.g. --img-size 224",
        )
    return size


def interpolation_mode(name: str) -> InterpolationMode:
    """The torchvision interpolation for a data-config name (``"bilinear"``, ``"bicubic"`` …)."""
    try:
        return _INTERPOLATIONS[name]
    except KeyError:
        raise ConfigError(
            f"unknown interpolation {name!r}; valid: {', '.join(_INTERPOLATIONS)}."
            + did_you_mean(name, _INTERPOLATIONS),
            hint="fix 'interpolation' in the data config",
        ) from None


def decode_sizes(
    data_config: DataConfig, img_size: int | tuple[int, int] | None = None
) -> tuple[int, int]:
    """The least side ``(train, eval)`` images must keep when decoded at reduced scale
    (``images.load_image_rgb``'s ``min_size``).

    Eval resizes to ``size / crop_pct`` before its center crop; training crops (down to a quarter
    of the image's area) are resized up to ``size``, so twice the size keeps them sharp.
    """
    side = max(resolve_size(data_config, img_size))
    crop_pct = data_config.crop_pct if 0.0 < data_config.crop_pct <= 1.0 else 1.0
    return 2 * side, math.ceil(side / crop_pct)


def train_transform(
    data_config: DataConfig,
    img_size: int | tuple[int, int] | None = None,
    *,
    scale: tuple[float, float] = (0.25, 1.0),
    hflip: float = 0.5,
    jitter: float = 0.2,
) -> v2.Compose:
    """Training preset: random resized crop, horizontal flip, light colour jitter, normalise.

    ``scale`` starts at 0.25 rather than the 0.08 of ImageNet recipes: transfer sets are small and
    train for few epochs, and crops of 8% of the image too often cut the object out.
    """
    size = resolve_size(data_config, img_size)
    steps: list = [
        v2.RandomResizedCrop(
            size, scale=scale, interpolation=interpolation_mode(data_config.interpolation)
        ),
    ]
    if hflip > 0:
        steps.append(v2.RandomHorizontalFlip(hflip))
    if jitter > 0:
        steps.append(v2.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter))
    return v2.Compose(steps + _to_normalised_tensor(data_config))


def eval_transform(
    data_config: DataConfig, img_size: int | tuple[int, int] | None = None
) -> v2.Compose:
    """Evaluation preset: resize to ``size / crop_pct``, center crop ``size``, normalise.

    Follows timm's eval transform: a square target resizes the shorter side (aspect kept), a
    non-square one resizes both sides.
    """
    h, w = resolve_size(data_config, img_size)
    crop_pct = data_config.crop_pct
    if not 0.0 < crop_pct <= 1.0:
        raise ConfigError(
            f"crop_pct must be in (0, 1], got {crop_pct!r}",
            hint="fix 'crop_pct' in the data config",
        )
    if h == w:
        resize_to: int | tuple[int, int] = math.floor(h / crop_pct)
    else:
        resize_to = (math.floor(h / crop_pct), math.floor(w / crop_pct))
    return v2.Compose(
        [
            v2.Resize(resize_to, interpolation=interpolation_mode(data_config.interpolation)),
            v2.CenterCrop((h, w)),
            *_to_normalised_tensor(data_config),
        ]
    )


def _to_normalised_tensor(data_config: DataConfig) -> list:
    return [
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(data_config.mean), std=list(data_config.std)),
    ]
