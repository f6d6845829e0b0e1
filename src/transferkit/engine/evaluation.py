"""One pass over a loader in eval mode: mean loss plus the task's metrics."""

from __future__ import annotations

from typing import Any

import torch
from lightning.fabric import Fabric
from torch.utils.data import DataLoader


@torch.no_grad()
def run_evaluation(
    fabric: Fabric | None, task, model, loader: DataLoader, class_names: list[str]
) -> dict[str, Any]:
    """Evaluate ``model`` on every batch of ``loader``; returns ``{"loss": …, **metrics}``.

    Every process evaluates the whole loader, so all ranks reach the same early-stopping decision
    without a metric all-gather; validation sets in transfer learning are small.
    """
    was_training = model.training
    model.eval()
    metrics = task.make_metrics(class_names)
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
