"""What a task provides to the training loop, evaluation and prediction.

Tasks are composed, not inherited: each task module exposes one object that satisfies
:class:`Task`. The loop (``engine.loop``) only ever talks to this surface, so adding a task never
touches the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch.utils.data import Dataset

from transferkit.transfer.model import TransferModel
from transferkit.zoo.backbone import Backbone


@dataclass
class DataSplits:
    """A loaded data set: train/val (and optional test) datasets plus what was skipped or ignored."""

    train: Dataset
    val: Dataset
    test: Dataset | None
    class_names: list[str]
    summary: dict[str, Any] = field(default_factory=dict)  # counts per split/class, skipped files…


class Metrics(Protocol):
    """Accumulates predictions batch by batch; ``compute`` returns flat snake_case keys."""

    def update(self, outputs: Any, batch: Any) -> None: ...

    def compute(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...


class Task(Protocol):
    """The task surface the loop, ``evaluate`` and ``predict`` use."""

    name: str  # "classify", "detect", "segment", "instance"
    monitor: str  # metric key used for early stopping and the best checkpoint (higher is better)

    def build_model(self, backbone: Backbone, num_classes: int, options: dict) -> TransferModel:
        """Put new layers on ``backbone`` for ``num_classes``; ``options`` holds head settings."""

    def load_data(self, data: Any, backbone_data_config: Any, train_options: Any) -> DataSplits:
        """Read the data set described by the data config, with transforms for the backbone."""

    def collate(self, samples: list[Any]) -> Any:
        """Batch samples for a DataLoader."""

    def training_loss(self, model: TransferModel, batch: Any) -> torch.Tensor:
        """Scalar loss for one training batch (model is in train mode)."""

    def evaluation_step(self, model: TransferModel, batch: Any, metrics: Metrics) -> torch.Tensor:
        """Validation loss for one batch; updates ``metrics`` with the batch's predictions."""

    def make_metrics(self, class_names: list[str]) -> Metrics:
        """A fresh metric accumulator."""
