"""Run configuration: frozen dataclasses with a YAML round trip.

A run is described by one :class:`RunConfig` (task, data, model, transfer, train). The CLI builds it
from flags (optionally on top of ``--config FILE.yaml``); the run directory stores it resolved as
``config.yaml`` so that evaluate / predict / resume need nothing else. Unknown keys are an error with a
did-you-mean, never ignored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from transferkit.core.budget import check_budget
from transferkit.core.errors import ConfigError, did_you_mean
from transferkit.core.fileio import atomic_write_text
from transferkit.core.recipe import check_augment, check_init, crop_pair

TASKS = ("classify", "detect", "segment", "instance")
PRECISIONS = ("32", "bf16-mixed", "16-mixed", "64")
# BatchNorm modes: whose norm statistics stay fixed (every pretrained stage, frozen stages, none);
# "auto" is eval for pretrained weights and frozen for random init (see resolved_bn)
BN_MODES = ("eval", "frozen", "train")
BN_CHOICES = ("auto", *BN_MODES)
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
CLASS_WEIGHTS = ("auto", "none")  # auto: inverse class frequency of the train split


@dataclass(frozen=True)
class DataSettings:
    """Where the data is and how to read and split it."""

    path: str | None = None
    format: str = "auto"
    val_fraction: float = 0.2
    test_fraction: float = 0.0
    split_seed: int = 0
    on_bad_image: str = "fail"  # fail | skip
    img_size: int | None = None  # None: the backbone's input size
    strict: bool = False  # detection: boxes outside the image are an error instead of clipped
    cache_images: str = "auto"  # decoded images kept in memory: auto (what fits) | ram | none
    ignore_index: int = 255  # semantic segmentation
    # Classification training augmentation: a preset, then single knobs (None: from the preset).
    # auto: "default", minus what the augmentation check finds harmful (engine.augment_run).
    augment: str = "auto"  # none | light | default | strong | auto
    hflip: float | None = None  # probability of a horizontal flip
    vflip: float | None = None  # probability of a vertical flip
    crop_scale: list[float] | None = None  # [min, max] share of the area a random crop keeps
    jitter: float | None = None  # brightness, contrast and saturation jitter strength
    rotation: float | None = None  # largest random rotation in degrees

    def __post_init__(self):
        if self.crop_scale is not None:  # "0.8,1.0" (the CLI), [0.8, 1.0] (YAML), a tuple (API)
            object.__setattr__(self, "crop_scale", crop_pair("crop_scale", self.crop_scale))


@dataclass(frozen=True)
class ModelSettings:
    """Backbone, its weights and the new layers on top."""

    backbone: str = "efficientnet_lite0"
    weights: str = "auto"  # auto | none | path to a weights file | coco (detection)
    head: str | None = None  # None: the task's default; classify: linear | mlp; segment: fpn…
    head_hidden: int = 512
    head_dropout: float = 0.2
    detector: str = "faster_rcnn"  # faster_rcnn | retinanet | fcos | mask_rcnn
    dice_weight: float = 0.0  # segment: weight of a soft Dice loss added to cross-entropy


@dataclass(frozen=True)
class TransferSettings:
    """The transfer recipe: which stages train when, at what LR, and how BatchNorm behaves."""

    strategy: str = "gradual"  # head | partial:N | gradual | full | probe | auto
    unfreeze_every: int = 1  # gradual: epochs between unfreezing one more stage
    lr_decay: float = 0.5  # LR multiplier between neighbouring stages, deepest to stem
    bn: str = "auto"  # BN_CHOICES; whose norm statistics stay fixed (see resolved_bn)
    init: str = "auto"  # fine-tuning head init: probe (LP-FT) | random | auto (probe if it can)
    budget: int | str | None = None  # auto: trial epochs (12) or minutes ("5m"); None: 3 x epochs


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation and hardware."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_epochs: float = 1.0
    grad_clip: float | None = 1.0
    patience: int | None = 5  # early stopping: epochs without improvement of the monitored metric
    class_weights: str = "none"  # classify: auto weighs the training loss by 1 / class frequency
    seed: int = 0
    devices: int = 1  # per node
    num_nodes: int = 1
    accelerator: str = "auto"
    precision: str = "32"
    num_workers: int | str = "auto"  # loader processes; auto: from the machine (data.loading)
    quiet: bool = False


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run."""

    task: str = "classify"
    data: DataSettings = field(default_factory=DataSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    transfer: TransferSettings = field(default_factory=TransferSettings)
    train: TrainSettings = field(default_factory=TrainSettings)

    def __post_init__(self):
        validate(self)

    def replace(self, **sections: dict[str, Any]) -> RunConfig:
        """A copy with some fields of some sections changed: ``cfg.replace(train={"epochs": 3})``."""
        changes: dict[str, Any] = {}
        for name, values in sections.items():
            if name == "task":
                changes["task"] = values
                continue
            _check_keys(name, values, _SECTIONS[name], "RunConfig.replace")
            changes[name] = dataclasses.replace(getattr(self, name), **values)
        return dataclasses.replace(self, **changes)

    def with_values(self, **values: Any) -> RunConfig:
        """A copy with fields changed by their plain names (``epochs=3, backbone="resnet18"``).

        Field names are unique across sections, so the CLI and the Python API can both pass flat
        keyword arguments; ``None`` means "keep the current value".
        """
        sections: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            if value is None:
                continue
            if key == "task":
                sections["task"] = value
                continue
            section = _FIELD_SECTION.get(key)
            if section is None:
                raise ConfigError(
                    f"unknown setting '{key}'.{did_you_mean(key, _FIELD_SECTION)}",
                    hint=f"valid settings: {', '.join(sorted(_FIELD_SECTION))}",
                )
            sections.setdefault(section, {})[key] = value
        return self.replace(**sections)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (the YAML form)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> RunConfig:
        """Build from a nested dict; unknown sections or keys raise ConfigError with did-you-mean."""
        if not isinstance(d, dict):
            raise ConfigError(
                f"{source}: expected a mapping at the top level, got {type(d).__name__}"
            )
        _check_keys("top level", d, ["task", *_SECTIONS], source)
        kwargs: dict[str, Any] = {}
        if "task" in d:
            kwargs["task"] = d["task"]
        for name, section_cls in _SECTIONS.items():
            values = d.get(name) or {}
            if not isinstance(values, dict):
                raise ConfigError(f"{source}: section '{name}' must be a mapping, got {values!r}")
            _check_keys(name, values, section_cls, source)
            kwargs[name] = section_cls(**values)
        return cls(**kwargs)

    def save(self, path: str | Path) -> Path:
        """Write the config as YAML, atomically."""
        import yaml  # not at the top: ``transferkit --help`` reads no YAML

        return atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        """Read a YAML config written by :meth:`save` or by hand."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"config file not found: {path}", hint="check the path given to --config"
            )
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({e})") from None
        return cls.from_dict(data, source=str(path))


_SECTIONS = {
    "data": DataSettings,
    "model": ModelSettings,
    "transfer": TransferSettings,
    "train": TrainSettings,
}

_FIELD_SECTION = {f.name: name for name, cls in _SECTIONS.items() for f in fields(cls)}


def _check_keys(section: str, values: dict, allowed, source: str) -> None:
    names = (
        [f.name for f in fields(allowed)] if dataclasses.is_dataclass(allowed) else list(allowed)
    )
    for key in values:
        if key not in names:
            raise ConfigError(
                f"{source}: unknown key '{key}' in {section}.{did_you_mean(key, names)}",
                hint=f"valid keys in {section}: {', '.join(names)}",
            )


def _choice(name: str, value: Any, options) -> None:
    if value not in options:
        raise ConfigError(
            f"invalid {name} {value!r}.{did_you_mean(str(value), options)}",
            hint=f"valid values: {', '.join(options)}",
        )


def validate(cfg: RunConfig) -> None:
    """Check values that do not depend on the data or the backbone."""
    _choice("task", cfg.task, TASKS)
    _choice("precision", str(cfg.train.precision), PRECISIONS)
    _choice("accelerator", cfg.train.accelerator, ACCELERATORS)
    _choice("on_bad_image", cfg.data.on_bad_image, ("fail", "skip"))
    _choice("bn", cfg.transfer.bn, BN_CHOICES)
    _choice("cache_images", cfg.data.cache_images, ("auto", "ram", "none"))
    _check_workers(cfg.train.num_workers)
    check_init(cfg)
    check_budget(cfg.transfer.budget)
    check_augment(cfg)
    _check_class_weights(cfg)
    for name, value, low in (
        ("epochs", cfg.train.epochs, 1),
        ("batch_size", cfg.train.batch_size, 1),
        ("devices", cfg.train.devices, 1),
        ("num_nodes", cfg.train.num_nodes, 1),
        ("unfreeze_every", cfg.transfer.unfreeze_every, 1),
    ):
        if not isinstance(value, int) or value < low:
            raise ConfigError(f"invalid {name} {value!r}: expected an integer >= {low}")
    if not cfg.train.lr > 0:
        raise ConfigError(f"invalid lr {cfg.train.lr!r}: expected a positive number")
    for name, value in (
        ("val_fraction", cfg.data.val_fraction),
        ("test_fraction", cfg.data.test_fraction),
    ):
        if not 0 <= value < 1:
            raise ConfigError(f"invalid {name} {value!r}: expected 0 <= value < 1")
    if cfg.data.img_size is not None and cfg.data.img_size < 16:
        raise ConfigError(f"invalid img_size {cfg.data.img_size!r}: expected at least 16 pixels")


def _check_workers(value: Any) -> None:
    if value != "auto" and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigError(
            f"invalid num_workers {value!r}: expected an integer >= 0 or 'auto'",
            hint="pass e.g. --num-workers 4, or --num-workers auto",
        )


def _check_class_weights(cfg: RunConfig) -> None:
    """``class_weights`` is auto or none; auto weighs the classification loss only.

    A probe (``--strategy probe``, or ``auto`` choosing it) fits no training loss: it is fitted
    unweighted and says so (``engine.probe_run``), since ``auto`` decides after this check.
    """
    _choice("class_weights", cfg.train.class_weights, CLASS_WEIGHTS)
    if cfg.train.class_weights == "none":
        return
    if cfg.task != "classify":
        raise ConfigError(
            f"class_weights {cfg.train.class_weights!r} is implemented for classification only, "
            f"not task {cfg.task!r}",
            hint="drop --class-weights (or pass --class-weights none) for this task",
        )


def resolved_bn(cfg: RunConfig) -> str:
    """The BatchNorm mode a run trains with: ``auto`` becomes ``eval`` for pretrained weights.

    Fixed statistics in every pretrained stage keep the features the probe was fitted on while the
    stages fine-tune on a small data set (on 1,000 Fashion-MNIST images, LP-FT with ``full`` reached
    0.85 val accuracy with them and 0.74 with statistics updating). A random-init backbone has no
    statistics worth keeping, so ``auto`` lets its trainable stages update them (``frozen``).
    """
    if cfg.transfer.bn != "auto":
        return cfg.transfer.bn
    return "frozen" if cfg.model.weights == "none" else "eval"
