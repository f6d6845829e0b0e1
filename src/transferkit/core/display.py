"""Numbers as people read them, one set of rules for the command line's tables and the report:
durations with their unit (``117.6 s``), counts with thousands separators, scores to 4 decimals."""

from __future__ import annotations

from typing import Any

# Columns (and metric keys) that hold durations in seconds.
SECONDS_KEYS = ("seconds", "train_seconds", "time_s")


def seconds(value: float | None) -> str:
    """``7.2 s``, ``117.6 s``; ten minutes and more as ``12.5 min``; None as ""."""
    if value is None:
        return ""
    v = float(value)
    return f"{v:.1f} s" if v < 600 else f"{v / 60:.1f} min"


def number(value: Any, digits: int = 4) -> str:
    """Ints with thousands separators, floats to ``digits`` decimals (large ones to one, with
    separators), anything else as text; None as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:,.1f}"
    return str(value)


def cell(column: str, value: Any) -> str:
    """``value`` formatted for a column named ``column`` (durations get their unit)."""
    duration = column in SECONDS_KEYS or column.endswith("_seconds")
    if duration and isinstance(value, (int, float)) and not isinstance(value, bool):
        return seconds(value)
    return number(value)
