"""Optimizer and LR schedule: AdamW over every group from the first step, warm-up then cosine."""

from __future__ import annotations

import math

import torch

from transferkit.core.config import TrainSettings
from transferkit.transfer.model import TransferModel
from transferkit.transfer.plan import FreezePlan


def build_optimizer(
    model: TransferModel, plan: FreezePlan, train: TrainSettings
) -> torch.optim.AdamW:
    """AdamW with one param group per model group, at ``lr * multiplier``.

    Every group is in the optimizer from the start, frozen or not: freezing only toggles
    ``requires_grad``, so unfreezing later needs no optimizer surgery and resume stays simple.
    """
    param_groups = []
    for group, row in zip(model.groups(), plan.rows):
        if not group.params:
            continue
        param_groups.append(
            {
                "params": group.params,
                "lr": train.lr * row.lr_multiplier,
                "name": group.name,
                "weight_decay": train.weight_decay,
                # the epoch the group first trains in (the plan's); the schedule warms it up there
                "first_epoch": next(
                    (e for e, on in enumerate(row.trainable_by_epoch) if on), plan.epochs
                ),
            }
        )
    return torch.optim.AdamW(param_groups, lr=train.lr)


def warmup_cosine(
    optimizer: torch.optim.Optimizer,
    warmup_steps: int,
    total_steps: int,
    steps_per_epoch: int = 0,
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up to each group's LR over ``warmup_steps``, then cosine decay to zero.

    A group that starts training later (``first_epoch`` of its param group, set by
    :func:`build_optimizer`; gradual unfreezing) warms up again over ``warmup_steps`` from its first
    step, and has LR 0 before it. Without that, Adam's first updates of a just-unfrozen stage are
    full-size in every weight at once, and the stage loses what pretraining gave it (the training
    loss jumped from 0.03 to 1.7 the epoch the first stage unfroze on 1,078 digit images).
    """

    def base(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    def from_step(start: int):
        if start <= 0:
            return base
        return lambda step: base(step) * min(1.0, max(0, step - start + 1) / warmup_steps)

    starts = [g.get("first_epoch", 0) * steps_per_epoch for g in optimizer.param_groups]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, [from_step(s) for s in starts])


def set_lr_at_step(
    optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LambdaLR
) -> None:
    """Set each group's LR to ``scheduler``'s value at its current step count.

    A resumed optimizer holds the LR of the schedule it was saved under: the same value, unless
    the run was extended to more epochs. An extended run continues the schedule by entering the
    warm-up + cosine of the new total at the step count reached, so its later epochs get the LR a
    fresh run of that length gives them: the least surprising reading of "more epochs". The
    alternatives fail on a finished run: a new cosine segment from the current LR starts near zero
    (where a finished schedule ends) and trains almost nothing; a restart at the full LR undoes
    what was reached. The LR rises once, to the longer schedule's value at that step.
    """
    step = scheduler.last_epoch
    for group, base, factor in zip(
        optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas
    ):
        group["lr"] = base * factor(step)
