"""The ``names`` of an Ultralytics data YAML: a list, or a map of class indices to names, checked
(a map turned round, ``red: 0``, is named with the fix rather than read as class "0")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.core.errors import DatasetError


def names_of(value: Any, where: Path) -> list[str]:
    """The class names of a data YAML's ``names``: a list, or a map of indices 0..K-1 to names."""
    if isinstance(value, list) and value:
        return [str(n) for n in value]
    if isinstance(value, dict) and value:
        _check_name_keys(value, where)
        ids = sorted(int(k) for k in value)
        if ids != list(range(len(ids))):
            raise DatasetError(f"{where}: 'names' ids must be 0..{len(ids) - 1}, got {ids}")
        return [str(value[k]) for k in sorted(value, key=int)]
    raise DatasetError(f"{where}: no class 'names' list", hint="add names: [cat, dog, ...]")


def _check_name_keys(names: dict, where: Path) -> None:
    """``names`` maps class indices to words; refuse words as keys, naming the fix."""
    words = [k for k in names if not (isinstance(k, int) or str(k).strip().isdigit())]
    if not words:
        return
    first = words[0]
    if isinstance(names[first], int):  # {red: 0, blue: 1}: the map turned round
        raise DatasetError(
            f"{where}: 'names' maps words to indices ({first}: {names[first]}); YOLO maps "
            "indices to words",
            hint=f"write names: {{{names[first]}: {first}, ...}} or names: [{first}, ...]",
        )
    raise DatasetError(
        f"{where}: 'names' key {first!r} is not a class index",
        hint="write names: {0: first_class, 1: second_class, ...} or a list",
    )
