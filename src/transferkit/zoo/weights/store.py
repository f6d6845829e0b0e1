"""The local weight store: ``$TRANSFERKIT_HOME/weights`` (default ``~/.cache/transferkit/weights``).

``add`` checks a state dict against the architecture before keeping it, then stores it as
safetensors next to a JSON record (sha256, original file, date, architecture); both are written
atomically, so a crash never leaves a half-written entry that resolution would pick up.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path

import torch

from transferkit.core import console, env
from transferkit.core.errors import WeightsMismatchError, WeightsUnavailableError
from transferkit.core.fileio import atomic_write, sha256_file, write_json
from transferkit.zoo.names import parse_backbone_name
from transferkit.zoo.sources import SOURCES
from transferkit.zoo.weights.builtin import adapt_layout
from transferkit.zoo.weights.spec import check_state_dict, expected_shapes, load_state_dict_file


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


def add(
    name: str, file: str | Path, licence: str = "unknown", pretraining_data: str = "unknown"
) -> StoreEntry:
    """Check ``file`` against the architecture of backbone ``name`` and store it.

    Files in a known foreign layout (the EfficientNet-PyTorch keys of the built-in EfficientNet-Lite
    weights) are converted first. Raises :class:`WeightsMismatchError` when the keys do not fit.
    """
    bn = parse_backbone_name(name)
    file = Path(file)
    state_dict = load_state_dict_file(file)
    arch = SOURCES.get(bn.source).meta_model(bn)
    expected = expected_shapes(arch.model)
    state_dict = adapt_layout(bn.canonical, state_dict, list(expected))
    check_state_dict(state_dict, expected, arch.optional, bn.canonical, file)
    head = [k for k in state_dict if arch.head and k.startswith(arch.head)]
    return _write(
        StoreEntry(
            name=bn.canonical,
            file=str(entry_path(bn.canonical)),
            sha256="",
            original_file=str(file.resolve()),
            original_sha256=sha256_file(file),
            added=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            architecture=type(arch.model).__name__,
            has_source_head=bool(head),
            parameters=sum(
                v.numel() for k, v in state_dict.items() if not k.endswith("num_batches_tracked")
            ),
            licence=licence,
            pretraining_data=pretraining_data,
        ),
        state_dict,
    )


def _write(entry: StoreEntry, state_dict: dict[str, torch.Tensor]) -> StoreEntry:
    from safetensors.torch import save_file

    # safetensors refuses tensors that share memory; cloning makes each key own its data.
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    path = Path(entry.file)
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={"name": entry.name}))
    entry = replace(entry, sha256=sha256_file(path))
    write_json(path.with_suffix(".json"), asdict(entry))
    return entry


def load(entry: StoreEntry) -> dict[str, torch.Tensor]:
    """The stored tensors, after checking the file still has the recorded sha256."""
    path = Path(entry.file)
    digest = sha256_file(path) if path.is_file() else None
    if digest != entry.sha256:
        raise WeightsMismatchError(
            f"stored weights {path} are missing or changed since they were added "
            f"(sha256 {digest} vs recorded {entry.sha256}).",
            f"add them again with `transferkit weights add {entry.name} FILE`",
        )
    return load_state_dict_file(path)
