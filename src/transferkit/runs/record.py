"""The one writer of a run directory, used by the training loop and the probe run alike.

A run is recorded in a fixed order: :meth:`RunRecord.begin` (config, classes, plan, data summary)
before the first epoch, :meth:`RunRecord.epoch` after each (history, best / last checkpoints,
then the resume state, written last), :meth:`RunRecord.finish` (final metrics). The probe writes
its single "epoch" with :meth:`RunRecord.probe_checkpoint`. A resumed run records ``begin``
again, with its new epochs when :func:`resumed_config` extended it. Reading back goes through
:class:`~transferkit.runs.rundir.RunDir` and :func:`~transferkit.runs.rundir.load_run`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError, RunDirError, TransferkitError
from transferkit.core.fileio import read_json, write_json
from transferkit.runs import checkpoint as ckpt
from transferkit.runs import predictions as stored
from transferkit.runs import readback
from transferkit.runs.disk import checkpoint_bytes, size_text, space_shortfall, write_failed
from transferkit.runs.rundir import RunDir, RunHandle
from transferkit.zoo.backbone import DataConfig

AUTO_FILE = "auto.json"
AUGMENT_FILE = "augment.json"
SEMI_FILE = "semi.json"


@dataclass
class RunResult:
    """What a run returns: where it is, its final metrics and history, its wall time."""

    run_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    seconds: float


def resumed_config(path: str | Path, epochs: int | None = None) -> RunConfig:
    """The config to continue the run in ``path`` with: its own, or extended to ``epochs``.

    Extending means more epochs than the run was set up for (its ``config.yaml``); the loop then
    continues the plan and schedule over the new total (``engine.loop``), and the config and plan
    it records say so. A probe run has no epochs to extend.
    """
    run = RunDir(path)
    run.require_run()
    cfg = run.read_config()
    if epochs is None:
        return cfg
    if cfg.transfer.strategy == "probe":
        raise ConfigError(
            f"{path} is a probe run: it has no epochs to extend",
            hint="start a fine-tuning run instead, e.g. `transferkit train --strategy gradual`",
        )
    done = len([r for r in run.read_history() if (r.get("epoch") or 0) >= 1])
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs <= cfg.train.epochs:
        raise ConfigError(
            f"cannot extend {path} to {epochs!r} epochs: it is set up for {cfg.train.epochs} "
            f"({done} completed)",
            hint=f"pass --epochs above {cfg.train.epochs} to extend it, or leave --epochs out "
            "to finish an interrupted run",
        )
    return cfg.with_values(epochs=epochs)


def weights_info(backbone) -> dict | None:
    """The weights record of a backbone (None for random init)."""
    return getattr(backbone, "weights_info", None)


class RunRecord:
    """Writes one run directory; every file goes through an atomic write.

    A write that fails (disk full, read-only, permissions) raises
    :class:`~transferkit.core.errors.RunWriteError`: one line naming the file, what it holds and
    the last epoch whose resume state is on disk (``runs.disk``).
    """

    def __init__(self, path: str | Path):
        self.dir = RunDir(path)
        self.saved_epoch: int | None = None  # the last epoch whose resume state is on disk
        self.needed: int | None = None  # bytes the checkpoints take (check_space)

    @property
    def path(self) -> Path:
        return self.dir.path

    @contextmanager
    def _writing(self, what: str, target: Path) -> Iterator[None]:
        try:
            yield
        except TransferkitError:
            raise
        except OSError as e:
            raise write_failed(self.dir, what, target, e, self.saved_epoch, self.needed) from e

    def check_space(self, model: nn.Module) -> None:
        """Warn when the disk lacks the space ``model``'s checkpoints need (``runs.disk``)."""
        self.needed = checkpoint_bytes(model)
        short = space_shortfall(self.path, self.needed)
        if short:
            console.warn(
                f"warning: the run needs about {size_text(short[0])} more for its checkpoints "
                f"and {size_text(short[1])} are free on the disk of {self.path}; if it fills, "
                "the run stops at a checkpoint and --resume continues it once space is freed"
            )

    def begin(self, cfg: RunConfig, splits, backbone, plan: dict[str, Any]) -> None:
        """What is known before training: config, classes and preprocessing, plan, data."""
        with self._writing("the run's config", self.dir.config):
            cfg.save(self.dir.config)
        with self._writing("the class names", self.dir.classes):
            self.dir.write_classes(splits.class_names, backbone.data_config)
        with self._writing("the freeze plan", self.dir.plan):
            write_json(self.dir.plan, plan)
        summary = {**splits.summary, "weights": weights_info(backbone)}
        with self._writing("the data summary", self.dir.data_summary):
            write_json(self.dir.data_summary, summary)

    def auto_choice(self, record: dict[str, Any]) -> None:
        """``auto.json``: the measurements and reason behind ``--strategy auto``'s choice."""
        with self._writing("the auto strategy's record", self.path / AUTO_FILE):
            write_json(self.path / AUTO_FILE, record)

    def adopt(self, trial: str | Path) -> None:
        """Move the finished run in ``trial`` into this run directory, file by file (atomic
        renames, so ``trial`` must be on the same file system: ``--strategy auto`` keeps its
        trials in a scratch folder inside the run). Files already here (``auto.json``) stay."""
        source = RunDir(trial)
        source.require_run()
        for path in sorted(p for p in source.path.rglob("*") if p.is_file()):
            target = self.path / path.relative_to(source.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)

    def augment_choice(self, record: dict[str, Any]) -> None:
        """``augment.json``: the training augmentation used and the check that decided it."""
        with self._writing("the augmentation record", self.path / AUGMENT_FILE):
            write_json(self.path / AUGMENT_FILE, record)

    def semi_choice(self, record: dict[str, Any]) -> None:
        """``semi.json``: the unlabelled images used, pseudo-labels per round, scores with and
        without them, and which model the guard kept."""
        write_json(self.path / SEMI_FILE, record)

    def epoch(
        self,
        history: list[dict[str, Any]],
        model: nn.Module,
        meta: dict[str, Any],
        improved: bool,
        state: dict[str, Any] | None,
    ) -> None:
        """History so far, the best (when ``improved``) and last checkpoints, the resume state.

        ``state`` None writes no resume state (epoch 0, the probe-initialised model: a run resumes
        from a trained epoch).
        """
        epoch = meta.get("epoch")
        with self._writing(f"the history of epoch {epoch}", self.dir.history):
            self.dir.write_history(history)
        if improved:
            best = self.dir.best.with_suffix(".safetensors")
            with self._writing(f"the best checkpoint (epoch {epoch})", best):
                ckpt.save_model(self.dir.best, model, meta)
        last = self.dir.last.with_suffix(".safetensors")
        with self._writing(f"the last checkpoint (epoch {epoch})", last):
            ckpt.save_model(self.dir.last, model, meta)
        if state is None:
            return
        # Written last and self-contained (it holds the model too): a kill at any point leaves
        # either the previous epoch's state or this one's, never a mix.
        with self._writing(f"the resume state of epoch {epoch}", self.dir.state):
            ckpt.save_training_state(self.dir.state, {**state, "rng": ckpt.rng_state()})
        self.saved_epoch = state["epoch"] + 1

    def replace_best(self, model: nn.Module, **note: Any) -> None:
        """Rewrite the best checkpoint with ``model``, its metadata kept and ``note`` added (AdaBN
        after fine-tuning changes the BatchNorm statistics of the best model, nothing else)."""
        meta = read_json(self.dir.best.with_suffix(".json"))
        meta.pop("sha256", None)
        ckpt.save_model(self.dir.best, model, {**meta, **note})

    def probe_checkpoint(self, history: list[dict[str, Any]], model: nn.Module, meta) -> None:
        """The probe's one fit: history (one row per L2), best checkpoint, last = best."""
        with self._writing("the probe's history", self.dir.history):
            self.dir.write_history(history)
        with self._writing("the probe's checkpoint", self.dir.best.with_suffix(".safetensors")):
            ckpt.save_model(self.dir.best, model, meta)
        for suffix in (".safetensors", ".json"):  # link the files instead of writing them twice
            best, last = self.dir.best.with_suffix(suffix), self.dir.last.with_suffix(suffix)
            last.unlink(missing_ok=True)
            with self._writing("the probe's last checkpoint", last):
                try:
                    os.link(best, last)
                except OSError:  # file systems without hard links
                    shutil.copyfile(best, last)

    def finish(self, metrics: dict[str, Any]) -> None:
        """The final metrics (val, and test when there is a test split)."""
        with self._writing("the final metrics", self.dir.metrics):
            write_json(self.dir.metrics, metrics)

    def predictions(self, split: str, dataset, rows: list[dict[str, Any]]) -> None:
        """``predictions/<split>.*``: the final evaluation's per-image predictions of
        ``dataset`` (written after the best checkpoint they come from)."""
        stored.write_split(self.path, split, dataset, rows)

    def resume_state(self, model, optimizer, scheduler) -> dict[str, Any]:
        """Load the last completed epoch into ``model``, ``optimizer``, ``scheduler`` and RNGs."""
        if not self.dir.state.is_file():
            raise RunDirError(
                f"{self.path} has no completed epoch to resume from (no {self.dir.state.name})",
                hint="start it again with `transferkit train --config "
                f"{self.dir.config}`, or pick another run",
            )
        state = ckpt.load_training_state(self.dir.state)
        readback.load_fitting(model, state["model"], self.dir.state)
        try:
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            ckpt.set_rng_state(state["rng"])
        except (ValueError, KeyError, TypeError, IndexError, RuntimeError) as e:
            why = f"its optimizer, schedule or RNG state does not fit this run ({e})"
            raise readback.damaged(self.dir.state, why.splitlines()[0]) from None
        self.saved_epoch = state["epoch"] + 1
        return state

    def load_best(self, model: nn.Module) -> None:
        """Load the best checkpoint into ``model`` when there is one (else it stays as it is)."""
        if self.dir.best.with_suffix(".safetensors").is_file():
            ckpt.load_model_weights(self.dir.best, model)

    def handle(self, cfg: RunConfig, class_names, data_config: DataConfig, model) -> RunHandle:
        """The run as :func:`~transferkit.runs.rundir.load_run` would return it, with the model
        in memory (the report after training needs no rebuild from disk)."""
        return RunHandle(self.dir, cfg, list(class_names), data_config, model.eval(), {})
