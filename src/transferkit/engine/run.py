"""One run, start to end: check, prepare once, decide (``--strategy auto``), then probe or loop.

The backbone is built and the data set read once (:func:`~transferkit.engine.prepare.prepare`);
the decision of ``--strategy auto`` measures on them and the run that follows trains on them.
Options that cannot work for the task are refused here, before any of that work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.engine import loop
from transferkit.engine.prepare import Prepared, prepare
from transferkit.engine.probe_run import fit_probe
from transferkit.runs.record import RunRecord, RunResult
from transferkit.transfer import auto
from transferkit.transfer.features import FeatureCache
from transferkit.transfer.probe import ProbeOutcome, check_probe_config, probe_splits


def run(
    cfg: RunConfig,
    out: str | Path,
    resume: bool = False,
    *,
    cache_dir: str | Path | None = None,
) -> RunResult:
    """Train ``cfg`` into ``out`` (or continue it with ``resume``); returns the run's result.

    A probe has no epochs to resume: ``resume`` on a probe run fits it again.
    """
    out = Path(out)
    strategy = cfg.transfer.strategy
    if strategy not in ("auto", "probe"):  # a resumed run's config holds what auto chose
        distributed = cfg.train.devices > 1 or cfg.train.num_nodes > 1
        # DDP processes prepare their own backbone and data: preparing here would be wasted.
        return loop.fit(cfg, out, resume, None if distributed else prepare(cfg))
    if strategy == "auto":
        auto.check_auto_config(cfg)
    else:
        check_probe_config(cfg)
    cache = FeatureCache(cache_dir)  # checks the cache folder first: fail before any work
    prepared = prepare(cfg)
    outcome = None
    if strategy == "auto":
        cfg, outcome = _decide(cfg, out, prepared, cache)
    if cfg.transfer.strategy == "probe":
        return fit_probe(cfg, out, prepared, cache=cache, outcome=outcome)
    return loop.fit(cfg, out, False, prepared)


def measure(cfg: RunConfig, prepared: Prepared, cache: FeatureCache):
    """Images per class and, when it can change the answer, a probe's val accuracy.

    Returns the measurements and the probe (None when it was not needed).
    """
    splits = prepared.splits
    per_class = auto.images_per_class(splits)
    record: dict[str, Any] = {"images_per_class": per_class, "probe_accuracy": None}
    outcome = None
    if auto.wants_probe(per_class):
        outcome = probe_splits(prepared.backbone, splits, cfg, cache)
        record.update(
            probe_accuracy=outcome.val_accuracy(),
            probe_l2=outcome.fit.l2,
            probe_extracted=outcome.extracted,
        )
    return record, outcome


def _decide(
    cfg: RunConfig, out: Path, prepared: Prepared, cache: FeatureCache
) -> tuple[RunConfig, ProbeOutcome | None]:
    """Replace ``auto`` by the chosen strategy; print the reason and record it in ``auto.json``.

    The choice reaches the run's ``config.yaml`` through the returned config.
    """
    record, outcome = measure(cfg, prepared, cache)
    num_classes = len(prepared.splits.class_names)
    strategy, reason = auto.decide(
        record["images_per_class"], num_classes, record["probe_accuracy"]
    )
    console.info(f"strategy auto -> {strategy}: {reason}")
    record.update(strategy=strategy, reason=reason, thresholds=dict(auto.THRESHOLDS))
    RunRecord(out).auto_choice(record)
    return cfg.replace(transfer={"strategy": strategy}), outcome
