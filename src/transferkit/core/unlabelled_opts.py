"""The checks of the options that learn from unlabelled images: ``unlabelled``, ``adapt``, ``semi``.

Called by :func:`transferkit.core.config.validate`, so the CLI, the API and a YAML config meet the
same door. What the options do lives in ``transfer.adabn`` / ``transfer.pseudo`` (decisions) and
``engine.semi_run`` (orchestration).
"""

from __future__ import annotations

from transferkit.core.errors import ConfigError
from transferkit.core.recipe import choice

ADAPTS = ("none", "bn")  # bn: AdaBN, BatchNorm statistics re-estimated on the unlabelled images
SEMIS = ("auto", "self-training", "none")  # auto: self-training when unlabelled images are given


def resolved_semi(cfg) -> str:
    """The semi-supervised method a run uses: ``self-training`` or ``none``."""
    if not cfg.data.unlabelled:
        return "none"
    return "self-training" if cfg.transfer.semi == "auto" else cfg.transfer.semi


def check_unlabelled(cfg) -> None:
    """Known values; ``adapt`` and an explicit ``semi`` need unlabelled images; classify only."""
    choice("adapt", cfg.transfer.adapt, ADAPTS)
    choice("semi", cfg.transfer.semi, SEMIS)
    unlabelled = cfg.data.unlabelled
    if unlabelled is not None and (not isinstance(unlabelled, str) or not unlabelled.strip()):
        raise ConfigError(
            f"invalid unlabelled {unlabelled!r}: expected a folder or a text file of image paths",
            hint="pass --unlabelled PATH (a folder of images, or a .txt file with one path a line)",
        )
    for name, value, off in (
        ("adapt", cfg.transfer.adapt, "none"),
        ("semi", cfg.transfer.semi, "auto"),
    ):
        if value not in (off, "none") and not unlabelled:
            raise ConfigError(
                f"--{name} {value} learns from unlabelled images, but none were given",
                hint="add --unlabelled PATH (a folder of images, or a text file of paths)",
            )
    if unlabelled and cfg.task != "classify":
        raise ConfigError(
            f"--unlabelled (AdaBN, self-training) is implemented for classification only, "
            f"not task {cfg.task!r}",
            hint="drop --unlabelled (and --adapt/--semi) for this task",
        )
