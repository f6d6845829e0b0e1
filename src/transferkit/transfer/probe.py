"""Linear probe: a frozen backbone, features from the cache, a logistic-regression head.

The probe costs one forward pass over the data the first time (the features go to the cache) and
almost nothing after. The head is a multinomial logistic regression fitted full-batch with L-BFGS
on standardised features; its L2 strength is chosen on the validation split from a small grid,
strongest first, each fit warm-started from the previous one. The fitted weights are folded back
into the classification model's linear head, so the run directory holds an ordinary checkpoint
(backbone + head) that ``evaluate``, ``predict`` and ``export`` accept like any other run.
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.core.fileio import write_json

L2_GRID = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
DEFAULT_L2 = 1e-4  # used when there is no validation split to choose on


@dataclass
class LinearFit:
    """A fitted multinomial logistic regression ``logits = x @ weight.T + bias``."""

    weight: torch.Tensor  # (K, D)
    bias: torch.Tensor  # (K,)
    l2: float
    iterations: int

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.T + self.bias


def fit_logistic(
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    l2: float,
    *,
    init: LinearFit | None = None,
    max_iter: int = 200,
) -> LinearFit:
    """Minimise ``mean CE(x W^T + b, y) + l2 / 2 * ||W||^2`` with full-batch L-BFGS.

    The bias is not penalised. ``init`` warm-starts from a previous fit (the grid search goes from
    strong to weak regularisation, where each optimum is close to the last).
    """
    k, d = num_classes, x.shape[1]
    w = init.weight.clone() if init else torch.zeros(k, d, dtype=x.dtype, device=x.device)
    b = init.bias.clone() if init else torch.zeros(k, dtype=x.dtype, device=x.device)
    w.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.LBFGS(
        [w, b],
        lr=1.0,
        max_iter=max_iter,
        history_size=20,
        tolerance_grad=1e-6,
        tolerance_change=1e-10,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x @ w.T + b, y) + l2 / 2 * (w * w).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    iterations = opt.state_dict()["state"].get(0, {}).get("n_iter", 0)
    return LinearFit(w.detach(), b.detach(), l2, int(iterations))


def select_l2(
    train_x, train_y, val_x, val_y, num_classes: int, grid: tuple[float, ...] = L2_GRID
) -> tuple[LinearFit, list[dict[str, Any]]]:
    """Fit every L2 strength of ``grid``; keep the best validation accuracy (ties: lower loss)."""
    rows, best, best_key, prev = [], None, None, None
    for l2 in grid:
        start = time.perf_counter()
        fit = fit_logistic(train_x, train_y, num_classes, l2, init=prev)
        with torch.no_grad():
            val_logits = fit.logits(val_x)
            acc = float((val_logits.argmax(1) == val_y).float().mean())
            val_loss = float(F.cross_entropy(val_logits, val_y))
            train_loss = float(F.cross_entropy(fit.logits(train_x), train_y))
        rows.append(
            {
                "l2": l2,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_accuracy": acc,
                "iterations": fit.iterations,
                "seconds": round(time.perf_counter() - start, 3),
            }
        )
        key = (acc, -val_loss)
        if best_key is None or key > best_key:
            best, best_key = fit, key
        prev = fit
    return best, rows


def fold_standardisation(fit: LinearFit, mean: torch.Tensor, std: torch.Tensor) -> LinearFit:
    """The same classifier on raw features: ``((x - mean) / std) W^T + b = x W'^T + b'``."""
    weight = fit.weight / std
    return LinearFit(weight, fit.bias - weight @ mean, fit.l2, fit.iterations)


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

    def val_accuracy(self) -> float | None:
        """Accuracy of the probe on the validation split (None without one)."""
        if "val" not in self.features:
            return None
        pred = self.fit.logits(self.features["val"]).argmax(1)
        return float((pred == self.labels["val"]).float().mean())


def probe_splits(backbone, splits, cfg: RunConfig, cache) -> ProbeOutcome:
    """Features of every split from ``cache`` and a logistic head with L2 chosen on val."""
    from transferkit.data.transforms import eval_transform

    parts = {
        s: d
        for s, d in (("train", splits.train), ("val", splits.val), ("test", splits.test))
        if d is not None and len(d)
    }
    paths = [p for d in parts.values() for p, _ in d.samples]
    device = _device(cfg.train.accelerator)
    got = cache.features(
        backbone,
        paths,
        eval_transform(backbone.data_config, cfg.data.img_size),
        batch_size=cfg.train.batch_size,
        num_workers=cfg.train.num_workers,
        device=device,
        progress=not cfg.train.quiet,
    )
    feats, labels, offset = {}, {}, 0
    for split, d in parts.items():
        feats[split] = got.features[offset : offset + len(d)].to(device)
        labels[split] = torch.tensor([lab for _, lab in d.samples], device=device)
        offset += len(d)
    start = time.perf_counter()
    num_classes = len(splits.class_names)
    with _threads_for(feats["train"].numel() * num_classes, device):
        mean = feats["train"].mean(0)
        std = feats["train"].std(0).clamp_min(1e-6)  # constant features: zero weight
        z = {s: (f - mean) / std for s, f in feats.items()}
        if "val" in z:
            fit, history = select_l2(
                z["train"], labels["train"], z["val"], labels["val"], num_classes
            )
        else:
            fit = fit_logistic(z["train"], labels["train"], num_classes, DEFAULT_L2)
            history = [{"l2": DEFAULT_L2, "iterations": fit.iterations}]
    return ProbeOutcome(
        fold_standardisation(fit, mean, std),
        history,
        feats,
        labels,
        len(paths),
        got.extracted,
        got.seconds,
        time.perf_counter() - start,
        got.entry,
    )


def check_probe_config(cfg: RunConfig) -> None:
    """Raise ConfigError unless ``cfg`` is a classification run with a linear head."""
    if cfg.task != "classify":
        raise ConfigError(
            f"strategy 'probe' is for classification, not task {cfg.task!r}",
            hint="use --strategy head, gradual or full for detection and segmentation",
        )
    if cfg.model.head != "linear":
        raise ConfigError(
            f"strategy 'probe' fits a linear head, got --head {cfg.model.head}",
            hint="use --head linear (the default) with --strategy probe",
        )


def fit_probe(cfg: RunConfig, out_dir: Path, *, cache_dir: str | Path | None = None):
    """Train ``cfg`` as a linear probe into ``out_dir``; returns an ``engine.loop.RunResult``."""
    from transferkit.runs import checkpoint as ckpt
    from transferkit.engine.loop import RunResult
    from transferkit.engine.progress import RunLog
    from transferkit.runs.rundir import RunDir
    from transferkit.tasks import get_task
    from transferkit.transfer.features import FeatureCache
    from transferkit.zoo import create_backbone

    started = time.perf_counter()
    check_probe_config(cfg)
    cache = FeatureCache(cache_dir)  # checks the cache folder first: fail before any work
    log = RunLog(quiet=cfg.train.quiet)
    run = RunDir(out_dir)
    task = get_task(cfg.task)
    torch.manual_seed(cfg.train.seed)

    log.info(f"backbone {cfg.model.backbone} (weights: {cfg.model.weights})")
    backbone = create_backbone(cfg.model.backbone, weights=cfg.model.weights)
    splits = task.load_data(cfg, backbone.data_config)
    names = splits.class_names
    model = task.build_model(backbone, len(names), cfg.model)
    layer = linear_head(model)
    out = probe_splits(backbone, splits, cfg, cache)
    source = "from the cache" if out.extracted == 0 else f"extracted {out.extracted} images"
    log.info(f"probe: {out.feature_rows} feature rows {source} in {out.feature_seconds:.1f}s")
    if "val" not in out.features:
        log.info(f"probe: no validation split, L2 fixed at {DEFAULT_L2:g}")
    with torch.no_grad():
        layer.weight.copy_(out.fit.weight.to(layer.weight))
        layer.bias.copy_(out.fit.bias.to(layer.bias))
    log.info(
        f"probe: L2 {out.fit.l2:g} ({out.fit.iterations} L-BFGS iterations, "
        f"{out.fit_seconds:.2f}s for {len(out.history)} fits)"
    )

    metrics: dict[str, Any] = {}
    for split in ("val", "test"):
        if split in out.features:
            logits = out.fit.logits(out.features[split])
            metrics[split] = _split_metrics(task, names, logits, out.labels[split])
    headline = metrics.get("test") or metrics.get("val") or {}
    metrics.update({k: v for k, v in headline.items() if isinstance(v, (int, float))})
    metrics["evaluated_split"] = "test" if "test" in metrics else "val"
    trainable = layer.weight.numel() + layer.bias.numel()
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
    cfg = cfg.replace(transfer={"strategy": "probe"})
    cfg.save(run.config)
    run.write_classes(names, backbone.data_config)
    plan = {
        "strategy": "probe",
        "frozen": "backbone",
        "head": "linear",
        "trainable_parameters": trainable,
    }
    write_json(run.plan, plan)
    weights = getattr(backbone, "weights_info", None)
    write_json(run.data_summary, {**splits.summary, "weights": weights})
    run.write_history(out.history)
    meta = {
        "epoch": 1,
        task.monitor: metrics.get(task.monitor),
        "task": cfg.task,
        "backbone": cfg.model.backbone,
        "num_classes": len(names),
        "strategy": "probe",
    }
    model.cpu()
    ckpt.save_model(run.best, model, meta)
    _same_as_best(run)
    seconds = time.perf_counter() - started
    metrics["train_seconds"] = round(seconds, 3)
    write_json(run.metrics, metrics)
    return RunResult(run.path, metrics, out.history, seconds)


def _same_as_best(run) -> None:
    """The probe's last checkpoint is its best: link the files instead of writing them twice."""
    for suffix in (".safetensors", ".json"):
        best, last = run.best.with_suffix(suffix), run.last.with_suffix(suffix)
        last.unlink(missing_ok=True)
        try:
            os.link(best, last)
        except OSError:  # file systems without hard links
            shutil.copyfile(best, last)


def _split_metrics(task, names, logits: torch.Tensor, target: torch.Tensor) -> dict[str, Any]:
    metrics = task.make_metrics(names)
    metrics.update(logits.cpu(), (None, target.cpu()))
    return {"loss": float(F.cross_entropy(logits, target)), **metrics.compute()}


@contextmanager
def _threads_for(work: int, device: torch.device):
    """One CPU thread for small fits: L-BFGS runs many tiny ops, and on a busy machine the
    threads of each op wait on each other far longer than the op takes (measured: 0.13 s with
    one thread against 1-6 s with two on a loaded 2-core machine, for 200 x 1280 features)."""
    before = torch.get_num_threads()
    small = device.type == "cpu" and work < 50_000_000
    if small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if small:
            torch.set_num_threads(before)


def _device(accelerator: str) -> torch.device:
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")
