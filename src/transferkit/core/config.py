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
from transferkit.core.options import check_numbers, declared_ranges, number
from transferkit.core.recipe import (
    check_augment,
    check_class_weights,
    check_init,
    choice,
    class_list,
    crop_pair,
)
from transferkit.core.unlabelled_opts import check_unlabelled

TASKS = ("classify", "detect", "segment", "instance", "multilabel")
PRECISIONS = ("32", "bf16-mixed", "16-mixed", "64")
# BatchNorm modes: whose norm statistics stay fixed (every pretrained stage, frozen stages, none);
# "auto" is eval for pretrained weights and frozen for random init (see resolved_bn)
BN_MODES = ("eval", "frozen", "train")
BN_CHOICES = ("auto", *BN_MODES)
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")


@dataclass(frozen=True)
class DataSettings:
    """Where the data is and how to read and split it."""

    path: str | None = None
    format: str = "auto"
    val_fraction: float = number(0.2, ge=0, lt=1)
    test_fraction: float = number(0.0, ge=0, lt=1)
    split_seed: int = number(0, int, ge=0)
    on_bad_image: str = "fail"  # fail | skip
    img_size: int | None = number(None, int, ge=16, example="224")  # None: the backbone's
    strict: bool = False  # detection: boxes outside the image are an error instead of clipped
    cache_images: str = "auto"  # decoded images kept in memory: auto (what fits) | ram | none
    ignore_index: int = number(255, int, ge=0)  # semantic segmentation
    classes: list[str] | None = None  # multilabel: the label set, in order (None: labels found)
    # Training augmentation: a preset, then single knobs (None: from the preset). auto: "default";
    # for classification minus what the augmentation check finds harmful (engine.augment_run).
    augment: str = "auto"  # none | light | default | strong | auto
    hflip: float | None = number(None, ge=0, le=1, what="a probability", example="0.5")
    vflip: float | None = number(None, ge=0, le=1, what="a probability", example="0.5")
    crop_scale: list[float] | None = None  # [min, max] share of the area a random crop keeps
    # brightness, contrast and saturation jitter strength; largest random rotation
    jitter: float | None = number(None, ge=0, le=1, what="a strength", example="0.2")
    rotation: float | None = number(None, ge=0, le=180, what="an angle in degrees", example="15")
    unlabelled: str | None = None  # classify: a folder (or text file of paths) of unlabelled images

    def __post_init__(self):
        check_numbers(self)
        if self.crop_scale is not None:  # "0.8,1.0" (the CLI), [0.8, 1.0] (YAML), a tuple (API)
            object.__setattr__(self, "crop_scale", crop_pair("crop_scale", self.crop_scale))
        if self.classes is not None:  # "a,b,c" (the CLI) or a list (YAML, API)
            object.__setattr__(self, "classes", class_list(self.classes))


@dataclass(frozen=True)
class ModelSettings:
    """Backbone, its weights and the new layers on top."""

    backbone: str = "efficientnet_lite0"
    weights: str = "auto"  # auto | none | a weights file | coco (detection) | run:RUNDIR
    init_from: str | None = None  # classify: a run whose backbone and head rows start this one
    head: str | None = None  # None: the task's default; classify: linear | mlp; segment: fpn…
    head_hidden: int = number(512, int, ge=1)
    head_dropout: float = number(0.2, ge=0, lt=1)
    detector: str = "faster_rcnn"  # faster_rcnn | retinanet | fcos | mask_rcnn
    dice_weight: float = number(0.0, ge=0)  # segment: weight of a soft Dice loss added to CE

    def __post_init__(self):
        check_numbers(self)


@dataclass(frozen=True)
class TransferSettings:
    """The transfer recipe: which stages train when, at what LR, and how BatchNorm behaves."""

    strategy: str = "gradual"  # head | partial:N | gradual | full | probe | auto
    unfreeze_every: int = number(1, int, ge=1)  # gradual: epochs between unfreezing a stage
    lr_decay: float = number(0.5, gt=0, le=1)  # LR multiplier between neighbouring stages
    bn: str = "auto"  # BN_CHOICES; whose norm statistics stay fixed (see resolved_bn)
    init: str = "auto"  # fine-tuning head init: probe (LP-FT) | random | auto (probe if it can)
    budget: int | str | None = None  # auto: trial epochs (12) or minutes ("5m"); None: 3 x epochs
    adapt: str = "none"  # bn: AdaBN on the unlabelled images (core.unlabelled_opts)
    semi: str = "auto"  # self-training | none; auto: self-training when unlabelled images are given

    def __post_init__(self):
        check_numbers(self)


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation and hardware."""

    epochs: int = number(10, int, ge=1)
    batch_size: int = number(32, int, ge=1)
    lr: float = number(1e-3, gt=0, example="0.001")
    weight_decay: float = number(0.01, ge=0)
    warmup_epochs: float = number(1.0, ge=0)
    grad_clip: float | None = number(1.0, gt=0, optional=True)  # None: no clipping
    # early stopping: epochs without improvement of the monitored metric (0 or None: off)
    patience: int | None = number(5, int, ge=0, optional=True)
    class_weights: str = "none"  # classify: auto weighs the training loss by 1 / class frequency
    seed: int = number(0, int, ge=0)
    devices: int = number(1, int, ge=1)  # per node
    num_nodes: int = number(1, int, ge=1)
    accelerator: str = "auto"
    precision: str = "32"
    # loader processes; auto: from the machine (data.loading)
    num_workers: int | str = number("auto", int, ge=0, words=("auto",), example="4")
    quiet: bool = False

    def __post_init__(self):
        check_numbers(self)


@dataclass(frozen=True)
class CommandSettings:
    """Numbers of single commands (predict, plan, export) that are no part of a run's config."""

    top_k: int = number(1, int, ge=1)  # predict, classification: labels per image
    score_threshold: float = number(0.3, ge=0, le=1, what="a score")  # predict: lowest kept
    num_classes: int = number(10, int, ge=1)  # plan: classes of the new head
    # export: 20 is the highest the TorchScript-based exporter writes; a task may need more than 11
    opset: int | None = number(None, int, ge=11, le=20)


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
            try:
                kwargs[name] = section_cls(**values)
            except ConfigError as e:  # name the file: the message alone names only the key
                raise ConfigError(f"{source}: {e.message}", hint=e.hint) from None
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
# Every declared number by name (names are unique across the sections and commands).
RANGES = declared_ranges(*_SECTIONS.values(), CommandSettings)


def check_option(name: str, value: Any) -> None:
    """Check one number against its declaration (for API arguments outside a RunConfig)."""
    RANGES[name].check(name, value)


def option_default(name: str) -> Any:
    """The declared default of a number (for the CLI's own defaults)."""
    sections = (*_SECTIONS.values(), CommandSettings)
    return {f.name: f.default for c in sections for f in fields(c)}[name]


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


def validate(cfg: RunConfig) -> None:
    """Check values that do not depend on the data or the backbone."""
    choice("task", cfg.task, TASKS)
    choice("precision", str(cfg.train.precision), PRECISIONS)
    choice("accelerator", cfg.train.accelerator, ACCELERATORS)
    choice("on_bad_image", cfg.data.on_bad_image, ("fail", "skip"))
    choice("bn", cfg.transfer.bn, BN_CHOICES)
    choice("cache_images", cfg.data.cache_images, ("auto", "ram", "none"))
    check_init(cfg)
    check_budget(cfg.transfer.budget)
    check_augment(cfg)
    check_unlabelled(cfg)
    check_class_weights(cfg)


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
