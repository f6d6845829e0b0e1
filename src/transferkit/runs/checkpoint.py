"""Checkpoints: model weights as safetensors + JSON metadata; training state for resume.

Weights never go through pickle: models are saved with safetensors, and the training state
(optimizer, scheduler, RNG, early-stopping counters) is read back with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from transferkit.core.errors import RunDirError
from transferkit.core.fileio import atomic_write, sha256_file, write_json
from transferkit.runs import readback


def save_model(stem: str | Path, model: nn.Module, meta: dict[str, Any]) -> Path:
    """Write ``stem.safetensors`` (the state dict) and ``stem.json`` (``meta`` + sha256)."""
    stem = Path(stem)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = stem.with_suffix(".safetensors")
    atomic_write(weights, lambda p: save_file(state, str(p)))
    write_json(stem.with_suffix(".json"), {**meta, "sha256": sha256_file(weights)})
    return weights


def load_model_weights(stem: str | Path, model: nn.Module) -> dict[str, Any]:
    """Load ``stem.safetensors`` into ``model``; return the metadata JSON beside it.

    Checked first (``runs.readback``): a safetensors file, the sha256 its JSON records, the
    keys and shapes of ``model``.
    """
    stem = Path(stem)
    weights = stem.with_suffix(".safetensors")
    if not weights.is_file():
        raise RunDirError(
            f"checkpoint not found: {weights}",
            hint="the run may have been stopped before its first epoch ended; train it again",
        )
    state = readback.load_safetensors(weights)
    meta_path = stem.with_suffix(".json")
    meta = readback.read_json_file(meta_path)
    readback.require(isinstance(meta, dict), meta_path, "not a checkpoint record (a mapping)")
    readback.check_sha256(weights, meta_path, meta)
    readback.load_fitting(model, state, weights)
    return meta


def rng_state() -> dict[str, Any]:
    """RNG states of torch, numpy and Python, in a form ``weights_only`` loading accepts."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_pos": int(np_state[2]),
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    keys = state["numpy_keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, state["numpy_pos"], 0, 0.0))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def save_training_state(path: str | Path, state: dict[str, Any]) -> Path:
    """Write the resume state (optimizer, scheduler, epoch, RNG…) atomically."""
    return atomic_write(path, lambda p: torch.save(state, p))


def load_training_state(path: str | Path) -> dict[str, Any]:
    """Read a resume state written by :func:`save_training_state` without unpickling code;
    its parts are checked (``runs.readback``)."""
    return readback.load_state_file(Path(path))
