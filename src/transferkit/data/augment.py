"""Training augmentation the user controls: presets, knobs, and the single augmentations to check.

A preset is a named :class:`AugmentSettings`; ``augment_settings("light", hflip=0.5)`` starts from a
preset and overrides single knobs, with every value checked. ``"default"`` is exactly what
classification training used before presets existed (:func:`transferkit.data.transforms.classify.train_transform`
with its defaults), so choosing it changes nothing. ``"auto"`` starts from ``"default"``; the
augmentation check (:mod:`transferkit.transfer.augment_check`) then turns off what hurts.

:func:`single_augmentations` gives each enabled augmentation on its own, applied always (flips with
probability 1), for scoring a probe on augmented validation images against clean ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from torchvision.transforms import v2

from transferkit.core.errors import ConfigError, did_you_mean
from transferkit.data.transforms.classify import eval_transform, interpolation_mode, resolve_size
from transferkit.zoo.backbone import DataConfig


@dataclass(frozen=True)
class AugmentSettings:
    """The training augmentation of a classification run.

    ``crop_scale`` is the range of the image area a random crop keeps; ``(1.0, 1.0)`` means no
    random crop (the evaluation resize and centre crop instead). ``jitter`` is the strength of
    brightness, contrast and saturation jitter; ``rotation`` the largest rotation in degrees.
    """

    hflip: float = 0.5
    vflip: float = 0.0
    crop_scale: tuple[float, float] = (0.25, 1.0)
    jitter: float = 0.2
    rotation: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for the run's config and the augmentation check's record)."""
        d = asdict(self)
        d["crop_scale"] = list(self.crop_scale)
        return d


PRESETS: dict[str, AugmentSettings] = {
    "none": AugmentSettings(hflip=0.0, crop_scale=(1.0, 1.0), jitter=0.0),
    "light": AugmentSettings(hflip=0.0, crop_scale=(0.8, 1.0), jitter=0.0),
    "default": AugmentSettings(),
    "strong": AugmentSettings(hflip=0.5, crop_scale=(0.08, 1.0), jitter=0.4, rotation=15.0),
}
AUGMENT_CHOICES = (*PRESETS, "auto")  # "auto": "default", then the check turns off what hurts

# What each single augmentation does to an image, for the check's one-line verdicts.
DESCRIPTIONS = {
    "hflip": "horizontally flipped",
    "vflip": "vertically flipped",
    "crop": "randomly cropped",
    "jitter": "colour-jittered",
    "rotation": "rotated",
}
_NO_CROP = (1.0, 1.0)


def augment_settings(name: str = "default", **overrides: Any) -> AugmentSettings:
    """The settings of preset ``name`` (or ``"auto"``) with ``overrides`` applied, all checked.

    Raises ConfigError for an unknown preset or knob, or a value out of range.
    """
    if name not in AUGMENT_CHOICES:
        raise ConfigError(
            f"unknown augmentation preset {name!r}; valid: {', '.join(AUGMENT_CHOICES)}."
            + did_you_mean(name, AUGMENT_CHOICES),
            hint="pass e.g. --augment light (no flip, crop scale 0.8-1, no jitter)",
        )
    knobs = [f.name for f in fields(AugmentSettings)]
    for key in overrides:
        if key not in knobs:
            raise ConfigError(
                f"unknown augmentation setting {key!r}; valid: {', '.join(knobs)}."
                + did_you_mean(key, knobs),
                hint="set one of the listed knobs in the 'augment' section of the config",
            )
    base = PRESETS["default" if name == "auto" else name]
    if "crop_scale" in overrides:
        overrides["crop_scale"] = _pair(overrides["crop_scale"])
    settings = replace(base, **overrides)
    validate(settings)
    return settings


KNOBS = tuple(f.name for f in fields(AugmentSettings))  # also fields of the run's data settings


def augment_from_config(data: Any) -> AugmentSettings:
    """The augmentation a run's data settings (``RunConfig.data``) ask for: the preset named by
    ``data.augment`` with every knob that is set (not None) applied."""
    knobs = {k: getattr(data, k) for k in KNOBS if getattr(data, k) is not None}
    return augment_settings(data.augment, **knobs)


def dense_augment(
    data: Any, not_offered: tuple[str, ...], what: str
) -> tuple[AugmentSettings, str]:
    """The augmentation of a detection or segmentation run, and its preset for the scale range.

    ``not_offered`` are the knobs the task's transforms cannot honour (``crop_scale`` for both:
    their crop and scale come from the preset; ``rotation`` for boxes); setting one raises.
    """
    given = [k for k in not_offered if getattr(data, k) is not None]
    if given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ConfigError(
            f"{flags} cannot apply to {what}: "
            + ("boxes of rotated objects are no longer tight; " if "rotation" in given else "")
            + "scale jitter comes from the --augment preset",
            hint="drop it and choose --augment none|light|default|strong (--hflip, --vflip and "
            "--jitter apply)",
        )
    return augment_from_config(data), "default" if data.augment == "auto" else data.augment


def augment_is_explicit(data: Any) -> bool:
    """Whether the user chose the augmentation (a preset other than auto, or any knob)."""
    return data.augment != "auto" or any(getattr(data, k) is not None for k in KNOBS)


def config_values(settings: AugmentSettings) -> dict[str, Any]:
    """``settings`` as the run's data-settings knobs (every one set; crop scale as a list)."""
    return {k: v for k, v in settings.to_dict().items() if k in KNOBS}


def validate(settings: AugmentSettings) -> None:
    """Raise ConfigError naming the first knob of ``settings`` that is out of range."""
    for key in ("hflip", "vflip"):
        _check_range(key, getattr(settings, key), 0.0, 1.0, "a probability")
    _check_range("jitter", settings.jitter, 0.0, 1.0, "a strength")
    _check_range("rotation", settings.rotation, 0.0, 180.0, "degrees")
    low, high = settings.crop_scale
    for value in (low, high):
        _check_range("crop_scale", value, 0.0, 1.0, "a fraction of the image area")
    if not 0.0 < low <= high:
        raise ConfigError(
            f"augmentation setting 'crop_scale' must be (min, max) with 0 < min <= max <= 1, "
            f"got {settings.crop_scale!r}",
            hint="e.g. crop_scale: [0.8, 1.0]; [1.0, 1.0] turns random cropping off",
        )


def turn_off(settings: AugmentSettings, names: list[str] | tuple[str, ...]) -> AugmentSettings:
    """``settings`` with the single augmentations ``names`` (keys of :data:`DESCRIPTIONS`) off."""
    off = {"hflip": 0.0, "vflip": 0.0, "crop": _NO_CROP, "jitter": 0.0, "rotation": 0.0}
    changes = {}
    for name in names:
        if name not in off:
            raise ConfigError(
                f"unknown augmentation {name!r}; valid: {', '.join(off)}."
                + did_you_mean(name, off),
                hint="name one of the single augmentations",
            )
        changes["crop_scale" if name == "crop" else name] = off[name]
    return replace(settings, **changes)


def classification_train_transform(
    settings: AugmentSettings,
    data_config: DataConfig,
    img_size: int | tuple[int, int] | None = None,
) -> v2.Compose:
    """The training transform of ``settings``: crop, flips, rotation, jitter, then normalise.

    With the ``"default"`` preset this is the same chain, in the same order, as
    :func:`transferkit.data.transforms.classify.train_transform`, so a seeded run draws the same crops.
    """
    validate(settings)
    size = resolve_size(data_config, img_size)
    geometric, to_tensor = _eval_parts(data_config, img_size)
    if settings.crop_scale == _NO_CROP:
        steps = list(geometric)
    else:
        interpolation = interpolation_mode(data_config.interpolation)
        steps = [v2.RandomResizedCrop(size, scale=settings.crop_scale, interpolation=interpolation)]
    if settings.hflip > 0:
        steps.append(v2.RandomHorizontalFlip(settings.hflip))
    if settings.vflip > 0:
        steps.append(v2.RandomVerticalFlip(settings.vflip))
    if settings.rotation > 0:
        steps.append(v2.RandomRotation(settings.rotation))
    if settings.jitter > 0:
        j = settings.jitter
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j))
    return v2.Compose(steps + list(to_tensor))


def single_augmentations(settings: AugmentSettings) -> dict[str, v2.Transform]:
    """Each augmentation ``settings`` enables, on its own and always applied, by name.

    The transforms take and return a PIL image (or an image tensor) at its own size, so the
    evaluation transform follows them exactly as it does for the clean images. Flips always
    flip; the crop keeps a random ``crop_scale`` share of the area without resizing.
    """
    validate(settings)
    out: dict[str, v2.Transform] = {}
    if settings.hflip > 0:
        out["hflip"] = v2.RandomHorizontalFlip(1.0)
    if settings.vflip > 0:
        out["vflip"] = v2.RandomVerticalFlip(1.0)
    if settings.crop_scale != _NO_CROP:
        out["crop"] = RandomAreaCrop(settings.crop_scale)
    if settings.rotation > 0:
        out["rotation"] = v2.RandomRotation(settings.rotation)
    if settings.jitter > 0:
        j = settings.jitter
        out["jitter"] = v2.ColorJitter(brightness=j, contrast=j, saturation=j)
    return out


def augmented_eval_transform(
    augmentation: v2.Transform,
    data_config: DataConfig,
    img_size: int | tuple[int, int] | None = None,
) -> v2.Compose:
    """``augmentation`` (one of :func:`single_augmentations`), then the evaluation transform.

    The features of the validation images under this transform are what the augmentation check
    compares with the clean ones.
    """
    return v2.Compose([augmentation, *eval_transform(data_config, img_size).transforms])


class RandomAreaCrop(v2.Transform):
    """Crop a random region of ``scale`` of the image area (aspect ratio in ``ratio``), unresized.

    The region is drawn as :class:`torchvision.transforms.v2.RandomResizedCrop` draws it; only the
    resize is left to whatever transform comes next.
    """

    def __init__(
        self, scale: tuple[float, float], ratio: tuple[float, float] = (3 / 4, 4 / 3)
    ) -> None:
        super().__init__()
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.sampler = v2.RandomResizedCrop(1, scale=scale, ratio=ratio)

    def extra_repr(self) -> str:
        """Scale and ratio in the repr: the feature cache keys its entries on a transform's repr."""
        return f"scale={self.scale}, ratio={self.ratio}"

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        """The crop box (top, left, height, width), drawn once for all inputs of a call."""
        return self.sampler.make_params(flat_inputs)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        """Crop one input to the drawn box."""
        return v2.functional.crop(inpt, **params)


def _eval_parts(data_config: DataConfig, img_size) -> tuple[list, list]:
    """The evaluation transform split into its geometric steps and its to-tensor/normalise tail.

    Taken from :func:`eval_transform` itself so that ``"none"`` trains on exactly what the model
    is evaluated on.
    """
    steps = list(eval_transform(data_config, img_size).transforms)
    first = next(i for i, t in enumerate(steps) if isinstance(t, v2.ToImage))
    return steps[:first], steps[first:]


def _pair(value: Any) -> tuple[float, float]:
    try:
        if isinstance(value, str):
            raise TypeError(value)
        low, high = value
        return float(low), float(high)
    except (TypeError, ValueError):
        raise ConfigError(
            f"augmentation setting 'crop_scale' must be a pair (min, max), got {value!r}",
            hint="e.g. crop_scale: [0.8, 1.0]",
        ) from None


def _check_range(key: str, value: Any, low: float, high: float, what: str) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not low <= value <= high:
        raise ConfigError(
            f"augmentation setting {key!r} must be {what} in [{low:g}, {high:g}], got {value!r}",
            hint=f"set {key} between {low:g} and {high:g}",
        )
