"""Checks on what is read back from a run directory, before it is used.

A run directory may have been edited, truncated or swapped since the run wrote it. Everything read
back goes through here: JSON files parsed and their fields checked, checkpoints against the sha256
recorded beside them and against the architecture of the run's config, the resume state loaded
without unpickling code and its keys checked. Each failure is one
:class:`~transferkit.core.errors.RunDirError` line naming the file and what is wrong with it.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn

from transferkit.core.errors import RunDirError, WeightsMismatchError
from transferkit.core.fileio import sha256_file
from transferkit.zoo.weights.spec import check_state_dict, expected_shapes

RESTORE = "put back the file the run wrote (from a copy of the run), or train the run again"
STATE_KEYS = {
    "epoch": int, "best_score": float, "stale": int, "model": dict, "optimizer": dict,
    "scheduler": dict, "rng": dict,
}  # fmt: skip


def damaged(path: Path, why: str, hint: str = RESTORE) -> RunDirError:
    """The error for a run file that is there but unusable."""
    return RunDirError(f"{path} is damaged: {why}", hint=hint)


def read_json_file(path: Path) -> Any:
    """Parse the JSON file ``path`` of a run directory, or raise a one-line RunDirError."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirError(f"{path} is missing", hint=RESTORE) from None
    except UnicodeDecodeError:
        raise damaged(path, "not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise damaged(path, f"not valid JSON ({e.msg} at line {e.lineno})") from None


def require(ok: bool, path: Path, why: str) -> None:
    """Raise :func:`damaged` with ``why`` unless ``ok``."""
    if not ok:
        raise damaged(path, why)


def read_checked(path: Path, check: Callable[[Any], str | None]) -> Any:
    """:func:`read_json_file`, then ``check(obj)``: a returned text is what is wrong."""
    obj = read_json_file(path)
    problem = check(obj)
    require(problem is None, path, problem or "")
    return obj


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_sha256(weights: Path, meta_path: Path, meta: dict[str, Any]) -> None:
    """Refuse ``weights`` unless its sha256 is the one recorded in ``meta`` (its JSON)."""
    recorded = meta.get("sha256")
    require(isinstance(recorded, str), meta_path, "it records no sha256 of its checkpoint")
    if sha256_file(weights) != recorded:
        raise RunDirError(
            f"{weights} has changed since the run wrote it: its sha256 no longer matches the one "
            f"recorded in {meta_path.name}",
            hint="a checkpoint swapped for other weights is not used; " + RESTORE,
        )


def load_safetensors(weights: Path) -> dict[str, torch.Tensor]:
    """The tensors of ``weights``, or a one-line error when it is not a safetensors file."""
    try:
        return load_file(str(weights), device="cpu")
    except Exception:  # safetensors raises its own error types for any malformed header
        raise damaged(
            weights, "not a safetensors file (another kind of file, a pickle perhaps, or cut short)"
        ) from None


def load_fitting(model: nn.Module, state: dict[str, torch.Tensor], file: Path) -> None:
    """Load ``state`` into ``model`` once its keys and shapes are checked against it."""
    try:
        check_state_dict(state, expected_shapes(model), (), "the model of this run", file)
    except WeightsMismatchError as e:
        raise WeightsMismatchError(
            e.message,
            hint="the file is from another architecture than the run's config.yaml; " + RESTORE,
        ) from None
    model.load_state_dict(state, strict=False)  # strict but for num_batches_tracked (checked)


def load_state_file(path: Path) -> dict[str, Any]:
    """A resume state read with ``weights_only`` (never code), its keys and types checked."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # what weights_only raises for anything but plain data
        raise damaged(
            path, "it holds objects other than tensors and numbers (code, perhaps); refused unread"
        ) from None
    except Exception as e:  # a truncated or foreign archive: torch's own error types
        raise damaged(path, f"not a resume state ({type(e).__name__})") from None
    require(isinstance(state, dict), path, "not a resume state (no mapping of its parts)")
    missing = sorted(k for k in STATE_KEYS if k not in state)
    require(not missing, path, f"the resume state lacks {', '.join(missing)}")
    wrong = [
        k for k, kind in STATE_KEYS.items()
        if not (is_number(state[k]) if kind is float else isinstance(state[k], kind))
        or isinstance(state[k], bool)
    ]  # fmt: skip
    require(not wrong, path, f"wrong types in the resume state: {', '.join(wrong)}")
    return state
