"""Where the local weight store keeps an entry, and reading its record: no torch needed, so that
``zoo list`` can say what is stored without importing it (:mod:`.store` writes and loads)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transferkit.core import env
from transferkit.core.fileio import read_json


@dataclass(frozen=True)
class StoreEntry:
    """One stored set of weights."""

    name: str  # canonical backbone name
    file: str  # the stored .safetensors
    sha256: str  # of the stored file
    original_file: str
    original_sha256: str
    added: str  # ISO date-time (UTC)
    architecture: str  # model class
    has_source_head: bool  # whether the pretraining classifier is included
    parameters: int  # scalars stored
    licence: str = "unknown"
    pretraining_data: str = "unknown"


def store_dir() -> Path:
    """The weight store folder (``core.env.weights_dir``: inside ``$TRANSFERKIT_HOME``)."""
    return env.weights_dir()


def entry_path(canonical: str) -> Path:
    """The safetensors path an entry for ``canonical`` has (its record is the same name + .json)."""
    return store_dir() / (canonical.replace(":", "-") + ".safetensors")


def find(canonical: str) -> StoreEntry | None:
    """The entry for a canonical name, or None."""
    record = entry_path(canonical).with_suffix(".json")
    if not record.is_file():
        return None
    return StoreEntry(**read_json(record))
