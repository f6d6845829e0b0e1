"""The training loop: our own short loop on Lightning Fabric.

Fabric brings devices, DDP and mixed precision; the loop stays ours and reads top to bottom:
build → plan → for each epoch (apply the plan, train, validate, checkpoint, early stop) → final
evaluation of the best checkpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from lightning.fabric import Fabric
from lightning.fabric.plugins.environments import SLURMEnvironment, TorchElasticEnvironment
from lightning.fabric.strategies import DDPStrategy
from torch.utils.data import DataLoader

from transferkit.core.config import RunConfig
from transferkit.runs import checkpoint as ckpt
from transferkit.engine.evaluation import run_evaluation
from transferkit.engine.optim import build_optimizer, warmup_cosine
from transferkit.engine.progress import RunLog
from transferkit.runs.rundir import RunDir
from transferkit.engine.tensorboard_log import EpochLog
from transferkit.core.errors import RunDirError
from transferkit.core.fileio import write_json
from transferkit.report import write_report_safely
from transferkit.tasks import get_task
from transferkit.transfer.plan import build_plan
from transferkit.transfer.strategy import parse_strategy
from transferkit.zoo import create_backbone


@dataclass
class RunResult:
    """What ``fit`` returns: where the run is and its final metrics."""

    run_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    seconds: float


def fit(cfg: RunConfig, out_dir: str | Path, resume: bool = False) -> RunResult:
    """Train ``cfg`` into ``out_dir``; with ``resume`` continue from its last checkpoint."""
    if cfg.transfer.strategy == "auto":  # may resolve to "probe", so it is settled first
        from transferkit.transfer.auto import resolve_auto

        cfg = resolve_auto(cfg, Path(out_dir))
    if cfg.transfer.strategy == "probe":
        from transferkit.transfer.probe import fit_probe

        result = fit_probe(cfg, Path(out_dir))
        write_report_safely(result.run_dir)
        return result
    t = cfg.train
    if t.devices > 1 or t.num_nodes > 1:
        # torchrun / SLURM start the processes themselves; otherwise spawn them here, which works
        # the same from the CLI, a script or a notebook. Unused parameters are expected: frozen
        # stages get no gradient, and which stages are frozen changes over a run.
        external = TorchElasticEnvironment.detect() or SLURMEnvironment.detect()
        ddp = DDPStrategy(
            start_method="popen" if external else "spawn", find_unused_parameters=True
        )
        fabric = Fabric(
            accelerator=t.accelerator,
            devices=t.devices,
            num_nodes=t.num_nodes,
            precision=t.precision,
            strategy=ddp,
        )
        # The launcher walks its arguments and refuses frozen dataclasses: pass the config as a dict.
        return fabric.launch(_fit_worker, cfg.to_dict(), str(out_dir), resume)
    fabric = Fabric(accelerator=t.accelerator, devices=1, precision=t.precision)
    return _fit_worker(fabric, cfg.to_dict(), str(out_dir), resume)


def _fit_worker(fabric: Fabric, cfg_dict: dict, out_dir: str, resume: bool) -> RunResult:
    started = time.perf_counter()
    cfg = RunConfig.from_dict(cfg_dict)
    t = cfg.train
    log = RunLog(enabled=fabric.is_global_zero, quiet=t.quiet)
    run = RunDir(Path(out_dir))
    fabric.seed_everything(t.seed, verbose=False)
    task = get_task(cfg.task)

    log.info(f"backbone {cfg.model.backbone} (weights: {cfg.model.weights})")
    # Detection's ``--weights coco`` file holds the backbone too: the task loads it.
    weights = "none" if cfg.model.weights == "coco" else cfg.model.weights
    backbone = create_backbone(cfg.model.backbone, weights=weights)
    splits = task.load_data(cfg, backbone.data_config)
    model = task.build_model(backbone, len(splits.class_names), cfg.model)
    strategy = parse_strategy(
        cfg.transfer.strategy,
        unfreeze_every=cfg.transfer.unfreeze_every,
        lr_decay=cfg.transfer.lr_decay,
        bn=cfg.transfer.bn,
    )
    plan = build_plan(model, strategy, t.epochs)
    log.info(_data_line(splits))
    log.info(plan.render(t.lr))

    if fabric.is_global_zero:
        cfg.save(run.config)
        run.write_classes(splits.class_names, backbone.data_config)
        write_json(run.plan, plan.to_dict())
        write_json(run.data_summary, {**splits.summary, "weights": backbone_weights_info(backbone)})

    train_loader = DataLoader(
        splits.train,
        batch_size=t.batch_size,
        shuffle=True,
        drop_last=False,
        num_workers=t.num_workers,
        collate_fn=task.collate,
    )
    val_loader = DataLoader(
        splits.val, batch_size=t.batch_size, num_workers=t.num_workers, collate_fn=task.collate
    )
    optimizer = build_optimizer(model, plan, t)
    total_steps = t.epochs * len(train_loader)
    warmup = min(int(t.warmup_epochs * len(train_loader)), max(0, total_steps - 1))
    scheduler = warmup_cosine(optimizer, max(1, warmup), total_steps)

    if fabric.world_size > 1:  # DDP registers only parameters that require grad when it wraps
        model.set_trainable([True] * len(plan.rows))
    wrapped, optimizer = fabric.setup(model, optimizer)
    train_loader = fabric.setup_dataloaders(train_loader)

    history: list[dict[str, Any]] = []
    best_score, stale, start_epoch = float("-inf"), 0, 0
    if resume:
        state = _load_resume(run, model, optimizer, scheduler)
        start_epoch, best_score, stale = state["epoch"] + 1, state["best_score"], state["stale"]
        history = [dict(r) for r in run.read_history()][:start_epoch]
        log.info(f"resuming from epoch {start_epoch + 1} of {t.epochs}")
    tb = EpochLog(run.path, enabled=fabric.is_global_zero, first_epoch=start_epoch + 1)

    for epoch in range(start_epoch, t.epochs):
        epoch_start = time.perf_counter()
        model.set_trainable(plan.trainable_flags(epoch), freeze_norms=strategy.bn == "frozen")
        # LR per group as the epoch started (after it, the last epoch's would read 0 by cosine).
        epoch_lrs = {f"lr_{g['name']}": g["lr"] for g in optimizer.param_groups}
        wrapped.train()
        train_loss = _train_epoch(
            fabric,
            task,
            wrapped,
            model,
            optimizer,
            scheduler,
            train_loader,
            log,
            f"epoch {epoch + 1}/{t.epochs}",
            t.grad_clip,
        )
        val = run_evaluation(fabric, task, model, val_loader, splits.class_names)
        score = float(val.get(task.monitor, float("nan")))
        improved = score > best_score
        if improved:
            best_score, stale = score, 0
        else:
            stale += 1
        row = {"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val.get("loss")}
        row.update({k: v for k, v in val.items() if isinstance(v, (int, float)) and k != "loss"})
        row.update(epoch_lrs)
        row["trainable_parameters"] = plan.trainable_parameters(epoch)
        row["seconds"] = round(time.perf_counter() - epoch_start, 3)
        history.append(row)
        log.info(
            f"epoch {epoch + 1}/{t.epochs}  train_loss {train_loss:.4f}  "
            f"val_loss {val.get('loss', float('nan')):.4f}  {task.monitor} {score:.4f}"
            f"{'  (best)' if improved else ''}  {row['seconds']:.1f}s"
        )
        stop = bool(t.patience) and stale >= t.patience  # patience 0 or None: never stop early
        if fabric.is_global_zero:
            meta = {
                "epoch": epoch + 1,
                task.monitor: score,
                "task": cfg.task,
                "backbone": cfg.model.backbone,
                "num_classes": len(splits.class_names),
            }
            run.write_history(history)
            if improved:
                ckpt.save_model(run.best, model, meta)
            ckpt.save_model(run.last, model, meta)
            # Written last and self-contained (it holds the model too): a kill at any point leaves
            # either the previous epoch's state or this one's, never a mix.
            ckpt.save_training_state(
                run.state,
                {
                    "epoch": epoch,
                    "best_score": best_score,
                    "stale": stale,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "rng": ckpt.rng_state(),
                },
            )
            tb.log(row)
        fabric.barrier()
        if stop:
            log.info(f"early stop: {task.monitor} did not improve for {t.patience} epoch(s)")
            break

    if fabric.world_size > 1:
        _check_replicas_agree(fabric, model)
    metrics = _final_metrics(fabric, task, model, run, splits, t)
    seconds = time.perf_counter() - started
    metrics["train_seconds"] = round(seconds, 3)
    if fabric.is_global_zero:
        write_json(run.metrics, metrics)
        tb.close()
        write_report_safely(run.path, splits, warn=log.info)
    return RunResult(run.path, metrics, history, seconds)


def _train_epoch(
    fabric, task, wrapped, model, optimizer, scheduler, loader, log, title, clip
) -> float:
    total, count = 0.0, 0
    frozen = [p for g in optimizer.param_groups for p in g["params"] if not p.requires_grad]
    with log.progress(title, len(loader)) as bar:
        tick = time.perf_counter()
        for batch in loader:
            loss = task.training_loss(wrapped, batch)
            optimizer.zero_grad(set_to_none=True)
            fabric.backward(loss)
            for p in frozen:  # DDP may hand frozen parameters a zero gradient: drop it
                p.grad = None
            if clip:
                fabric.clip_gradients(wrapped, optimizer, max_norm=clip, error_if_nonfinite=False)
            optimizer.step()
            scheduler.step()
            n = _batch_size(batch)
            total += loss.item() * n
            count += n
            now = time.perf_counter()
            bar.advance(loss.item(), n / max(now - tick, 1e-9))
            tick = now
    return total / max(count, 1)


def _final_metrics(fabric, task, model, run: RunDir, splits, t) -> dict[str, Any]:
    """Metrics of the best checkpoint on val (and test when there is one)."""
    if run.best.with_suffix(".safetensors").is_file():
        ckpt.load_model_weights(run.best, model)
    out: dict[str, Any] = {}
    loaders = {"val": splits.val, "test": splits.test}
    for split, dataset in loaders.items():
        if dataset is None or len(dataset) == 0:
            continue
        loader = DataLoader(dataset, batch_size=t.batch_size, collate_fn=task.collate)
        out[split] = run_evaluation(fabric, task, model, loader, splits.class_names)
    headline = out.get("test") or out.get("val") or {}
    for k, v in headline.items():  # flat top-level keys: the split that best measures the model
        if isinstance(v, (int, float)):
            out[k] = v
    out["evaluated_split"] = "test" if "test" in out else "val"
    return out


def _check_replicas_agree(fabric: Fabric, model) -> None:
    """Every DDP process must end with the same weights; a difference means gradients were not
    synchronised (e.g. for a stage unfrozen mid-run), and the saved model would be rank 0's alone."""
    with torch.no_grad():
        checksum = torch.stack([p.double().sum() for p in model.parameters()]).sum().reshape(1)
    sums = fabric.all_gather(checksum.to(fabric.device)).flatten()
    if not torch.allclose(sums, sums[0].expand_as(sums), rtol=0, atol=1e-6):
        raise RuntimeError(f"DDP replicas disagree after training: parameter sums {sums.tolist()}")


def _load_resume(run: RunDir, model, optimizer, scheduler) -> dict[str, Any]:
    if not run.state.is_file():
        raise RunDirError(
            f"{run.path} has no completed epoch to resume from (no {run.state.name})",
            hint="start it again with `transferkit train --config "
            f"{run.config}`, or pick another run",
        )
    state = ckpt.load_training_state(run.state)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    ckpt.set_rng_state(state["rng"])
    return state


def _batch_size(batch) -> int:
    first = batch[0] if isinstance(batch, (list, tuple)) else batch
    return len(first) if hasattr(first, "__len__") else 1


def _data_line(splits) -> str:
    sizes = ", ".join(
        f"{name} {len(ds)}"
        for name, ds in (("train", splits.train), ("val", splits.val), ("test", splits.test))
        if ds is not None
    )
    return f"data: {len(splits.class_names)} classes; images: {sizes}"


def backbone_weights_info(backbone) -> dict | None:
    """The weights record of a backbone (None for random init)."""
    return getattr(backbone, "weights_info", None)
