"""``--strategy auto`` as a measurement: trials on the validation split, within a budget.

The probe is scored first (``engine.run`` fits it on cached features); the fine-tuning candidates
of ``transfer.auto`` then train as ordinary runs into a hidden scratch folder inside the run
directory, compared by successive halving on their best val score. Every trial starts from the
same pretrained backbone — the one ``engine.prepare`` built, put back to its pretrained state
before each trial from a copy kept in memory, never rebuilt from disk — and from the run's seed.
Trials never see the test split, except the one that trains the run's exact config (the winner's
last trial, when the budget allows): that one evaluates test as the final run would, so that it
can become the final run without training it again; its test score is read by nobody here.

The table of what was tried and why the winner won is printed and stored in ``auto.json``.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transferkit.core import console
from transferkit.core.budget import Budget, epochs_for_minutes, parse_budget
from transferkit.core.config import RunConfig
from transferkit.engine.prepare import Prepared, seed_everything
from transferkit.report import write_report_safely
from transferkit.runs.record import RunRecord, RunResult
from transferkit.transfer import auto
from transferkit.transfer.halving import rung_schedule, successive_halving
from transferkit.transfer.probe import ProbeOutcome

TrainFn = Callable[[RunConfig, Path, Prepared], RunResult]
SCRATCH_PREFIX = ".auto-trials-"


@dataclass
class Trial:
    """One candidate trained for some epochs: its best val score and wall time."""

    candidate: auto.Candidate
    epochs: int
    score: float
    seconds: float
    result: RunResult | None  # kept when it trained the run's exact config (it may be the run)


class Trials:
    """Trains candidates on the prepared backbone and data, each from the pretrained state.

    ``evaluate(candidate, epochs)`` is memoised: asking twice trains once.
    """

    def __init__(self, cfg: RunConfig, prepared: Prepared, scratch: Path, train: TrainFn):
        self.cfg, self.prepared, self.scratch, self.train = cfg, prepared, scratch, train
        backbone = prepared.backbone
        self._initial = {k: v.detach().clone() for k, v in backbone.state_dict().items()}
        self._flags = [p.requires_grad for p in backbone.parameters()]
        self._mode = backbone.training
        self._val_only = dataclasses.replace(
            prepared, splits=dataclasses.replace(prepared.splits, test=None)
        )
        self.done: dict[tuple[str, int], Trial] = {}

    def restore(self) -> None:
        """The backbone back to its pretrained state (weights, BN statistics, trainable flags,
        mode) and every RNG to the run's seed: each trial starts as a fresh run would."""
        backbone = self.prepared.backbone
        backbone.load_state_dict(self._initial)
        for p, flag in zip(backbone.parameters(), self._flags):
            p.requires_grad_(flag)
        backbone.train(self._mode)
        seed_everything(self.cfg.train.seed)

    def evaluate(self, candidate: auto.Candidate, epochs: int) -> float:
        """Best val score of ``candidate`` trained for ``epochs`` (the halving's evaluate)."""
        key = (candidate.label, epochs)
        if key not in self.done:
            self.done[key] = self._run(candidate, epochs)
        return self.done[key].score

    def _run(self, candidate: auto.Candidate, epochs: int) -> Trial:
        exact = epochs == self.cfg.train.epochs  # trains the run's config: may become the run
        folder = self.scratch / f"{candidate.strategy}-{candidate.lr:g}-{epochs}ep"
        console.info(f"auto: trial {candidate.label} for {epochs} epoch(s)")
        self.restore()
        started = time.perf_counter()
        result = self.train(
            trial_config(self.cfg, candidate, epochs),
            folder,
            self.prepared if exact else self._val_only,
        )
        seconds = time.perf_counter() - started
        score = fine_tuned_score(result, self.prepared.task.monitor)  # val, never test
        if not exact:  # its checkpoints serve nobody: free the disk now
            shutil.rmtree(folder, ignore_errors=True)
        return Trial(candidate, epochs, score, seconds, result if exact else None)

    def epochs_trained(self) -> int:
        """Epochs trained by every trial so far (the budget's measure)."""
        return sum(t.epochs for t in self.done.values())


def trial_config(cfg: RunConfig, candidate: auto.Candidate, epochs: int) -> RunConfig:
    """``cfg`` with the candidate's strategy and learning rate, for ``epochs``."""
    return cfg.replace(
        transfer={"strategy": candidate.strategy}, train={"lr": candidate.lr, "epochs": epochs}
    )


def choose(
    cfg: RunConfig, out: Path, prepared: Prepared, probe: ProbeOutcome, train: TrainFn
) -> tuple[RunConfig, RunResult | None]:
    """Search, record ``auto.json`` in ``out``, and return the chosen config.

    The result is the final run when the winner's last trial trained the run's exact config: it
    is moved into ``out`` (and its report drawn again there) instead of being trained twice;
    None means the caller runs the chosen config (the probe, or fine-tuning).
    """
    out.mkdir(parents=True, exist_ok=True)
    record = RunRecord(out)
    with tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX, dir=out) as scratch:
        trials = Trials(cfg, prepared, Path(scratch), train)
        chosen, summary, trial = search(cfg, prepared, probe, trials)
        record.auto_choice(summary)
        if trial is not None:
            record.adopt(trial.result.run_dir)
    trials.restore()  # what follows starts from the pretrained backbone, as a fresh run would
    if trial is None:
        return chosen, None
    console.info(f"auto: the final run is the winner's trial of {cfg.train.epochs} epochs")
    _redraw_report(chosen, record, prepared)
    old = trial.result
    return chosen, RunResult(record.path, old.metrics, old.history, old.seconds)


def search(
    cfg: RunConfig, prepared: Prepared, probe: ProbeOutcome, trials: Trials
) -> tuple[RunConfig, dict[str, Any], Trial | None]:
    """The chosen config, the ``auto.json`` record, and the winner's reusable trial (or None)."""
    started = time.perf_counter()
    probe_score = probe.val_score()
    budget = parse_budget(cfg.transfer.budget, cfg.train.epochs)
    candidates, halving_budget, total = _plan(cfg, budget, trials, started)
    if halving_budget < total:
        console.info(
            f"auto: {halving_budget} of {total} budget epochs planned: no trial trains longer "
            f"than the run's {cfg.train.epochs} epochs"
        )
    result = successive_halving(
        candidates, trials.evaluate, halving_budget, auto.ETA, label=lambda c: c.label
    )
    winner, reason = auto.decide(probe_score, result)
    seconds = {key: t.seconds for key, t in trials.done.items()}
    seconds["probe", 0] = probe.feature_seconds + probe.fit_seconds
    rows = auto.table(probe_score, result, seconds)
    monitor = prepared.task.monitor
    console.info(f"auto: tried on the validation split ({trials.epochs_trained()} epochs):")
    for line in auto.render_table(rows, monitor):
        console.info(line)
    name = "probe" if winner is None else winner.label
    console.info(f"strategy auto -> {name}: {reason}")
    if winner is None:
        chosen, trial = cfg.replace(transfer={"strategy": "probe"}), None
    else:
        chosen = trial_config(cfg, winner, cfg.train.epochs)
        trial = trials.done.get((winner.label, cfg.train.epochs))
    summary = {
        "strategy": chosen.transfer.strategy,
        "lr": None if winner is None else winner.lr,
        "winner": name,
        "reason": reason,
        "monitor": monitor,
        "probe_score" if probe.multilabel else "probe_accuracy": probe_score,
        "images_per_class": auto.images_per_class(prepared.splits),
        "budget": _budget_record(cfg, budget, total, halving_budget, trials),
        "candidates": [c.label for c in candidates],
        "table": rows,
        "final_run": "trial reused" if trial is not None else "trained after the search",
    }
    return chosen, summary, trial


def _plan(
    cfg: RunConfig, budget: Budget, trials: Trials, started: float
) -> tuple[list[auto.Candidate], int, int]:
    """Candidates, the halving's budget and the budget in epochs (minutes converted).

    Minutes become epochs by timing one epoch of the costliest candidate (``full``), its setup
    included; that trial is reused by the halving's first rung when it asks for the same.
    """
    lr, epochs = cfg.train.lr, cfg.train.epochs
    if budget.epochs is not None:
        return (*auto.plan(lr, budget.epochs, epochs), budget.epochs)
    costliest = auto.candidate("full", lr)
    trials.evaluate(costliest, 1)
    per_epoch = trials.done[(costliest.label, 1)].seconds
    total = epochs_for_minutes(budget.amount, time.perf_counter() - started, per_epoch)
    console.info(
        f"auto: one epoch of {costliest.label} took {per_epoch:.1f}s: "
        f"{budget} buy {total} trial epochs"
    )
    if total == 1:  # only the timed epoch fits: it is the one trial
        return [costliest], 1, total
    candidates, halving_budget = auto.plan(lr, total, epochs)
    first = rung_schedule(len(candidates), halving_budget, auto.ETA)[0][1]
    if first != 1 or costliest not in candidates:  # the timed epoch is spent apart
        candidates, halving_budget = auto.plan(lr, total - 1, epochs)
    return candidates, halving_budget, total


def _budget_record(cfg, budget: Budget, total: int, halving: int, trials: Trials) -> dict:
    return {
        "given": cfg.transfer.budget,
        "unit": budget.unit,
        "amount": budget.amount,
        "epochs": total,
        "halving_epochs": halving,
        "trial_epochs": trials.epochs_trained(),
        "run_epochs": cfg.train.epochs,
    }


def _redraw_report(cfg: RunConfig, record: RunRecord, prepared: Prepared) -> None:
    """The report of the adopted trial, drawn again under the run's own name."""
    task, splits = prepared.task, prepared.splits
    model = task.build_model(prepared.backbone, len(splits.class_names), cfg.model)
    record.load_best(model)
    handle = record.handle(cfg, splits.class_names, prepared.backbone.data_config, model)
    write_report_safely(record.path, splits, warn=console.info, handle=handle)


def fine_tuned_score(result, monitor: str) -> float:
    """A trial's best val score over its trained epochs (epoch 0, the probe-initialised model, left
    out): with it, every trial would tie at the probe's score whenever fine-tuning does not help yet,
    and the halving could not tell the candidates apart. The probe itself is its own candidate."""
    scores = [
        float(row[monitor])
        for row in result.history
        if int(row.get("epoch") or 0) >= 1 and row.get(monitor) not in (None, "")
    ]
    return max(scores) if scores else float(result.metrics["val"][monitor])
