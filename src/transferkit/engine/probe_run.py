"""The linear probe as a run: fit on cached features, fold into the head, record, report.

The maths lives in ``transfer.probe`` / ``transfer.linear``; this module turns one fit into an
ordinary run directory (through ``runs.record``), so ``evaluate``, ``predict`` and ``export``
accept a probe run like any other.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.engine.evaluation import with_headline
from transferkit.engine.prepare import Prepared
from transferkit.report import write_report_safely
from transferkit.runs.record import RunRecord, RunResult
from transferkit.transfer.features import FeatureCache
from transferkit.transfer.linear import DEFAULT_L2
from transferkit.transfer.probe import (
    ProbeOutcome,
    check_probe_config,
    linear_head,
    probe_splits,
    split_metrics,
)


def fit_probe(
    cfg: RunConfig,
    out_dir: Path,
    prepared: Prepared,
    *,
    cache: FeatureCache | None = None,
    outcome: ProbeOutcome | None = None,
) -> RunResult:
    """Record ``cfg`` as a linear probe in ``out_dir``, on ``prepared`` backbone and data.

    ``outcome`` is a probe already fitted on the same features (``--strategy auto`` measured
    one to decide): it is used as it is instead of being fitted again.
    """
    started = time.perf_counter()
    check_probe_config(cfg)
    task, backbone, splits = prepared.task, prepared.backbone, prepared.splits
    names = splits.class_names
    if cfg.train.class_weights != "none":
        console.warn("class weights: the probe is fitted unweighted (they weigh fine-tuning only)")
    model = task.build_model(backbone, len(names), cfg.model)
    layer = linear_head(model)
    out = outcome or probe_splits(backbone, splits, cfg, cache or FeatureCache())
    source = "from the cache" if out.extracted == 0 else f"extracted {out.extracted} images"
    console.info(f"probe: {out.feature_rows} feature rows {source} in {out.feature_seconds:.1f}s")
    if "val" not in out.features:
        console.info(f"probe: no validation split, L2 fixed at {DEFAULT_L2:g}")
    with torch.no_grad():
        layer.weight.copy_(out.fit.weight.to(layer.weight))
        layer.bias.copy_(out.fit.bias.to(layer.bias))
    console.info(
        f"probe: L2 {out.fit.l2:g} ({out.fit.iterations} L-BFGS iterations, "
        f"{out.fit_seconds:.2f}s for {len(out.history)} fits)"
    )
    trainable = layer.weight.numel() + layer.bias.numel()
    logits = {s: out.fit.logits(out.features[s]) for s in ("val", "test") if s in out.features}
    metrics = _metrics(task, names, out, logits, trainable, model)
    cfg = cfg.replace(transfer={"strategy": "probe"})
    record = RunRecord(out_dir)
    plan = {"strategy": "probe", "frozen": "backbone", "head": "linear"}
    record.begin(cfg, splits, backbone, {**plan, "trainable_parameters": trainable})
    meta = {
        "epoch": 1,
        task.monitor: metrics.get(task.monitor),
        "task": cfg.task,
        "backbone": cfg.model.backbone,
        "num_classes": len(names),
        "strategy": "probe",
    }
    model.cpu()
    record.probe_checkpoint(out.history, model, meta)
    rows_of = getattr(task, "prediction_rows", None)  # tasks that keep per-image predictions
    for split, split_logits in logits.items() if rows_of else ():  # report, evaluate, compare
        rows = rows_of(split_logits, (None, out.labels[split]), names)
        record.predictions(split, getattr(splits, split), rows)
    seconds = time.perf_counter() - started
    metrics["train_seconds"] = round(seconds, 3)
    record.finish(metrics)
    handle = record.handle(cfg, names, backbone.data_config, model)
    write_report_safely(record.path, splits, warn=console.info, handle=handle)
    return RunResult(record.path, metrics, out.history, seconds)


def _metrics(task, names, out: ProbeOutcome, logits, trainable: int, model) -> dict[str, Any]:
    """Val (and test) metrics of the probe's ``logits``, the headline split flat, the fit's record.

    Val comes first: a decision fitted there (multi-label thresholds) goes into ``model`` and is
    what test is judged by.
    """
    metrics: dict[str, Any] = {}
    for split, split_logits in logits.items():
        target = out.labels[split]
        metrics[split] = split_metrics(
            task, names, split_logits, target, model, split == "val", intervals=True
        )
    metrics = with_headline(metrics)
    metrics["probe"] = {
        "l2": out.fit.l2,
        "iterations": out.fit.iterations,
        "feature_rows": out.feature_rows,
        "extracted": out.extracted,
        "feature_seconds": round(out.feature_seconds, 3),
        "fit_seconds": round(out.fit_seconds, 3),
        "cache_entry": str(out.cache_entry),
        "trainable_parameters": trainable,
    }
    return metrics
