"""Evaluation: one pass over a loader in eval mode (mean loss plus the task's metrics), the final
metrics of a run's best checkpoint, and the check that DDP replicas ended alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader

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
    rows: list[dict] | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` on every batch of ``loader``; returns ``{"loss": …, **metrics}``.

    Every process evaluates the whole loader, so all ranks reach the same early-stopping decision
    without a metric all-gather; validation sets in transfer learning are small. Given ``rows``
    (a list) and a task with the ``prediction_rows`` hook, the per-image predictions are
    appended to it in loader order.
    """
    was_training = model.training
    model.eval()
    metrics = task.make_metrics(class_names)
    rows_of = getattr(task, "prediction_rows", None)
    if rows is not None and rows_of is not None:
        metrics = _Recording(metrics, rows_of, class_names, rows)
    total, batches = 0.0, 0
    for batch in loader:
        if fabric is not None:
            batch = fabric.to_device(batch)
            with fabric.autocast():
                loss = task.evaluation_step(model, batch, metrics)
        else:
            loss = task.evaluation_step(model, batch, metrics)
        if loss is not None:
            total += float(loss)
            batches += 1
    model.train(was_training)
    out: dict[str, Any] = {"loss": total / batches if batches else float("nan")}
    out.update(metrics.compute())
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
        out[split] = run_evaluation(s.fabric, s.task, s.model, loader, s.splits.class_names, rows)
        if rows and s.fabric.is_global_zero:  # computed once, read by report / evaluate / compare
            s.record.predictions(split, dataset, rows)
    headline = out.get("test") or out.get("val") or {}
    for k, v in headline.items():  # flat top-level keys: the split that best measures the model
        if isinstance(v, (int, float)):
            out[k] = v
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
