"""The freeze plan: what trains, when, how many parameters, BN mode and LR per group.

Printed by ``transferkit plan`` and before every training run, stored in the run directory.
"""

from __future__ import annotations

from dataclasses import dataclass

from transferkit.transfer.model import TransferModel
from transferkit.transfer.strategy import Strategy

BN_WORDS = {
    "eval": "fixed in every pretrained stage",
    "frozen": "fixed in frozen stages",
    "train": "updated in every stage",
}


@dataclass(frozen=True)
class PlanRow:
    """One parameter group in the plan."""

    group: str
    pretrained: bool
    parameters: int
    lr_multiplier: float
    trainable_by_epoch: tuple[bool, ...]


@dataclass(frozen=True)
class FreezePlan:
    """Per-group trainability for every epoch of a run."""

    strategy: str
    epochs: int
    bn: str
    rows: tuple[PlanRow, ...]
    head_init: str = ""  # "probe (L2 chosen on val)", "random" …; empty: not a fine-tuning plan

    def trainable_flags(self, epoch: int) -> list[bool]:
        """Trainable flag per group (``TransferModel.groups()`` order) for ``epoch`` (0-based)."""
        e = min(epoch, self.epochs - 1)
        return [row.trainable_by_epoch[e] for row in self.rows]

    def trainable_parameters(self, epoch: int) -> int:
        """How many parameters train during ``epoch``."""
        return sum(r.parameters for r, on in zip(self.rows, self.trainable_flags(epoch)) if on)

    def total_parameters(self) -> int:
        return sum(r.parameters for r in self.rows)

    def to_dict(self) -> dict:
        """JSON form for the run directory."""
        return {
            "strategy": self.strategy,
            "epochs": self.epochs,
            "bn": self.bn,
            "head_init": self.head_init or None,
            "total_parameters": self.total_parameters(),
            "groups": [
                {
                    "group": r.group,
                    "pretrained": r.pretrained,
                    "parameters": r.parameters,
                    "lr_multiplier": r.lr_multiplier,
                    "trainable_by_epoch": list(r.trainable_by_epoch),
                }
                for r in self.rows
            ],
        }

    def render(self, base_lr: float | None = None) -> str:
        """A plain-text table: one line per group; per-epoch columns when trainability changes."""
        changes = any(len(set(r.trainable_by_epoch)) > 1 for r in self.rows)
        head = f"{'group':<16}{'params':>12}  {'lr x':>8}"
        head += "  " + ("epochs trainable" if changes else "trains")
        lines = [
            f"Freeze plan: strategy {self.strategy}, {self.epochs} epoch(s), "
            f"BatchNorm statistics: {BN_WORDS.get(self.bn, self.bn)}",
        ]
        if self.head_init:
            lines.append(f"head init: {self.head_init}")
        lines.append(head)
        for r in self.rows:
            if changes:
                when = "".join("T" if t else "." for t in r.trainable_by_epoch)
            else:
                when = "yes" if r.trainable_by_epoch[0] else "frozen"
            name = r.group + ("" if r.pretrained else " (new)")
            lr = f"{r.lr_multiplier:.4g}"
            lines.append(f"{name:<16}{r.parameters:>12,}  {lr:>8}  {when}")
        first, last = self.trainable_parameters(0), self.trainable_parameters(self.epochs - 1)
        total = self.total_parameters()
        summary = f"trainable: {first:,} of {total:,} parameters"
        if last != first:
            summary += f" in epoch 1, {last:,} by epoch {self.epochs}"
        if base_lr is not None:
            summary += f"; base LR {base_lr:g}"
        lines.append(summary)
        if changes:
            lines.append("(T = trains in that epoch, . = frozen)")
        return "\n".join(lines)


def build_plan(
    model: TransferModel, strategy: Strategy, epochs: int, head_init: str = ""
) -> FreezePlan:
    """The plan of ``strategy`` on ``model`` over ``epochs`` epochs; ``head_init`` says how the
    new head starts (:func:`transferkit.transfer.lpft.describe_init`)."""
    groups = model.groups()
    stages = [g for g in groups if g.pretrained]
    n = len(stages)
    strategy.check(n, getattr(model.backbone, "name", ""))
    multipliers = strategy.lr_multipliers(n)
    per_epoch = [strategy.trainable_stages(e, n) for e in range(epochs)]
    rows = []
    stage_index = 0
    for g in groups:
        if g.pretrained:
            flags = tuple(per_epoch[e][stage_index] for e in range(epochs))
            rows.append(PlanRow(g.name, True, g.num_parameters(), multipliers[stage_index], flags))
            stage_index += 1
        else:
            rows.append(PlanRow(g.name, False, g.num_parameters(), 1.0, (True,) * epochs))
    return FreezePlan(strategy.label, epochs, strategy.bn, tuple(rows), head_init)
