"""Datasets per task family, and :class:`DataSplits`, what every task's ``load_data`` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch.utils.data import Dataset


@dataclass
class DataSplits:
    """A loaded data set: train/val (and optional test) datasets plus what was skipped or ignored."""

    train: Dataset
    val: Dataset
    test: Dataset | None
    class_names: list[str]
    summary: dict[str, Any] = field(default_factory=dict)  # counts per split/class, skipped files…
