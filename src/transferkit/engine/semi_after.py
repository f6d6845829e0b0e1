"""AdaBN after fine-tuning: the fine-tuned model's BatchNorm statistics re-estimated on the
unlabelled images, its best checkpoint and metrics rewritten.

Fine-tuning moves the weights that BatchNorm normalises, so statistics estimated before it no
longer match; one more pass over the unlabelled images (no labels, no gradient) brings them back.
"""

from __future__ import annotations

from typing import Any

from torch.utils.data import DataLoader

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.data.transforms.classify import eval_transform
from transferkit.engine.evaluation import run_evaluation
from transferkit.engine.prepare import Prepared
from transferkit.report import write_report_safely
from transferkit.runs.record import RunRecord, RunResult
from transferkit.transfer.adabn import adapt_batchnorm
from transferkit.transfer.probe import probe_device


def adapt_after(
    cfg: RunConfig, prepared: Prepared, result: RunResult, files: list[str]
) -> RunResult:
    """Re-estimate the BatchNorm statistics of ``result``'s best model on ``files``; returns the
    result with the metrics of the adapted model (val, and test when there is one)."""
    task, splits, backbone = prepared.task, prepared.splits, prepared.backbone
    names = splits.class_names
    model = task.build_model(backbone, len(names), cfg.model)
    record = RunRecord(result.run_dir)
    record.load_best(model)
    transform = eval_transform(backbone.data_config, cfg.data.img_size)
    seen = adapt_batchnorm(model.backbone, files, transform,
                           batch_size=max(cfg.train.batch_size, 2),
                           device=probe_device(cfg.train.accelerator))  # fmt: skip
    record.replace_best(model, adabn="re-estimated after fine-tuning")
    metrics: dict[str, Any] = dict(result.metrics)
    for split, dataset in (("val", splits.val), ("test", splits.test)):
        if dataset is not None and len(dataset):
            loader = DataLoader(dataset, batch_size=cfg.train.batch_size, collate_fn=task.collate)
            metrics[split] = run_evaluation(None, task, model, loader, names)
    headline = metrics.get("test") or metrics.get("val") or {}
    metrics.update({k: v for k, v in headline.items() if isinstance(v, (int, float))})
    metrics["adabn_after_fine_tuning"] = {
        "images": seen,
        "before": {s: result.metrics[s][task.monitor] for s in ("val", "test") if s in metrics},
    }
    record.finish(metrics)
    console.info(
        f"adapt bn: statistics re-estimated after fine-tuning on {seen} images; val "
        f"{task.monitor} {result.metrics['val'][task.monitor]:.4f} -> "
        f"{metrics['val'][task.monitor]:.4f}"
    )
    handle = record.handle(cfg, names, backbone.data_config, model)
    write_report_safely(record.path, splits, warn=console.info, handle=handle)
    return RunResult(result.run_dir, metrics, result.history, result.seconds)
