"""Transfer strategies as data: which backbone stages train at which epoch, and at what LR.

Stages are indexed stem (0) to deepest (n-1). New parts (head, FPN, decoder…) always train at the
base LR; the strategy only decides about the pretrained stages.

* ``head``: every backbone stage frozen; only the new parts train.
* ``partial:N``: the deepest N stages train from the first epoch.
* ``gradual``: new parts first, then one more stage (deepest first) every ``unfreeze_every`` epochs.
* ``full``: every stage trains from the first epoch.

Trainable stages get a discriminative LR: stage ``i`` of ``n`` trains at ``lr_decay ** (n - i)``
times the base LR, so the deepest stage moves most and the stem least (``lr_decay=1`` disables it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transferkit.core.errors import ConfigError, did_you_mean

STRATEGY_NAMES = ("head", "partial:N", "gradual", "full")
# Strategies that are not a freeze schedule but a different procedure, dispatched by the loop.
SPECIAL_STRATEGIES = ("probe", "auto")


@dataclass(frozen=True)
class Strategy:
    """A freeze schedule and LR multipliers for the backbone stages."""

    name: str  # head | partial | gradual | full
    num_trainable: int = 0  # partial: how many of the deepest stages train
    unfreeze_every: int = 1  # gradual
    lr_decay: float = 0.5
    bn: str = "frozen"
    head_ready: bool = False  # the head was fitted before epoch 1 (from the probe)

    @property
    def label(self) -> str:
        """The text form, as given on the command line."""
        return f"partial:{self.num_trainable}" if self.name == "partial" else self.name

    def trainable_stages(self, epoch: int, num_stages: int) -> list[bool]:
        """Trainable flag per backbone stage (stem to deepest) during ``epoch`` (0-based)."""
        if self.name == "head":
            k = 0
        elif self.name == "partial":
            k = self.num_trainable
        elif self.name == "gradual":
            # "the head first": a head that starts from the probe has had its turn already
            k = epoch // self.unfreeze_every + int(self.head_ready)
        else:  # full
            k = num_stages
        k = max(0, min(k, num_stages))
        return [i >= num_stages - k for i in range(num_stages)]

    def lr_multipliers(self, num_stages: int) -> list[float]:
        """LR multiplier per backbone stage, stem to deepest (new parts use 1.0)."""
        return [self.lr_decay ** (num_stages - i) for i in range(num_stages)]

    def check(self, num_stages: int, backbone: str = "") -> None:
        """Raise ConfigError if the strategy does not fit a backbone with ``num_stages`` stages."""
        if self.name == "partial" and not 1 <= self.num_trainable <= num_stages:
            where = f" {backbone}" if backbone else ""
            raise ConfigError(
                f"strategy partial:{self.num_trainable} asks for more stages than the backbone{where} "
                f"has: expected 1–{num_stages}, got {self.num_trainable}",
                hint=f"use partial:1 … partial:{num_stages}, or full",
            )


def parse_strategy(
    text: str,
    *,
    unfreeze_every: int = 1,
    lr_decay: float = 0.5,
    bn: str = "frozen",
    head_ready: bool = False,
) -> Strategy:
    """Parse ``head``, ``partial:N``, ``gradual`` or ``full`` into a :class:`Strategy`.

    ``head_ready``: the head starts fitted (from the probe), so ``gradual`` unfreezes its first
    stage in epoch 1 instead of training the head alone first.
    """
    text = str(text).strip()
    match = re.fullmatch(r"partial:(\d+)", text)
    if match:
        return Strategy("partial", int(match.group(1)), unfreeze_every, lr_decay, bn, head_ready)
    if text in ("head", "gradual", "full"):
        return Strategy(text, 0, unfreeze_every, lr_decay, bn, head_ready)
    if text.startswith("partial"):
        raise ConfigError(
            f"invalid strategy {text!r}: partial needs a stage count, e.g. partial:2",
            hint="partial:N trains the deepest N backbone stages and the head",
        )
    options = ["head", "partial:N", "gradual", "full", *SPECIAL_STRATEGIES]
    raise ConfigError(
        f"unknown strategy {text!r}.{did_you_mean(text, options)}",
        hint=f"valid strategies: {', '.join(options)}",
    )
