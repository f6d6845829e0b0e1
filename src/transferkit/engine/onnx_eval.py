"""An exported model scored on real data, as the run is: the same split, the same metrics.

``transferkit evaluate MODEL.onnx --data D --split val`` and the check ``export`` runs after
writing a model both go through :func:`evaluate_onnx`: the onnxruntime session is wrapped as a
module and handed to the task's own evaluation step, so the numbers are computed by the code
that computed the run's. Tasks whose evaluation runs the model in PyTorch-only ways (detection and
instance segmentation: torchvision's detectors compute losses and predictions in one call) are
scored from predictions instead: ``predict MODEL.onnx`` then ``evaluate --predictions``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError, DatasetError
from transferkit.engine.evaluation import run_evaluation
from transferkit.export.onnx_predict import meta_outputs, read_sidecar
from transferkit.export.parity import onnx_session
from transferkit.tasks import get_task
from transferkit.zoo.backbone import DataConfig

SCORED_TASKS = ("classify", "segment")  # whose evaluation step takes the export's output as is


class OnnxModule(nn.Module):
    """An onnxruntime session behind ``module(images) -> output tensor`` (the first output).

    A model exported with a fixed batch of one gets each image of a batch on its own.
    """

    def __init__(self, path: str | Path, meta: dict[str, Any], threads: int | None = None):
        super().__init__()
        self.session = onnx_session(path, threads)
        self.input_name = meta["inputs"][0]["name"]
        self.output_name = meta_outputs(meta)[0]
        self.one_at_a_time = not meta.get("dynamic_batch", False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.detach().cpu().float().numpy()
        parts = [x[i : i + 1] for i in range(len(x))] if self.one_at_a_time else [x]
        outs = [self.session.run([self.output_name], {self.input_name: p})[0] for p in parts]
        return torch.cat([torch.from_numpy(o) for o in outs])


def check_scored(task: str, what: str) -> None:
    """Refuse tasks whose evaluation cannot take an exported model's output."""
    if task not in SCORED_TASKS:
        raise ConfigError(
            f"{what}: scoring an exported {task} model on data is not available; "
            f"{' and '.join(SCORED_TASKS)} exports are scored",
            hint="predict with it (`transferkit predict MODEL.onnx IMAGES --out preds.json`), then "
            f"`transferkit evaluate --task {task} --data DATA --predictions preds.json`",
        )


def export_config(meta: dict[str, Any], data: str | Path | None) -> RunConfig:
    """The config that reads ``data`` (default: the run's, from the sidecar) as the run did."""
    carve = dict(meta.get("data") or {})
    path = str(data) if data else carve.get("path")
    if not path or not Path(path).exists():
        raise DatasetError(
            f"data path not found: {path}",
            hint="pass --data (the run's data is not where its export says)",
        )
    carve["path"] = path
    return RunConfig(task=meta["task"]).with_values(img_size=meta.get("img_size"), **carve)


def evaluate_onnx(
    onnx_path: str | Path,
    data: str | Path | None = None,
    split: str | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Metrics of an exported model on ``split`` of ``data`` (default: the run's data, carved as
    the run carved it); the same keys as a run's evaluation, plus ``split``."""
    meta = read_sidecar(onnx_path)
    check_scored(meta["task"], f"evaluate {onnx_path}")
    cfg = export_config(meta, data)
    model = OnnxModule(onnx_path, meta)
    data_config = DataConfig.from_dict(meta["data_config"])
    return score(model, cfg, data_config, list(meta["class_names"]), split, batch_size)


def score(
    model: nn.Module,
    cfg: RunConfig,
    data_config: DataConfig,
    class_names: list[str],
    split: str | None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Metrics of ``model`` (PyTorch or :class:`OnnxModule`) on ``split`` of ``cfg``'s data."""
    task = get_task(cfg.task, cfg)
    splits = task.load_data(cfg, data_config)
    if splits.class_names != class_names:
        raise DatasetError(
            f"{cfg.data.path}: its classes differ from the model's ({len(splits.class_names)} vs "
            f"{len(class_names)})",
            hint="evaluate on data with the same class folders / categories as training",
        )
    chosen = split or ("test" if splits.test is not None and len(splits.test) else "val")
    dataset = splits.test if chosen == "test" else splits.val
    if dataset is None or len(dataset) == 0:
        raise DatasetError(
            f"{cfg.data.path} has no '{chosen}' split", hint="use --split val, or add a test split"
        )
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=task.collate)
    metrics = run_evaluation(None, task, model, loader, class_names)
    return {"split": chosen, **metrics}


def check_export(run, onnx_path: str | Path, tolerance: float) -> dict[str, Any]:
    """The exported model and the run's PyTorch model (``run``, a ``RunHandle``) on the run's val
    split: the headline metric of both and their difference, against ``tolerance``.

    What the export's sidecar records as ``evaluation``; ``within`` is False when the export
    scores more than ``tolerance`` below (or above) PyTorch. Tasks not scored, and runs whose
    data is gone, get ``checked`` False and the reason.
    """
    meta = read_sidecar(onnx_path)
    task = get_task(meta["task"])
    if meta["task"] not in SCORED_TASKS:
        return {"checked": False, "reason": f"{meta['task']} exports are checked on inputs only"}
    if not run.config.data.path or not Path(run.config.data.path).exists():
        return {"checked": False, "reason": f"the run's data {run.config.data.path} is not there"}
    args = (run.config, run.data_config, list(run.class_names), "val")
    theirs = score(OnnxModule(onnx_path, meta), *args)
    ours = score(run.model, *args)
    name = task.monitor
    difference = float(theirs[name]) - float(ours[name])
    return {
        "checked": True,
        "split": "val",
        "images": int(ours.get("num_samples", 0)) or None,
        "metric": name,
        "pytorch": float(ours[name]),
        "onnx": float(theirs[name]),
        "difference": difference,
        "tolerance": tolerance,
        "within": abs(difference) <= tolerance,
    }
