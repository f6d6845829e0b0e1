"""The training augmentation of a classification run: what the user asked for, or what the check keeps.

``--augment none|light|default|strong`` and the single knobs (``--hflip`` …) are taken as they are:
the user said what they want. ``--augment auto`` (the default) starts from ``default`` and, before
training, scores the linear probe on the features of the validation images under each single
augmentation against the clean ones (:func:`transferkit.transfer.augment_check.check_augmentations`);
an augmentation that costs the probe accuracy (a flipped "2" is not a "2") is turned off, with one
line saying why. The augmented features go through the feature cache like the clean ones, so a
second run on the same data costs nothing. The decision, with the check's table, is recorded in
the run's ``augment.json``; the resolved knobs go to ``config.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.data.augment import (
    AugmentSettings,
    augment_from_config,
    augment_is_explicit,
    augmented_eval_transform,
    classification_train_transform,
    config_values,
    single_augmentations,
    turn_off,
)
from transferkit.data.loading import resolve_workers
from transferkit.runs.record import RunRecord
from transferkit.transfer.augment_check import AugmentCheck, check_augmentations
from transferkit.transfer.probe import ProbeOutcome, probe_device


def wants_check(cfg: RunConfig) -> bool:
    """Whether ``cfg``'s augmentation is decided by the check: single-label classification,
    ``--augment auto`` and no knob given (multi-label runs take the default preset)."""
    return cfg.task == "classify" and not augment_is_explicit(cfg.data)


def resolve_augment(
    cfg: RunConfig, prepared, cache, outcome: ProbeOutcome | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Decide the training augmentation of classification run ``cfg`` and put it in place.

    Runs the check when :func:`wants_check` (``outcome`` is then the fitted probe) and sets the
    train split's transform of ``prepared`` to the result. Returns the knob values for the config (every knob
    set, so the run's ``config.yaml`` trains the same augmentation again and skips the check) and
    the check's record (None when there was no check).
    """
    settings = augment_from_config(cfg.data)
    check = None
    if cfg.task != "classify" and not augment_is_explicit(cfg.data):
        console.info(
            "augment auto: the default preset, unchecked (the check measures single-label "
            "accuracy; pass --augment or its knobs to choose)"
        )
    if wants_check(cfg):
        check = run_check(cfg, prepared, cache, outcome, settings)
        for line in check.lines():
            console.info(f"augment: {line}")
        settings = turn_off(settings, check.turned_off)
        kept = ", ".join(v.name for v in check.verdicts if v.keep) or "nothing"
        console.info(f"augment auto: kept {kept} after checking them against the probe")
    if prepared is not None:  # None: DDP processes build it from the resolved config
        prepared.splits.train.transform = classification_train_transform(
            settings, prepared.backbone.data_config, cfg.data.img_size
        )
    return config_values(settings), None if check is None else check.to_dict()


def record_augment(cfg: RunConfig, out: str | Path, check_record: dict[str, Any] | None) -> None:
    """Write ``augment.json``: the preset asked for, the settings used, the check's table."""
    if not console.is_main():  # under torchrun every process decides alike; one writes
        return
    record = {
        "augment": cfg.data.augment,
        "decided_by": "check" if check_record else "your settings",
        "settings": augment_from_config(cfg.data).to_dict(),
        "check": check_record,
    }
    RunRecord(out).augment_choice(record)


def run_check(
    cfg: RunConfig,
    prepared,
    cache,
    outcome: ProbeOutcome | None,
    settings: AugmentSettings,
) -> AugmentCheck:
    """Score ``outcome``'s probe on clean and on singly augmented validation features."""
    if outcome is None or "val" not in outcome.features:
        raise RuntimeError("the augmentation check needs the probe fitted with a val split")
    backbone, splits = prepared.backbone, prepared.splits
    clean, labels = outcome.features["val"], outcome.labels["val"]
    paths = [p for p, _ in splits.val.samples]
    augmented = {}
    for name, augmentation in single_augmentations(settings).items():
        transform = augmented_eval_transform(augmentation, backbone.data_config, cfg.data.img_size)
        got = cache.features(
            backbone,
            paths,
            transform,
            batch_size=cfg.train.batch_size,
            num_workers=resolve_workers(cfg.train.num_workers),
            device=probe_device(cfg.train.accelerator),
            progress=not cfg.train.quiet,
        )
        augmented[name] = got.features.to(clean.device)
    return check_augmentations(outcome.fit, clean, labels, augmented)
