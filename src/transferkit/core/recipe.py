"""The checks of the transfer recipe's own options: how fine-tuning starts its head (``init``) and
the training augmentation (``augment`` and its knobs).

Called by :func:`transferkit.core.config.validate`, so the CLI, the API and a YAML config meet the
same door; the checks read the config's fields and know nothing of the engine that uses them.
"""

from __future__ import annotations

from typing import Any

from transferkit.core.errors import ConfigError, did_you_mean

INITS = ("auto", "probe", "random")  # how fine-tuning starts its head (LP-FT: from the probe)
AUGMENTS = ("none", "light", "default", "strong", "auto")  # the presets of data.augment
# Tasks whose model is a head on the backbone's pooled embedding: the linear probe, LP-FT, the
# classification augmentation and class weights apply to them.
POOLED_TASKS = ("classify", "multilabel")
CLASS_WEIGHTS = ("auto", "none")  # auto: inverse class frequency of the train split


def choice(name: str, value: Any, options) -> None:
    """Raise ConfigError unless ``value`` is one of ``options`` (with a did-you-mean)."""
    if value not in options:
        raise ConfigError(
            f"invalid {name} {value!r}.{did_you_mean(str(value), options)}",
            hint=f"valid values: {', '.join(options)}",
        )


def probe_init_refusal(task: str, head: str | None) -> str | None:
    """Why fine-tuning ``task`` with ``head`` cannot start from the linear probe (None: it can)."""
    if task not in POOLED_TASKS:
        return f"the probe initialises a classification head, not one for task {task!r}"
    if head not in (None, "linear"):  # None: the task's default, linear
        return f"the probe initialises a linear head, not --head {head}"
    return None


def check_init(cfg) -> None:
    """``init`` is auto, probe or random; an explicit probe only where it applies. A run that
    continues another (``init_from``) records its resolved init, "run"."""
    choice("init", cfg.transfer.init, (*INITS, "run") if cfg.model.init_from else INITS)
    why_not = probe_init_refusal(cfg.task, cfg.model.head)
    if cfg.transfer.init == "probe" and why_not:
        raise ConfigError(
            f"--init probe cannot apply here: {why_not}",
            hint="use --init random, or auto (the probe where it applies, random elsewhere)",
        )


def check_augment(cfg) -> None:
    """The augmentation preset and knobs: known names and a valid crop (ranges: declared; which
    knobs a task's transforms honour is said where its data is built)."""
    d = cfg.data
    choice("augment", d.augment, AUGMENTS)
    if d.crop_scale is not None and not 0 < d.crop_scale[0] <= d.crop_scale[1] <= 1:
        low, high = d.crop_scale
        raise ConfigError(
            f"invalid crop_scale {low:g} {high:g}: expected MIN MAX with 0 < MIN <= MAX <= 1",
            hint="pass e.g. --crop-scale 0.8 1.0 (1 1 turns random cropping off)",
        )


def crop_pair(name: str, value: Any) -> list[float]:
    """``value`` as ``[min, max]``: from "MIN,MAX", "MIN MAX", ["MIN", "MAX"] or two numbers."""
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        value = " ".join(value)
    parts = value.replace(",", " ").split() if isinstance(value, str) else value
    try:
        low, high = (float(v) for v in parts)
    except (TypeError, ValueError):
        raise ConfigError(
            f"invalid {name} {value!r}: expected two numbers MIN MAX",
            hint=f"pass e.g. --{name.replace('_', '-')} 0.8 1.0 (or 0.8,1.0)",
        ) from None
    return [low, high]


def class_list(value: Any) -> list[str]:
    """``value`` as a list of distinct class names: from "a,b,c" or a list of names."""
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [str(n).strip() for n in names]
    if not names or not all(names) or len(set(names)) != len(names):
        raise ConfigError(
            f"invalid classes {value!r}: expected distinct, non-empty names",
            hint="pass e.g. --classes cat,dog,outdoor",
        )
    return names


def check_class_weights(cfg) -> None:
    """``class_weights`` is auto or none; auto weighs the classification loss only.

    A probe (``--strategy probe``, or ``auto`` choosing it) fits no training loss: it is fitted
    unweighted and says so (``engine.probe_run``), since ``auto`` decides after this check.
    """
    choice("class_weights", cfg.train.class_weights, CLASS_WEIGHTS)
    if cfg.train.class_weights == "none":
        return
    if cfg.task not in POOLED_TASKS:
        raise ConfigError(
            f"class_weights {cfg.train.class_weights!r} is implemented for classification only, "
            f"not task {cfg.task!r}",
            hint="drop --class-weights (or pass --class-weights none) for this task",
        )
