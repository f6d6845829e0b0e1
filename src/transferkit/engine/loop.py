"""The training loop: our own short loop on Lightning Fabric.

Fabric brings devices, DDP and mixed precision; the loop stays ours and reads top to bottom:
set up (model, plan, loaders, optimizer) → for each epoch (apply the plan, train, validate, record,
early stop) → final evaluation of the best checkpoint. The backbone and data come prepared
(``engine.prepare``); the run directory is written by ``runs.record``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transferkit.core import console
from transferkit.core.config import RunConfig, resolved_bn
from transferkit.data.loading import release_workers, training_loaders
from transferkit.engine.evaluation import check_replicas_agree, final_metrics, run_evaluation
from transferkit.engine.optim import build_optimizer, set_lr_at_step, warmup_cosine
from transferkit.engine.prepare import Prepared, prepare
from transferkit.engine.progress import RunLog
from transferkit.engine.start import Start, epoch_zero, random_start
from transferkit.engine.tensorboard_log import EpochLog
from transferkit.report import write_report_safely
from transferkit.runs.record import RunRecord, RunResult
from transferkit.transfer.plan import build_plan
from transferkit.transfer.strategy import parse_strategy

if TYPE_CHECKING:
    from lightning.fabric import Fabric


def fit(
    cfg: RunConfig,
    out_dir: str | Path,
    resume: bool = False,
    prepared: Prepared | None = None,
    start: Start | None = None,
) -> RunResult:
    """Train ``cfg`` into ``out_dir``; with ``resume`` continue from its last checkpoint.

    ``prepared`` (backbone and data from :func:`~transferkit.engine.prepare.prepare`) saves
    building them again; without it, and in every DDP process, the loop prepares its own.
    ``start`` (:func:`transferkit.engine.start.begin`) holds the probe's head for LP-FT: loaded
    before training, evaluated as epoch 0. Without it the head starts random.
    """
    # Lightning (about 2.5 s to import) is needed here only: the probe, evaluate, predict and
    # rank never pay for it.
    from lightning.fabric import Fabric
    from lightning.fabric.plugins.environments import SLURMEnvironment, TorchElasticEnvironment
    from lightning.fabric.strategies import DDPStrategy

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
        # The launcher walks its arguments and refuses frozen dataclasses: pass the config as a
        # dict, and let each process prepare its own backbone and data.
        return fabric.launch(_fit_worker, cfg.to_dict(), str(out_dir), resume, None, start)
    fabric = Fabric(accelerator=t.accelerator, devices=1, precision=t.precision)
    return _fit_worker(fabric, cfg.to_dict(), str(out_dir), resume, prepared, start)


@dataclass
class _Session:
    """Everything one training process holds: built once by :func:`_setup`."""

    fabric: Fabric
    cfg: RunConfig
    task: Any
    splits: Any
    model: Any
    wrapped: Any
    strategy: Any
    plan: Any
    optimizer: Any
    scheduler: Any
    train_loader: Any
    val_loader: Any
    record: RunRecord
    log: RunLog
    data_config: Any  # the backbone's preprocessing, as recorded in classes.json
    history: list[dict[str, Any]] = field(default_factory=list)
    best_score: float = float("-inf")
    stale: int = 0


def _fit_worker(
    fabric: Fabric,
    cfg_dict: dict,
    out_dir: str,
    resume: bool,
    prepared: Prepared | None = None,
    start: Start | None = None,
) -> RunResult:
    started = time.perf_counter()
    cfg = RunConfig.from_dict(cfg_dict)
    console.set_rank(fabric.global_rank)
    start = start or random_start()
    s = _setup(fabric, cfg, prepared or prepare(cfg), RunRecord(Path(out_dir)), start)
    start_epoch = _resume(s) if resume else 0
    tb = EpochLog(s.record.path, enabled=fabric.is_global_zero, first_epoch=start_epoch + 1)
    if start.from_probe and not resume:  # LP-FT or --init-from: the given head is epoch 0
        tb.log(epoch_zero(s, start.init))
    for epoch in range(start_epoch, cfg.train.epochs):
        row, stop = _run_epoch(s, epoch)
        if fabric.is_global_zero:
            tb.log(row)
        fabric.barrier()
        if stop:
            monitor, patience = s.task.monitor, cfg.train.patience
            s.log.info(f"early stop: {monitor} did not improve for {patience} epoch(s)")
            break
    if fabric.world_size > 1:
        check_replicas_agree(fabric, s.model)
    metrics = final_metrics(s)
    release_workers(s.train_loader, s.val_loader)
    seconds = time.perf_counter() - started
    metrics["train_seconds"] = round(seconds, 3)
    if fabric.is_global_zero:
        s.record.finish(metrics)
        tb.close()
        # The report draws its examples with the model in memory (the best checkpoint, loaded by
        # final_metrics): no rebuild from disk.
        handle = s.record.handle(cfg, s.splits.class_names, s.data_config, s.model)
        write_report_safely(s.record.path, s.splits, warn=s.log.info, handle=handle)
    return RunResult(s.record.path, metrics, s.history, seconds)


def _setup(
    fabric: Fabric, cfg: RunConfig, prep: Prepared, record: RunRecord, start: Start
) -> _Session:
    """Model (its head from ``start``), plan, loaders, optimizer and schedule; the run's first
    files (rank 0)."""
    t, task, splits = cfg.train, prep.task, prep.splits
    log = RunLog(enabled=fabric.is_global_zero, quiet=t.quiet)
    model = task.build_model(prep.backbone, len(splits.class_names), cfg.model)
    start.load(model)  # before DDP wraps the model: every process starts from the same head
    tr = cfg.transfer
    strategy = parse_strategy(
        tr.strategy,
        unfreeze_every=tr.unfreeze_every,
        lr_decay=tr.lr_decay,
        bn=resolved_bn(cfg),
        head_ready=start.init == "probe",  # a resumed run's start says so without the weights
    )
    plan = build_plan(model, strategy, t.epochs, start.label)
    log.info(_data_line(splits))
    log.info(plan.render(t.lr))
    if fabric.is_global_zero:
        record.check_space(model)
        record.begin(cfg, splits, prep.backbone, plan.to_dict())
    train_loader, val_loader = training_loaders(cfg, task.collate, splits, log.info)
    optimizer = build_optimizer(model, plan, t)
    total_steps = t.epochs * len(train_loader)
    warmup = min(int(t.warmup_epochs * len(train_loader)), max(0, total_steps - 1))
    scheduler = warmup_cosine(optimizer, max(1, warmup), total_steps, len(train_loader))
    if fabric.world_size > 1:  # DDP registers only parameters that require grad when it wraps
        model.set_trainable([True] * len(plan.rows))
    wrapped, optimizer = fabric.setup(model, optimizer)
    train_loader = fabric.setup_dataloaders(train_loader)
    return _Session(
        fabric, cfg, task, splits, model, wrapped, strategy, plan, optimizer, scheduler,
        train_loader, val_loader, record, log, prep.backbone.data_config,
    )  # fmt: skip


def _resume(s: _Session) -> int:
    """Load the last completed epoch's state; returns the epoch to start from.

    A run given more epochs than it was set up for (``--resume RUNDIR --epochs N``) goes on as if
    set up for N from the start: plan and schedule over N epochs, at the step reached (why:
    ``engine.optim.set_lr_at_step``); early stopping counts afresh.
    """
    state = s.record.resume_state(s.model, s.optimizer, s.scheduler)
    set_lr_at_step(s.optimizer, s.scheduler)
    set_up_for = state.get("epochs", s.cfg.train.epochs)  # older states lack it
    s.best_score, s.stale = state["best_score"], state["stale"]
    start_epoch = state["epoch"] + 1
    rows = s.record.dir.read_history()
    s.history = [dict(r) for r in rows if (r.get("epoch") or 0) <= start_epoch]
    epochs = s.cfg.train.epochs
    if epochs > set_up_for:
        s.stale = 0
        s.log.info(f"extending the run from {set_up_for} to {epochs} epochs")
    s.log.info(f"resuming from epoch {start_epoch + 1} of {epochs}")
    return start_epoch


def _run_epoch(s: _Session, epoch: int) -> tuple[dict[str, Any], bool]:
    """Train and validate one epoch, record it; returns its history row and whether to stop."""
    t, task = s.cfg.train, s.task
    epoch_start = time.perf_counter()
    s.model.set_trainable(s.plan.trainable_flags(epoch), bn=s.strategy.bn)
    # LR per group as the epoch started (after it, the last epoch's would read 0 by cosine).
    epoch_lrs = {f"lr_{g['name']}": g["lr"] for g in s.optimizer.param_groups}
    s.wrapped.train()
    train_loss = _train_epoch(
        s.fabric, task, s.wrapped, s.model, s.optimizer, s.scheduler, s.train_loader, s.log,
        f"epoch {epoch + 1}/{t.epochs}", t.grad_clip,
    )  # fmt: skip
    # decide: a decision fitted on val (multi-label thresholds) goes into this epoch's checkpoint.
    val = run_evaluation(s.fabric, task, s.model, s.val_loader, s.splits.class_names, decide=True)
    score = float(val.get(task.monitor, float("nan")))
    improved = score > s.best_score
    s.best_score, s.stale = (score, 0) if improved else (s.best_score, s.stale + 1)
    row = {"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val.get("loss")}
    row.update({k: v for k, v in val.items() if isinstance(v, (int, float)) and k != "loss"})
    row.update(epoch_lrs)
    row["trainable_parameters"] = s.plan.trainable_parameters(epoch)
    row["seconds"] = round(time.perf_counter() - epoch_start, 3)
    s.history.append(row)
    s.log.info(
        f"epoch {epoch + 1}/{t.epochs}  train_loss {train_loss:.4f}  "
        f"val_loss {val.get('loss', float('nan')):.4f}  {task.monitor} {score:.4f}"
        f"{'  (best)' if improved else ''}  {row['seconds']:.1f}s"
    )
    if s.fabric.is_global_zero:
        meta = {
            "epoch": epoch + 1,
            task.monitor: score,
            "task": s.cfg.task,
            "backbone": s.cfg.model.backbone,
            "num_classes": len(s.splits.class_names),
        }
        state = {
            "epoch": epoch,
            "epochs": t.epochs,  # what the run was set up for: a resume with more extends it
            "best_score": s.best_score,
            "stale": s.stale,
            "model": s.model.state_dict(),
            "optimizer": s.optimizer.state_dict(),
            "scheduler": s.scheduler.state_dict(),
        }
        s.record.epoch(s.history, s.model, meta, improved, state)
    return row, bool(t.patience) and s.stale >= t.patience  # patience 0 or None: never stop


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
