"""The checks of the transfer recipe's own options: how fine-tuning starts its head (``init``) and
the classification training augmentation (``augment`` and its knobs).

Called by :func:`transferkit.core.config.validate`, so the CLI, the API and a YAML config meet the
same door; the checks read the config's fields and know nothing of the engine that uses them.
"""

from __future__ import annotations

from typing import Any

from transferkit.core.errors import ConfigError, did_you_mean

INITS = ("auto", "probe", "random")  # how fine-tuning starts its head (LP-FT: from the probe)
AUGMENTS = ("none", "light", "default", "strong", "auto")  # the presets of data.augment


def choice(name: str, value: Any, options) -> None:
    """Raise ConfigError unless ``value`` is one of ``options`` (with a did-you-mean)."""
    if value not in options:
        raise ConfigError(
            f"invalid {name} {value!r}.{did_you_mean(str(value), options)}",
            hint=f"valid values: {', '.join(options)}",
        )


def probe_init_refusal(task: str, head: str | None) -> str | None:
    """Why fine-tuning ``task`` with ``head`` cannot start from the linear probe (None: it can)."""
    if task != "classify":
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


_KNOB_RANGES = {
    "hflip": (1.0, "a probability", "0.5"),
    "vflip": (1.0, "a probability", "0.5"),
    "jitter": (1.0, "a strength", "0.2"),
    "rotation": (180.0, "an angle in degrees", "15"),
}


def check_augment(cfg) -> None:
    """The augmentation preset and knobs: known names, values in range, classification only."""
    d = cfg.data
    choice("augment", d.augment, AUGMENTS)
    for name, (high, what, example) in _KNOB_RANGES.items():
        value = getattr(d, name)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and not (number and 0 <= value <= high):
            raise ConfigError(
                f"invalid {name} {value!r}: expected {what} in [0, {high:g}]",
                hint=f"pass e.g. --{name} {example} (0 turns it off)",
            )
    if d.crop_scale is not None and not 0 < d.crop_scale[0] <= d.crop_scale[1] <= 1:
        low, high = d.crop_scale
        raise ConfigError(
            f"invalid crop_scale {low:g} {high:g}: expected MIN MAX with 0 < MIN <= MAX <= 1",
            hint="pass e.g. --crop-scale 0.8 1.0 (1 1 turns random cropping off)",
        )
    knobs = [k for k in (*_KNOB_RANGES, "crop_scale") if getattr(d, k) is not None]
    if cfg.task != "classify" and (d.augment != "auto" or knobs):
        given = ", ".join(["augment", *knobs] if d.augment != "auto" else knobs)
        raise ConfigError(
            f"augmentation settings ({given}) are implemented for classification only, "
            f"not task {cfg.task!r}",
            hint="drop --augment and the augmentation knobs for this task",
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
