"""Named registries: the one place each extension axis (tasks, formats, backbone sources) is listed.

An entry is either an object or a ``"package.module:attribute"`` string that is imported on first
use, so that listing the names (for CLI ``choices`` or an error message) never imports the heavy
module behind an entry. A duplicate name raises; an unknown name gets a did-you-mean.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from transferkit.core.errors import ConfigError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Names mapped to objects, loaded lazily from ``"module:attribute"`` references."""

    def __init__(self, kind: str):
        self.kind = kind  # what one entry is, for messages: "task", "format", "backbone source"
        self._entries: dict[str, Any] = {}

    def register(self, name: str, entry: T | str) -> None:
        """Add ``entry`` under ``name``; a second registration of the same name raises."""
        if name in self._entries:
            raise ConfigError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry

    def names(self) -> list[str]:
        """Registered names, in registration order (no entry is imported)."""
        return list(self._entries)

    def get(self, name: str) -> T:
        """The entry for ``name``, imported on first use; unknown names get a did-you-mean."""
        if name not in self._entries:
            raise ConfigError(
                f"unknown {self.kind} {name!r}.{did_you_mean(name, self._entries)}",
                hint=f"valid {self.kind}s: {', '.join(self._entries)}",
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            module_name, _, attribute = entry.partition(":")
            entry = getattr(importlib.import_module(module_name), attribute)
            self._entries[name] = entry
        return entry

    def items(self) -> Iterator[tuple[str, T]]:
        """``(name, entry)`` pairs, importing every entry."""
        for name in self.names():
            yield name, self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries
