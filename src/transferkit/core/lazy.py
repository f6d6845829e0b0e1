"""Package attributes imported on first use (PEP 562), so that a light command stays light.

``import transferkit`` used to import the whole API, and with it torch, timm and torchvision
(2.5 s and more on a loaded 2-core machine) before the command line could even parse its
arguments; ``transferkit zoo list`` needs none of them. A package lists what it exports and
where each name lives; the module is imported when the name is first read, and the name is then
an ordinary attribute (monkeypatching it works as on any module).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, where: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, exporting each name of ``where`` (name ->
    module that defines it)."""

    def getattr_(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(importlib.import_module(package), name, value)  # the next read is plain
        return value

    def dir_() -> list[str]:
        return sorted(set(where) | set(vars(importlib.import_module(package))))

    return getattr_, dir_
