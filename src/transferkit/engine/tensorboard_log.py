"""TensorBoard event logs in the run directory, beside history.csv.

One scalar per numeric column of each history row, at step = epoch, under tags grouped the way
TensorBoard lays them out: ``loss/train``, ``loss/val``, ``metrics/<name>``, ``lr/<group>`` and
``run/<name>`` (trainable parameters, seconds). ``tensorboard --logdir RUNDIR`` shows them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

TENSORBOARD_DIR = "tensorboard"


def scalar_tags(row: dict[str, Any]) -> dict[str, float]:
    """The TensorBoard tag and value of every finite numeric entry of a history row."""
    tags: dict[str, float] = {}
    for key, value in row.items():
        if key == "epoch" or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value):
            continue
        if key in ("train_loss", "val_loss"):
            tag = f"loss/{key.removesuffix('_loss')}"
        elif key.startswith("lr_"):
            tag = f"lr/{key.removeprefix('lr_')}"
        elif key in ("trainable_parameters", "seconds"):
            tag = f"run/{key}"
        else:
            tag = f"metrics/{key}"
        tags[tag] = float(value)
    return tags


class EpochLog:
    """Writes one row per epoch to ``RUNDIR/tensorboard``; does nothing when not ``enabled``.

    ``first_epoch`` is the epoch the loop starts from (above 1 on resume): events at or after it
    from an interrupted earlier attempt are discarded by TensorBoard (``purge_step``), so a
    resumed run shows one curve, not two overlapping ones.
    """

    def __init__(self, run_path: str | Path, enabled: bool = True, first_epoch: int = 1):
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(
                str(Path(run_path) / TENSORBOARD_DIR),
                purge_step=first_epoch if first_epoch > 1 else None,
            )

    def log(self, row: dict[str, Any]) -> None:
        """Add the scalars of one history row at step ``row["epoch"]`` and flush them to disk."""
        if self.writer is None:
            return
        for tag, value in scalar_tags(row).items():
            self.writer.add_scalar(tag, value, global_step=int(row["epoch"]))
        self.writer.flush()

    def close(self) -> None:
        """Close the event file."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
