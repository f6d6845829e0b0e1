"""Evaluation: one pass over a loader in eval mode (mean loss plus the task's metrics), the final
metrics of a run's best checkpoint, and the check that DDP replicas ended alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader

from transferkit.core.stats import summary_of

if TYPE_CHECKING:  # Lightning is imported by the training loop only (``evaluate`` never needs it)
    from lightning.fabric import Fabric


class _Recording:
    """The task's metrics, also keeping one row per image (the task's ``prediction_rows``)."""

    def __init__(self, metrics, rows_of, class_names: list[str], rows: list[dict]):
        self.metrics, self.rows_of, self.class_names, self.rows = (
            metrics,
            rows_of,
            class_names,
            rows,
        )

    def update(self, outputs: Any, batch: Any) -> None:
        self.metrics.update(outputs, batch)
        self.rows.extend(self.rows_of(outputs, batch, self.class_names))

    def compute(self) -> dict[str, Any]:
        return self.metrics.compute()

    def reset(self) -> None:
        self.metrics.reset()
        self.rows.clear()


@torch.no_grad()
def run_evaluation(
    fabric: Fabric | None,
    task,
    model,
    loader: DataLoader,
    class_names: list[str],
    decide: bool = False,
    intervals: bool = False,
    rows: list[dict] | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` on every batch of ``loader``; returns ``{"loss": …, **metrics}``.

    With ``intervals`` (final numbers, not every epoch's) it adds the bootstrap interval of each
    headline metric (``ci``) and the per-image outcomes the task keeps (``core.stats.summary_of``).

    Every process evaluates the whole loader, so all ranks reach the same early-stopping decision
    without a metric all-gather; validation sets in transfer learning are small. Given ``rows``
    (a list) and a task with the ``prediction_rows`` hook, the per-image predictions are
    appended to it in loader order.

    A task whose predictions rest on a decision fitted on validation (multi-label: per-label
    thresholds) judges the model's stored decision (``metrics_for``); ``decide`` (validation
    passes of training only) fits it anew on this pass and stores it in ``model``
    (``settle_decision``). Test passes and ``evaluate`` never choose: the test split cannot leak
    into the decision.
    """
    was_training = model.training
    model.eval()
    metrics_for = getattr(task, "metrics_for", None)
    metrics = metrics_for(model, class_names) if metrics_for else task.make_metrics(class_names)
    rows_of = getattr(task, "prediction_rows", None)
    recording = rows is not None and rows_of is not None
    updates = _Recording(metrics, rows_of, class_names, rows) if recording else metrics
    total, batches = 0.0, 0
    for batch in loader:
        if fabric is not None:
            batch = fabric.to_device(batch)
            with fabric.autocast():
                loss = task.evaluation_step(model, batch, updates)
        else:
            loss = task.evaluation_step(model, batch, updates)
        if loss is not None:
            total += float(loss)
            batches += 1
    model.train(was_training)
    out: dict[str, Any] = {"loss": total / batches if batches else float("nan")}
    out.update(metrics.compute())
    settle = getattr(task, "settle_decision", None)
    if settle:
        out = settle(model, out, decide)
    if intervals:
        out.update(summary_of(metrics))
    return out


def final_metrics(s) -> dict[str, Any]:
    """Metrics of the best checkpoint on val (and test when there is one), for the training
    session ``s`` (``engine.loop``); the headline split's numbers also flat at the top level.
    The per-image predictions behind them go into the run's ``predictions/`` folder."""
    s.record.load_best(s.model)
    out: dict[str, Any] = {}
    for split, dataset in (("val", s.splits.val), ("test", s.splits.test)):
        if dataset is None or len(dataset) == 0:
            continue
        loader = DataLoader(dataset, batch_size=s.cfg.train.batch_size, collate_fn=s.task.collate)
        rows: list[dict] = []
        names = s.splits.class_names
        out[split] = run_evaluation(
            s.fabric, s.task, s.model, loader, names, intervals=True, rows=rows
        )
        if rows and s.fabric.is_global_zero:  # computed once, read by report / evaluate / compare
            s.record.predictions(split, dataset, rows)
    return with_headline(out)


def with_headline(out: dict[str, Any]) -> dict[str, Any]:
    """``out`` (metrics per split) with the headline split's numbers flat at the top level: test
    when there is one, else val; its intervals as ``ci``, and how they were made."""
    headline = out.get("test") or out.get("val") or {}
    for k, v in headline.items():  # flat top-level keys: the split that best measures the model
        if isinstance(v, (int, float)):
            out[k] = v
    for key in ("ci", "ci_settings"):
        if key in headline:
            out[key] = headline[key]
    out["evaluated_split"] = "test" if "test" in out else "val"
    return out


def check_replicas_agree(fabric: Fabric, model) -> None:
    """Every DDP process must end with the same weights; a difference means gradients were not
    synchronised (e.g. for a stage unfrozen mid-run), and the saved model would be rank 0's alone."""
    with torch.no_grad():
        checksum = torch.stack([p.double().sum() for p in model.parameters()]).sum().reshape(1)
    sums = fabric.all_gather(checksum.to(fabric.device)).flatten()
    if not torch.allclose(sums, sums[0].expand_as(sums), rtol=0, atol=1e-6):
        raise RuntimeError(f"DDP replicas disagree after training: parameter sums {sums.tolist()}")
