"""What a task provides to the training loop, evaluation and prediction.

Tasks are composed, not inherited: each task module exposes one object that satisfies
:class:`Task`. The loop (``engine.loop``) only ever talks to this surface, so adding a task never
touches the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from transferkit.core.config import ModelSettings, RunConfig
from transferkit.data.datasets import DataSplits
from transferkit.transfer.model import TransferModel
from transferkit.zoo.backbone import Backbone, DataConfig


class Metrics(Protocol):
    """Accumulates predictions batch by batch; ``compute`` returns flat snake_case keys.

    For the intervals of the final numbers (``core.stats.summary_of``) an accumulator also has
    ``num_images`` and ``resample(weights)``: its headline metrics under bootstrap weights
    ``(B, num_images)``, each as ``(B,)`` values; optionally ``resamples`` (its bootstrap count)
    and ``per_image()`` (JSON outcomes per image kept in metrics.json for paired tests).
    """

    def update(self, outputs: Any, batch: Any) -> None: ...

    def compute(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...


class Task(Protocol):
    """The task surface the loop, ``evaluate`` and ``predict`` use."""

    name: str  # "classify", "detect", "segment", "instance", "multilabel"
    monitor: str  # metric key used for early stopping and the best checkpoint (higher is better)
    heads: tuple[str, ...]  # the values ``--head`` may take for this task ("" when it has none)
    default_head: str  # the head used when the config leaves ``model.head`` unset (None)
    coco_weights: bool  # whether ``--weights coco`` (a COCO-trained model) exists for the task

    def for_run(self, cfg: RunConfig) -> Task:
        """The task object for a run of ``cfg`` (task objects are never changed in place)."""

    def build_model(
        self, backbone: Backbone, num_classes: int, model: ModelSettings
    ) -> TransferModel:
        """Put new layers on ``backbone`` for ``num_classes`` as ``model`` (head, detector…) says."""

    def load_data(self, cfg: RunConfig, data_config: DataConfig) -> DataSplits:
        """Read the data set of ``cfg.data`` with transforms for the backbone's ``data_config``."""

    def collate(self, samples: list[Any]) -> Any:
        """Batch samples for a DataLoader."""

    def training_loss(self, model: TransferModel, batch: Any) -> torch.Tensor:
        """Scalar loss for one training batch (model is in train mode)."""

    def evaluation_step(self, model: TransferModel, batch: Any, metrics: Metrics) -> torch.Tensor:
        """Validation loss for one batch; updates ``metrics`` with the batch's predictions."""

    def make_metrics(self, class_names: list[str]) -> Metrics:
        """A fresh metric accumulator."""


# Optional task hooks, looked up with getattr by the CLI and API (a task that lacks one says so):
#   predict_paths(run: "RunHandle", paths: list[Path], options: dict) -> list[dict]
#       predictions for image files; options carry top_k / draw_dir / score_threshold.
#   predict_with(runner: Runner, info: ModelInfo, paths: list[Path], options: dict) -> list[dict]
#       the same prediction loop for any model behind ``runner`` (tasks.common.predict): how
#       ``export.onnx_predict`` predicts with an ONNX export.
#   write_predictions(predictions: list[dict], out: Path) -> Path
#       JSON / CSV (classify), COCO results JSON (detect, instance), index PNG folder (segment).
#   prediction_rows(outputs, batch, class_names: list[str]) -> list[dict]
#       one JSON-able row per image of an evaluated batch (``outputs`` as ``evaluation_step``
#       gives them to the metrics): what the final evaluation keeps in ``predictions/``.
#   evaluate_predictions(data_path: Path, predictions: Path, options: dict) -> dict
#       score a predictions file made by any tool against ground truth (flat snake_case keys).
#   report_sections(run: "RunHandle", splits: DataSplits | None) -> list[Section]
#       the task's part of report.html (examples beside ground truth), used by ``report``.
#   onnx_spec(run: "RunHandle", dynamic_batch: bool) -> OnnxSpec
#       what ``export`` traces, checks and describes (tasks.common.onnx).
#   demo: DemoSpec
#       the built-in demo of the task (pretrained vs random init), run by ``engine.demo``.
#   with_class_weights(weights: Sequence[float]) -> Task
#       the task object whose training loss weighs each class (``--class-weights auto``, built by
#       ``engine.prepare`` from the train split); classification only, the config refuses others.
#   class_weights_of(splits, class_names) -> dict[str, float]
#       the weights ``--class-weights auto`` gives (multi-label: BCE's pos_weight per label);
#       without it, inverse class frequency of the train split's labels.
#   metrics_for(model, class_names) -> Metrics
#       metrics that judge the model's own stored decision (multi-label: per-label thresholds).
#   settle_decision(model, metrics: dict, choose: bool) -> dict
#       after an evaluation pass: with ``choose`` (validation passes of training), the decision
#       fitted on that pass is stored in the model and reported; otherwise it is left as stored.


@dataclass(frozen=True)
class DemoRun:
    """One training run of a demo: its label in the table, the weights and the strategy."""

    label: str  # "pretrained, head"
    weights: str  # auto: the backbone's pretrained weights; none: random init
    strategy: str
    data: str | None = None  # which data set of the spec (None: its only one, named "data")


@dataclass(frozen=True)
class DemoSpec:
    """A task's built-in demo as data; ``engine.demo.run_demo`` trains it and makes the table.

    ``prepare(out_dir)`` writes (or reuses) the demo data under ``out_dir`` and returns the data
    sets by name; ``about`` lines are printed before training, formatted with those paths.
    """

    task: str
    model: str  # what trains, for the progress lines: "Faster R-CNN on efficientnet_lite0"
    settings: Mapping[str, Any]  # config values shared by every run (``RunConfig.with_values``)
    runs: tuple[DemoRun, ...]
    metrics: tuple[str, ...]  # metric keys shown for each run
    prepare: Callable[[Path], dict[str, Path]]
    about: tuple[str, ...] = ()
