"""Where a fine-tuning run starts: its head (the linear probe or random) and its augmentation.

Before the first epoch of ``head``, ``partial:N``, ``gradual`` or ``full``, :func:`begin` fits the
linear probe on cached features (LP-FT; one forward pass, none when the cache holds them) when
the head starts from it, and, with ``--augment auto``, checks each training augmentation against
the probe (:mod:`transferkit.engine.augment_run`). It returns the run's config with both choices
resolved (what ``config.yaml`` records) and a :class:`Start` the loop applies: the probe's weights
go into the head, and :func:`epoch_zero` evaluates that model on val as "epoch 0", a candidate for
the best checkpoint, so a run's best val score is never below the probe's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.core.recipe import POOLED_TASKS
from transferkit.engine.augment_run import record_augment, resolve_augment, wants_check
from transferkit.engine.evaluation import run_evaluation
from transferkit.runs.carry import carried_head, read_source_run
from transferkit.transfer.lpft import describe_init, load_into_head, resolve_init
from transferkit.transfer.probe import ProbeOutcome, linear_head, probe_splits


@dataclass
class Start:
    """How the loop's model starts: ``init`` "probe" (with the probe's head), "run" (with a
    finished run's rows, ``--init-from``) or "random".

    ``weight`` (K, D) and ``bias`` (K,) are the probe's head on raw pooled features, on the CPU
    (they cross to DDP processes as launch arguments); ``label`` is the plan's "head init" text.
    """

    init: str
    label: str
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    probe_accuracy: float | None = None

    @property
    def from_probe(self) -> bool:
        """Whether the head starts from given weights, the probe's or a run's (and the run has
        an epoch 0)."""
        return self.weight is not None

    def load(self, model) -> None:
        """Copy the probe's head into ``model``'s linear head (nothing for a random start)."""
        if self.from_probe:
            load_into_head(linear_head(model), self.weight, self.bias)


def random_start() -> Start:
    """The start of a loop given no :class:`Start`: a random head, no epoch 0."""
    return Start("random", "random")


def resumed_start(cfg: RunConfig) -> Start:
    """A resumed run's start: the label of its recorded choice, no refit (the state holds it)."""
    mode, reason = resolve_init(cfg)
    return Start(mode, describe_init(mode, reason))


def needs_probe(cfg: RunConfig) -> bool:
    """Whether :func:`begin` fits the probe for ``cfg``: the head starts from it, or the
    augmentation check scores it (fitted anyway then: once the features are cached it is cheap)."""
    return resolve_init(cfg)[0] == "probe" or wants_check(cfg)


def begin(
    cfg: RunConfig, out: str | Path, prepared, cache, outcome: ProbeOutcome | None = None
) -> tuple[RunConfig, Start]:
    """Resolve ``cfg``'s head init and augmentation on ``prepared`` backbone and data.

    The augmentation decision is recorded in ``out`` (``augment.json``). ``outcome`` is a probe already fitted on the same features (``--strategy auto`` measured one
    to decide); it is reused instead of fitted again. The training split's transform is set to the
    resolved augmentation. Returns the resolved config and the :class:`Start` for the loop.
    """
    mode, reason = resolve_init(cfg)
    label = describe_init(mode, reason)
    if cfg.task not in POOLED_TASKS:
        return cfg.replace(transfer={"init": mode}), Start(mode, label)
    # The check's random augmentations draw from the RNG only when the cache lacks their features:
    # restore it, so that the same seed trains the same run whether the cache was warm or cold.
    with torch.random.fork_rng(devices=[]):
        if outcome is None and needs_probe(cfg):
            outcome = probe_splits(prepared.backbone, prepared.splits, cfg, cache)
        values, check = resolve_augment(cfg, prepared, cache, outcome)
    cfg = cfg.replace(transfer={"init": mode}, data=values)
    record_augment(cfg, out, check)
    if mode == "run":
        handle = read_source_run(cfg.model.init_from, "--init-from")
        rows = carried_head(handle, prepared.splits.class_names)
        label = f"run {cfg.model.init_from}: {rows.describe()}"
        console.info(f"head init: {label}")
        return cfg, Start(mode, label, rows.weight, rows.bias)
    if mode != "probe":
        console.info(f"head init: {label}")
        return cfg, Start(mode, label)
    accuracy = outcome.val_score()
    said = "no val split" if accuracy is None else f"val {outcome.score_name} {accuracy:.4f}"
    source = "all from the cache" if outcome.extracted == 0 else f"{outcome.extracted} extracted"
    console.info(
        f"head init: probe, L2 {outcome.fit.l2:g} ({said}; {outcome.feature_rows} feature rows, "
        f"{source})"
    )
    weight, bias = (t.detach().float().cpu() for t in (outcome.fit.weight, outcome.fit.bias))
    return cfg, Start(mode, label, weight, bias, accuracy)


def epoch_zero(s, init: str = "probe") -> dict[str, Any]:
    """Evaluate the model of session ``s`` (``engine.loop``) on val as epoch 0, before any
    training: its head from the probe (``init`` "probe") or from a run ("run").

    Records a history row (no train loss: nothing trained), the best and last checkpoints (it is
    a candidate for the best), and no resume state: a run resumes from epoch 1 at the earliest,
    and a resumed run never refits the probe. Returns the row.
    """
    started = time.perf_counter()
    task, names = s.task, s.splits.class_names
    val = run_evaluation(s.fabric, task, s.model, s.val_loader, names, decide=True)
    score = float(val.get(task.monitor, float("nan")))
    if score > s.best_score:
        s.best_score = score
    head = linear_head(s.model)
    row: dict[str, Any] = {"epoch": 0, "train_loss": None, "val_loss": val.get("loss")}
    row.update({k: v for k, v in val.items() if isinstance(v, (int, float)) and k != "loss"})
    row.update({f"lr_{g['name']}": g["lr"] for g in s.optimizer.param_groups})
    row["trainable_parameters"] = sum(p.numel() for p in head.parameters())
    row["seconds"] = round(time.perf_counter() - started, 3)
    s.history.append(row)
    s.log.info(
        f"epoch 0 ({init} head)  val_loss {val.get('loss', float('nan')):.4f}  "
        f"{task.monitor} {score:.4f}"
    )
    if s.fabric.is_global_zero:
        meta = {
            "epoch": 0,
            task.monitor: score,
            "task": s.cfg.task,
            "backbone": s.cfg.model.backbone,
            "num_classes": len(names),
            "init": init,
        }
        s.record.epoch(s.history, s.model, meta, True, None)
    return row
