"""What every task's prediction loop shares, whether the model is PyTorch or an ONNX export.

A task's ``predict`` module has one loop over image files. It gets the model as a *runner*: a
callable from the model's input tensor to its outputs by name, as CPU tensors (``{"logits": …}``,
or a detector's ``{"boxes": …, "labels": …, "scores": …}``). :func:`torch_runner` makes one from a
trained model; ``export.onnx_predict`` makes one from an onnxruntime session whose output names
are the same. What the loop needs to know about the model (class names, preprocessing) is a
:class:`ModelInfo`, read from a run directory or from an export's sidecar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from transferkit.core.fileio import read_json
from transferkit.zoo.backbone import DataConfig

Runner = Callable[[torch.Tensor], dict[str, torch.Tensor]]
DEFAULT_BATCH = 32
DEFAULT_SCORE_THRESHOLD = 0.05  # COCO practice: keep low-scoring detections for mAP


@dataclass(frozen=True)
class ModelInfo:
    """What prediction needs to know about a trained model besides running it."""

    class_names: list[str]
    data_config: DataConfig
    img_size: int | None  # the run's ``data.img_size`` (None: the task's default)
    category_ids: list[int]  # the data set's own ids of the classes (1..K when it had none)
    max_batch: int | None = None  # the largest batch the model takes (None: any)
    thresholds: list[float] | None = None  # multi-label: per-label decision thresholds

    @classmethod
    def from_run(cls, run) -> ModelInfo:
        """From a loaded run (``runs.rundir.RunHandle``); category ids from its ``data.json``."""
        path = run.run_dir.data_summary
        ids = read_json(path).get("category_ids") if path.is_file() else None
        stored = getattr(run.model.net, "thresholds", None)  # a buffer of multi-label models
        return cls(
            class_names=list(run.class_names),
            data_config=run.data_config,
            img_size=run.config.data.img_size,
            category_ids=_ids(ids, len(run.class_names)),
            thresholds=None if stored is None else [float(t) for t in stored],
        )

    @classmethod
    def from_sidecar(cls, meta: dict[str, Any]) -> ModelInfo:
        """From an export's sidecar (``model.onnx.json``); a fixed-batch export takes one image."""
        names = list(meta["class_names"])
        return cls(
            class_names=names,
            data_config=DataConfig.from_dict(meta["data_config"]),
            img_size=meta.get("img_size"),
            category_ids=_ids(meta.get("category_ids"), len(names)),
            max_batch=None if meta.get("dynamic_batch") else 1,
            thresholds=(meta.get("decision") or {}).get("thresholds"),
        )

    def batch_size(self, options: dict[str, Any]) -> int:
        """``options["batch_size"]`` (default 32), at most what the model takes."""
        size = int(options.get("batch_size") or DEFAULT_BATCH)
        return min(size, self.max_batch) if self.max_batch else size


def _ids(ids, n: int) -> list[int]:
    return list(ids) if ids and len(ids) == n else list(range(1, n + 1))


def torch_runner(model: nn.Module, forward: Callable[[nn.Module, torch.Tensor], Any]) -> Runner:
    """A runner for a PyTorch model: ``forward(model, x)`` on the model's device, outputs to CPU.

    ``forward`` returns a tensor (named ``logits``) or a dict of tensors.
    """
    model = model.eval()
    device = next(model.parameters()).device

    @torch.no_grad()
    def run(x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = forward(model, x.to(device))
        out = out if isinstance(out, dict) else {"logits": out}
        return {name: value.cpu() for name, value in out.items()}

    return run


def score_threshold(options: dict[str, Any]) -> float:
    """``options["score_threshold"]``: detections scored below it are dropped (default 0.05)."""
    given = options.get("score_threshold")
    # ``is None``, not ``or``: a threshold of 0 asks for every detection.
    return DEFAULT_SCORE_THRESHOLD if given is None else float(given)
