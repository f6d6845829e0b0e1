"""Errors raised by transferkit.

Every error a user can cause is a ``TransferkitError`` subclass that also subclasses the matching
builtin, so ``except ValueError`` keeps working for callers who do not know transferkit. The message
says what was wrong, the offending value, the valid options and the fix; the CLI prints it on one
line (``hint`` on a second) and exits with status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TransferkitError(Exception):
    """Base class of every error a user can cause; ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class ConfigError(TransferkitError, ValueError):
    """A configuration value (CLI flag, YAML key, API argument) is invalid."""


class DatasetError(TransferkitError, ValueError):
    """The data set on disk is missing, malformed or unusable."""


class BackboneNotFoundError(TransferkitError, KeyError):
    """A backbone name resolves to no known architecture."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return TransferkitError.__str__(self)


class WeightsUnavailableError(TransferkitError, FileNotFoundError):
    """Pretrained weights were asked for but cannot be found offline."""


class WeightsMismatchError(TransferkitError, ValueError):
    """A weights file does not fit the architecture (missing or unexpected keys, shapes)."""


class RunDirError(TransferkitError, FileNotFoundError):
    """A folder given as a run directory is not one, or is incomplete."""


class RunWriteError(TransferkitError, OSError):
    """A file of a run directory could not be written (disk full, read-only, permissions)."""


class ExportError(TransferkitError, RuntimeError):
    """A model cannot be exported correctly (unsupported task, outputs that differ from PyTorch)."""


def did_you_mean(value: str, options: Iterable[str], n: int = 3) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest options, or an empty string."""
    matches = difflib.get_close_matches(str(value), list(options), n=n, cutoff=0.5)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"
