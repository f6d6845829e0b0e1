"""The local weight store: ``$TRANSFERKIT_HOME/weights`` (default ``~/.cache/transferkit/weights``).

``add`` checks a state dict against the architecture before keeping it, then stores it as
safetensors next to a JSON record (sha256, original file, date, architecture); both are written
atomically, so a crash never leaves a half-written entry that resolution would pick up.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, replace
from pathlib import Path

import torch

from transferkit.core.errors import WeightsMismatchError
from transferkit.core.fileio import atomic_write, sha256_file, write_json
from transferkit.zoo.names import parse_backbone_name
from transferkit.zoo.sources import SOURCES
from transferkit.zoo.weights.builtin import adapt_layout
from transferkit.zoo.weights.spec import check_state_dict, expected_shapes, load_state_dict_file
from transferkit.zoo.weights.store_index import (
    StoreEntry,
    entry_path,
    find,
    list_entries,
    store_dir,
)

# The entry's record and location live in store_index (no torch); they are this module's too.
__all__ = ["StoreEntry", "add", "entry_path", "find", "list_entries", "load", "store_dir"]


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
