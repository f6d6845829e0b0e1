"""The run directory: everything needed to evaluate, predict, export or resume a run.

Layout::

    config.yaml           resolved RunConfig
    auto.json             --strategy auto: measurements and the choice (auto runs only)
    classes.json          class names (label order)
    plan.json             freeze plan
    data.json             data summary (counts, skipped files)
    history.csv           one row per epoch: losses, metrics, LR per group, seconds
    metrics.json          final metrics (val, and test when there is a test split)
    checkpoints/          best / last .safetensors + .json, last_state.pt (resume)
    predictions/          val / test .jsonl (+ .csv): the final evaluation's per-image predictions
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from transferkit import zoo
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError, RunDirError
from transferkit.core.fileio import atomic_write_text, write_json
from transferkit.runs import predictions, readback
from transferkit.runs.checkpoint import load_model_weights
from transferkit.tasks import get_task
from transferkit.transfer.model import TransferModel
from transferkit.zoo.backbone import DataConfig


class RunDir:
    """Paths and atomic writers of one run directory."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    config = property(lambda self: self.path / "config.yaml")
    classes = property(lambda self: self.path / "classes.json")
    plan = property(lambda self: self.path / "plan.json")
    data_summary = property(lambda self: self.path / "data.json")
    history = property(lambda self: self.path / "history.csv")
    metrics = property(lambda self: self.path / "metrics.json")
    checkpoints = property(lambda self: self.path / "checkpoints")
    best = property(lambda self: self.path / "checkpoints" / "best")
    last = property(lambda self: self.path / "checkpoints" / "last")
    state = property(lambda self: self.path / "checkpoints" / "last_state.pt")

    def is_run(self) -> bool:
        return self.config.is_file() and self.classes.is_file()

    def require_run(self) -> None:
        """Raise RunDirError unless this folder holds a run."""
        if not self.path.is_dir():
            raise RunDirError(
                f"run directory not found: {self.path}", hint="pass the --out folder of a train run"
            )
        if not self.is_run():
            raise RunDirError(
                f"{self.path} is not a transferkit run directory (no config.yaml / classes.json)",
                hint="pass the folder that `transferkit train --out` created",
            )

    def write_classes(self, class_names: list[str], data_config: DataConfig) -> None:
        write_json(
            self.classes, {"class_names": list(class_names), "data_config": data_config.to_dict()}
        )

    def read_config(self) -> RunConfig:
        """The run's ``config.yaml``, or one line saying why it cannot be used."""
        try:
            data = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise readback.damaged(self.config, "not UTF-8 text") from None
        except yaml.YAMLError as e:
            where = getattr(e, "problem_mark", None)
            at = f" at line {where.line + 1}" if where else ""
            raise readback.damaged(self.config, f"not valid YAML{at}") from None
        readback.require(isinstance(data, dict), self.config, "not a mapping of settings")
        try:
            return RunConfig.from_dict(data, source=str(self.config))
        except ConfigError as e:
            raise RunDirError(e.message.splitlines()[0], hint=readback.RESTORE) from None

    def read_classes(self) -> tuple[list[str], DataConfig]:
        """Class names and preprocessing, checked (``classes.json``)."""
        d = readback.read_checked(self.classes, _classes_problem)
        return d["class_names"], DataConfig.from_dict(d["data_config"])

    def write_history(self, rows: list[dict[str, Any]]) -> None:
        """Rewrite history.csv from all rows (columns are the union, in first-seen order)."""
        columns: list[str] = []
        for row in rows:
            columns += [k for k in row if k not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.history, buf.getvalue())

    def read_history(self) -> list[dict[str, Any]]:
        """The rows of history.csv with numbers parsed (empty cells become None)."""
        if not self.history.is_file():
            return []
        try:
            with open(self.history, newline="", encoding="utf-8") as f:
                rows = [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]
        except (UnicodeDecodeError, csv.Error) as e:
            raise readback.damaged(self.history, f"not a history table ({e})") from None
        # A probe's history has no epoch column (one row per L2); a training history's epochs
        # must be numbers, as resume picks the rows to keep by them.
        bad = [i for i, r in enumerate(rows, 2) if "epoch" in r and not isinstance(r["epoch"], int)]
        readback.require(not bad, self.history, f"line {bad[0] if bad else 0}: epoch not a number")
        return rows


def _classes_problem(d: Any) -> str | None:
    """What is wrong with the contents of a ``classes.json``, or None."""
    if not isinstance(d, dict):
        return "not a mapping of class_names and data_config"
    names = d.get("class_names")
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        return "class_names is not a list of names"
    dc = d.get("data_config")
    fields = ("mean", "std", "input_size")
    if not isinstance(dc, dict) or not all(isinstance(dc.get(k), list) for k in fields):
        return "data_config lacks mean, std or input_size"
    if not all(readback.is_number(x) for k in fields for x in dc[k]):
        return "data_config holds a value that is not a number"
    return None


def _number(text: str) -> Any:
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@dataclass
class RunHandle:
    """A finished (or interrupted) run loaded back: config, classes, preprocessing, model."""

    run_dir: RunDir
    config: RunConfig
    class_names: list[str]
    data_config: DataConfig
    model: TransferModel
    checkpoint: dict[str, Any]

    def stored_predictions(self, split: str, dataset=None) -> list[dict[str, Any]] | None:
        """The final evaluation's per-image predictions of ``split``, when they still describe
        this checkpoint and ``dataset`` (``runs.predictions.read_split``); else None."""
        return predictions.read_split(self.run_dir.path, split, dataset)


def load_run(path: str | Path, which: str = "best", device: str = "cpu") -> RunHandle:
    """Rebuild the model of a run directory and load its ``best`` (or ``last``) checkpoint."""
    run = RunDir(path)
    run.require_run()
    cfg = run.read_config()
    class_names, data_config = run.read_classes()
    task = get_task(cfg.task)
    # The checkpoint holds every weight, so the backbone is built without loading pretrained ones.
    backbone = zoo.create_backbone(cfg.model.backbone, weights="none")
    model = task.build_model(backbone, len(class_names), cfg.model)
    stem = run.best if which == "best" else run.last
    if which == "best" and not stem.with_suffix(".safetensors").is_file():
        stem = run.last
    meta = load_model_weights(stem, model)
    model.to(device).eval()
    return RunHandle(run, cfg, class_names, data_config, model, meta)
