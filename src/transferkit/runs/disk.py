"""The disk under a run directory: the space a run needs, and a failed write said in one line.

A run keeps three checkpoint files (``checkpoints/``: best and last weights, and the resume state
with AdamW's two moments per parameter) and, while it replaces one, a temporary copy of it beside
the old (writes are atomic). Free space is checked against that at the start and warned about;
a write that fails anyway (``ENOSPC`` or any other ``OSError``) ends the run with a
:class:`~transferkit.core.errors.RunWriteError` naming the file, what it holds, the last epoch
whose resume state is safely on disk, and the ``--resume`` that continues from it.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from torch import nn

from transferkit.core.errors import RunWriteError
from transferkit.runs.rundir import RunDir

ADAM_MOMENTS = 2  # exp_avg and exp_avg_sq: the optimizer state in last_state.pt
# RNG states and the archive's per-tensor headers in last_state.pt: most of a tiny model's state.
STATE_OVERHEAD = 64 * 1024


def size_text(n: float) -> str:
    """``n`` bytes for people: "3.2 MB", "1.4 GB"."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def checkpoint_bytes(model: nn.Module) -> int:
    """Bytes the checkpoints of ``model`` take at their peak (see the module notes).

    Weights file M (the state dict), resume state S = M + 2P + overhead (P: the parameters, every
    one of which may get AdamW moments once unfrozen): best + last + state, plus one more state
    while it is replaced = 2M + 2S.
    """
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    state = weights + ADAM_MOMENTS * params + STATE_OVERHEAD
    return 2 * weights + 2 * state


def space_shortfall(path: Path, needed: int) -> tuple[int, int] | None:
    """(still needed, free) when the disk of ``path`` has less free space than ``needed`` minus
    what its checkpoints already take (a resumed run replaces them), else None."""
    present = sum(p.stat().st_size for p in (path / "checkpoints").glob("*") if p.is_file())
    more = max(0, needed - present)
    existing = next(p for p in (path, *path.parents) if p.exists())  # the run may be unborn
    free = shutil.disk_usage(existing).free
    return (more, free) if free < more else None


def write_failed(
    run: RunDir, what: str, target: Path, error: OSError, epoch: int | None, needed: int | None
) -> RunWriteError:
    """The one-line error for a write of ``what`` to ``target`` that failed with ``error``.

    ``epoch`` is the last epoch whose resume state is on disk (None: no epoch completed).
    """
    if error.errno == errno.ENOSPC:
        reason = "no space left on the device"
    else:
        reason = error.strerror or type(error).__name__
    space = f" (the run needs about {size_text(needed)})" if needed else ""
    if epoch is None:
        kept = "no epoch was completed, so there is nothing to resume"
        hint = f"free some space{space} and train again into a new or empty --out"
    else:
        kept = f"the last good checkpoint is epoch {epoch} ({run.state})"
        hint = f"free some space{space}, then `transferkit train --resume {run.path}` continues it"
    return RunWriteError(f"{reason} writing {what} to {target}; {kept}", hint=hint)
