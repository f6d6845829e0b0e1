"""The budget of ``--strategy auto``: how much training the search for a recipe may spend.

A budget is a whole number of epochs (``12``: the trials of every candidate together train at
most 12 epochs) or minutes (``"5m"``, ``"2.5m"``: the trials stop being planned once the time is
spent). Unset, it is :data:`EPOCHS_PER_RUN` times the run's epochs, so that ``auto`` costs about
that many default runs; the final run reuses the winner's trial when it trained the run's full
epochs. The value is checked at the door (``core.config.validate``); the search itself lives in
``engine.auto_search``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from transferkit.core.errors import ConfigError

EPOCHS_PER_RUN = 3  # the default budget: this many times the run's epochs
_MINUTES = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:m|min|minutes?)\s*$")
_EPOCHS = re.compile(r"^\s*[+-]?\d+\s*$")
_HINT = (
    "pass --budget 12 (epochs, all trials together) or --budget 5m (minutes); "
    "leave it out for 3 x --epochs"
)


@dataclass(frozen=True)
class Budget:
    """A checked budget: ``amount`` of ``unit`` ("epochs" or "minutes")."""

    unit: str
    amount: float

    @property
    def epochs(self) -> int | None:
        """The budget in epochs (None when it is given in minutes)."""
        return int(self.amount) if self.unit == "epochs" else None

    def __str__(self) -> str:
        return f"{self.amount:g} {self.unit}"


def parse_budget(value: int | str | None, epochs: int = 10) -> Budget:
    """``value`` (12, "12", "5m", or None for the default) as a :class:`Budget`.

    ``epochs`` is the run's own epochs, from which the default is computed. Raises ConfigError
    with the offending value and a hint for anything else: zero, negative, fractional epochs,
    words, booleans.
    """
    if value is None:
        return Budget("epochs", EPOCHS_PER_RUN * epochs)
    if isinstance(value, bool):
        raise _invalid(value, "expected epochs or minutes, not a yes/no value")
    if isinstance(value, int) or (isinstance(value, str) and _EPOCHS.match(value)):
        count = int(value)
        if count < 1:
            raise _invalid(value, "expected a whole number of epochs >= 1")
        return Budget("epochs", count)
    if isinstance(value, float):
        raise _invalid(value, "expected a whole number of epochs (or minutes written like 5m)")
    match = _MINUTES.match(value) if isinstance(value, str) else None
    if match is None:
        raise _invalid(value, "expected a whole number of epochs (12) or minutes (5m)")
    minutes = float(match.group(1))
    if not minutes > 0 or not math.isfinite(minutes):
        raise _invalid(value, "expected a positive number of minutes")
    return Budget("minutes", minutes)


def check_budget(value: int | str | None) -> None:
    """Raise ConfigError unless ``value`` is a valid budget (None: the default)."""
    parse_budget(value)


def epochs_for_minutes(minutes: float, elapsed: float, seconds_per_epoch: float) -> int:
    """How many trial epochs fit in what is left of ``minutes`` after ``elapsed`` seconds.

    ``seconds_per_epoch`` is measured on the costliest candidate (a one-epoch trial, its setup
    included), so the estimate errs on the short side. Never below 1: one epoch was measured.
    """
    left = minutes * 60.0 - elapsed
    per = max(seconds_per_epoch, 1e-9)
    return max(1, 1 + int(left // per))


def _invalid(value, why: str) -> ConfigError:
    return ConfigError(f"invalid budget {value!r}: {why}", hint=_HINT)
