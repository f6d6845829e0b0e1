"""Numeric options: a type and a range declared once, beside the default, and checked at the door.

A settings dataclass declares a number with :func:`number` (``lr: float = number(1e-3, gt=0)``);
the declaration travels in the field's metadata. From it come the check that the config runs on
every construction (CLI, API and YAML meet the same one: :func:`check_numbers`), the argparse type
and the ``(> 0)`` printed in ``--help`` (``transferkit.cli.common.add_number``). Booleans, NaN and
infinities are never numbers here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from transferkit.core.errors import ConfigError


@dataclass(frozen=True)
class Range:
    """The type (``int`` or ``float``) and bounds of one option; ``None`` allowed if ``optional``."""

    kind: type = float
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: low itself is refused (> low)
    high_open: bool = False  # True: high itself is refused (< high)
    optional: bool = False
    what: str = ""  # "a probability", "an angle in degrees" … (default: a number / an integer)
    example: str = ""  # a good value, shown in the hint
    words: tuple[str, ...] = ()  # text values accepted besides numbers ("auto")

    def __str__(self) -> str:
        """The range as ``--help`` prints it: ``> 0``, ``>= 1``, ``[0, 1)``."""
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            return f"{'(' if self.low_open else '['}{lo:g}, {hi:g}{')' if self.high_open else ']'}"
        if lo is not None:
            return f"{'>' if self.low_open else '>='} {lo:g}"
        if hi is not None:
            return f"{'<' if self.high_open else '<='} {hi:g}"
        return "any finite value"

    def describe(self) -> str:
        """``an integer >= 1``, ``a probability in [0, 1]``, ``a number > 0``."""
        what = self.what or ("an integer" if self.kind is int else "a number")
        bounds = str(self)
        text = f"{what} in {bounds}" if bounds.startswith(("[", "(")) else f"{what} {bounds}"
        return text + "".join(f" or {w!r}" for w in self.words)

    def parse(self, text: str) -> Any:
        """A command-line value: one of ``words`` as it is, else a number of ``kind``."""
        return text if text in self.words else self.kind(text)

    def why_not(self, value: Any) -> str | None:
        """Why ``value`` is refused (None: it is accepted)."""
        if value is None:
            return None if self.optional else "a value is required"
        if isinstance(value, str) and value in self.words:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected {self.describe()}, got {type(value).__name__}"
        if self.kind is int and not isinstance(value, int):
            return f"expected {self.describe()} (a whole number)"
        if not math.isfinite(value):
            return f"expected {self.describe()}, not NaN or infinity"
        low_bad = self.low is not None and (
            value <= self.low if self.low_open else value < self.low
        )
        high_bad = self.high is not None and (
            value >= self.high if self.high_open else value > self.high
        )
        return f"expected {self.describe()}" if low_bad or high_bad else None

    def check(self, name: str, value: Any) -> None:
        """Raise ConfigError naming the option (its YAML key and API name), the value, the range
        and the flag to pass."""
        why = self.why_not(value)
        if why is None:
            return
        flag = "--" + name.replace("_", "-")
        good = f"e.g. {flag} {self.example}" if self.example else f"{flag} with {self.describe()}"
        raise ConfigError(f"invalid {name} {value!r}: {why}", hint=f"pass {good}")


def number(
    default: Any,
    kind: type = float,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    optional: bool = False,
    what: str = "",
    example: str = "",
    words: tuple[str, ...] = (),
) -> Any:
    """A dataclass field holding a number of ``kind`` within the given bounds (``ge`` = >=, …)."""
    declared = Range(
        kind,
        low=gt if gt is not None else ge,
        high=lt if lt is not None else le,
        low_open=gt is not None,
        high_open=lt is not None,
        optional=optional or default is None,
        what=what,
        example=example,
        words=words,
    )
    return field(default=default, metadata={"range": declared})


def declared_ranges(*classes: type) -> dict[str, Range]:
    """``{field name: Range}`` of every declared number in the dataclasses ``classes``."""
    return {
        f.name: f.metadata["range"]
        for cls in classes
        for f in dataclasses.fields(cls)
        if "range" in f.metadata
    }


def check_numbers(obj: Any) -> None:
    """Check every declared number of the dataclass instance ``obj``, in declaration order.

    A float given as text is read as a number first: YAML 1.1 (PyYAML) reads ``lr: 1e-3`` as the
    string "1e-3", and refusing what the user wrote as a number would be a trap. Integers are
    never read from text.
    """
    for f in dataclasses.fields(obj):
        declared = f.metadata.get("range")
        if declared is None:
            continue
        value = getattr(obj, f.name)
        if declared.kind is float and isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass  # refused below, as text
            else:
                object.__setattr__(obj, f.name, value)
        declared.check(f.name, value)
