"""Linear probe on cached features: a frozen backbone and a logistic-regression head.

The probe costs one forward pass over the data the first time (the features go to the cache) and
almost nothing after. The head is fitted by :mod:`transferkit.transfer.linear` (L2 chosen on the
validation split) and folded back into the classification model's linear head, so a probe run
holds an ordinary checkpoint. Writing that run is the engine's job (``engine.probe_run``); this
module only measures and fits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.core.recipe import POOLED_TASKS
from transferkit.core.stats import summary_of
from transferkit.data.loading import resolve_workers
from transferkit.data.transforms.classify import eval_transform
from transferkit.transfer.linear import (
    DEFAULT_L2,
    LinearFit,
    fit_logistic,
    fold_standardisation,
    select_l2,
    threads_for,
    val_score,
)


def linear_head(model: nn.Module) -> nn.Linear:
    """The last ``nn.Linear`` of a classification model's head (where the probe goes)."""
    head = model.net.get_submodule("head")
    layers = [m for m in head.modules() if isinstance(m, nn.Linear)]
    if len(layers) != 1:
        raise ConfigError(
            f"the probe fits one linear layer, but this head has {len(layers)} linear layers",
            hint="use --head linear with --strategy probe",
        )
    return layers[0]


@dataclass
class ProbeOutcome:
    """A probe fitted on a data set's cached features (see :func:`probe_splits`)."""

    fit: LinearFit  # on raw (unstandardised) features
    history: list[dict[str, Any]]  # one row per L2 value tried
    features: dict[str, torch.Tensor]  # split -> (N, D)
    labels: dict[str, torch.Tensor]  # split -> (N,)
    feature_rows: int
    extracted: int  # images that went through the backbone (0: all from the cache)
    feature_seconds: float
    fit_seconds: float
    cache_entry: Path

    @property
    def multilabel(self) -> bool:
        """Whether the probe was fitted on multi-label (N, K) 0/1 targets."""
        return self.labels["train"].dim() == 2

    @property
    def score_name(self) -> str:
        """What :meth:`val_score` measures: the task's monitored metric."""
        return "macro mAP" if self.multilabel else "accuracy"

    def val_accuracy(self) -> float | None:
        """Accuracy of the probe on the validation split (None without one)."""
        if "val" not in self.features:
            return None
        pred = self.fit.logits(self.features["val"]).argmax(1)
        return float((pred == self.labels["val"]).float().mean())

    def val_score(self) -> float | None:
        """The probe's val score on the task's monitored metric: accuracy (single-label) or macro
        mAP (multi-label); None without a val split."""
        if "val" not in self.features:
            return None
        return val_score(self.fit.logits(self.features["val"]), self.labels["val"])


def probe_splits(backbone, splits, cfg: RunConfig, cache) -> ProbeOutcome:
    """Features of every split from ``cache`` and a logistic head with L2 chosen on val."""
    parts = {
        s: d
        for s, d in (("train", splits.train), ("val", splits.val), ("test", splits.test))
        if d is not None and len(d)
    }
    paths = [p for d in parts.values() for p, _ in d.samples]
    device = probe_device(cfg.train.accelerator)
    got = cache.features(
        backbone,
        paths,
        eval_transform(backbone.data_config, cfg.data.img_size),
        batch_size=cfg.train.batch_size,
        num_workers=resolve_workers(cfg.train.num_workers),
        device=device,
        progress=not cfg.train.quiet,
    )
    feats, labels, offset = {}, {}, 0
    for split, d in parts.items():
        feats[split] = got.features[offset : offset + len(d)].to(device)
        # Class indices (N,), or 0/1 rows (N, K) for multi-label data.
        labels[split] = torch.tensor([lab for _, lab in d.samples], device=device)
        offset += len(d)
    start = time.perf_counter()
    fit, history = fit_standardised(feats, labels, len(splits.class_names), device)
    return ProbeOutcome(
        fit,
        history,
        feats,
        labels,
        len(paths),
        got.extracted,
        got.seconds,
        time.perf_counter() - start,
        got.entry,
    )


def fit_standardised(feats, labels, num_classes: int, device) -> tuple[LinearFit, list[dict]]:
    """Fit on standardised features (L2 chosen on val when there is one), folded back to raw."""
    with threads_for(feats["train"].numel() * num_classes, device):
        mean = feats["train"].mean(0)
        std = feature_scale(feats["train"])
        z = {s: (f - mean) / std for s, f in feats.items()}
        if "val" in z:
            fit, history = select_l2(
                z["train"], labels["train"], z["val"], labels["val"], num_classes
            )
        else:
            fit = fit_logistic(z["train"], labels["train"], num_classes, DEFAULT_L2)
            history = [{"l2": DEFAULT_L2, "iterations": fit.iterations}]
    return fold_standardisation(fit, mean, std), history


def feature_scale(train: torch.Tensor) -> torch.Tensor:
    """Per-feature standard deviation on train, floored at 1% of the median feature's.

    A feature nearly constant on train (after ReLU6 many are) would otherwise be divided by a tiny
    number: its small train variation is stretched to unit scale and any shift on val or test
    becomes a huge input to the probe. Exactly constant features still get zero weight.
    """
    std = train.std(0)
    return std.clamp_min(max(0.01 * float(std.median()), 1e-6))


def check_probe_config(cfg: RunConfig) -> None:
    """Raise ConfigError unless ``cfg`` is a classification run with a linear head."""
    if cfg.task not in POOLED_TASKS:
        raise ConfigError(
            f"strategy 'probe' is for classification, not task {cfg.task!r}",
            hint="use --strategy head, gradual or full for detection and segmentation",
        )
    if cfg.model.head not in (None, "linear"):  # None: the task's default, linear
        raise ConfigError(
            f"strategy 'probe' fits a linear head, got --head {cfg.model.head}",
            hint="use --head linear (the default) with --strategy probe",
        )


def split_metrics(
    task,
    names,
    logits: torch.Tensor,
    target: torch.Tensor,
    model=None,
    decide: bool = False,
    intervals: bool = False,
) -> dict[str, Any]:
    """The task's metrics (and the loss) of probe ``logits`` against ``target``: cross-entropy,
    or mean binary cross-entropy for multi-label targets, as the task's validation loss.

    With ``model``, a task's decision fitted on val (multi-label thresholds) is judged as
    ``model`` stores it, or, with ``decide``, fitted on these logits and stored in ``model``.
    With ``intervals``, their bootstrap intervals and per-image outcomes too (final numbers).
    """
    metrics_for = getattr(task, "metrics_for", None)
    use_model = metrics_for is not None and model is not None
    metrics = metrics_for(model, names) if use_model else task.make_metrics(names)
    metrics.update(logits.cpu(), (None, target.cpu()))
    if target.dim() == 2:
        loss = F.binary_cross_entropy_with_logits(logits, target.to(logits))
    else:
        loss = F.cross_entropy(logits, target)
    out = {"loss": float(loss), **metrics.compute()}
    settle = getattr(task, "settle_decision", None)
    # As in engine.evaluation: a decision (multi-label thresholds) is fitted on val only.
    if settle and model is not None:
        out = settle(model, out, decide)
    return {**out, **summary_of(metrics)} if intervals else out


def probe_device(accelerator: str) -> torch.device:
    """Where the probe's features and fit live: CUDA when asked for (or auto) and present."""
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")
