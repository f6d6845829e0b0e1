"""Where the local weight store keeps an entry, and reading its record: no torch needed, so that
``zoo list`` can say what is stored without importing it (:mod:`.store` writes and loads)."""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

from transferkit.core import console, env
from transferkit.core.errors import WeightsUnavailableError


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
    """The entry for a canonical name, or None; a damaged record raises, naming it."""
    record = entry_path(canonical).with_suffix(".json")
    if not record.is_file():
        return None
    entry, problem = read_record(record)
    if problem:
        raise WeightsUnavailableError(problem, hint=_record_fix(record, canonical))
    return entry


def list_entries() -> list[StoreEntry]:
    """Every stored entry, sorted by name; a damaged record is named in a warning and skipped."""
    folder = store_dir()
    if not folder.is_dir():
        return []
    entries = []
    for record in sorted(folder.glob("*.json")):
        entry, problem = read_record(record)
        if problem:
            console.warn(f"warning: {problem}; skipped ({_record_fix(record)})")
        else:
            entries.append(entry)
    return sorted(entries, key=lambda e: e.name)


_TYPES = {"str": str, "bool": bool, "int": int}  # StoreEntry's annotations, as text


def read_record(record: Path) -> tuple[StoreEntry | None, str | None]:
    """The entry a record file holds, or None and what is wrong with it (edited, truncated)."""
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"weight store record {record} is damaged ({type(e).__name__})"
    if not isinstance(data, dict):
        return None, f"weight store record {record} is damaged (not a mapping)"
    known = {f.name: f for f in fields(StoreEntry)}
    wrong = [k for k in data if k not in known]
    wrong += [
        name for name, f in known.items()
        if (name in data and type(data[name]) is not _TYPES[f.type])
        or (name not in data and f.default is MISSING)
    ]  # fmt: skip
    if wrong:
        return None, f"weight store record {record} is damaged (bad or missing: {', '.join(wrong)})"
    return StoreEntry(**data), None


def _record_fix(record: Path, name: str | None = None) -> str:
    name = name or "NAME"
    return (
        f"delete {record} and {record.with_suffix('.safetensors').name} beside it, then add the "
        f"weights again with `transferkit weights add {name} FILE`"
    )
