"""``--strategy auto``: which recipes to try within a budget, and which one won. Decides only.

``auto`` measures instead of guessing. The linear probe is scored first (cached features: it
costs one forward pass, or none); fine-tuning candidates — ``head``, ``gradual`` and ``full`` at
the run's learning rate and at :data:`LOW_LR` times it — are compared by successive halving
(``transfer.halving``) on the validation split: every candidate trains a few epochs, the better
half trains twice as long, and so on until one is left. The winner must beat the probe's val
score to be chosen (a tie goes to the probe, the cheaper recipe); the test split never takes part.

A budget too small for six candidates keeps the most wanted ones (:data:`PRIORITY`), and no trial
trains longer than the run's own epochs when the budget allows: the last rung then trains the
winner exactly as the final run would, and the engine reuses that trial instead of training it
again. The trials themselves run in the engine (``engine.auto_search``).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.core.recipe import POOLED_TASKS
from transferkit.transfer.halving import HalvingResult, rung_schedule

ETA = 2  # successive halving keeps the better half at each rung
LOW_LR = 0.3  # the second learning rate tried: this times the run's --lr
STRATEGIES = ("head", "gradual", "full")  # cheapest first: the order that breaks ties
# What a small budget keeps, most wanted first: the default recipe, then the most different ones.
PRIORITY = (
    ("gradual", 1.0),
    ("full", 1.0),
    ("head", 1.0),
    ("full", LOW_LR),
    ("gradual", LOW_LR),
    ("head", LOW_LR),
)
SIZES = (6, 4, 3, 2, 1)  # candidate counts tried, largest first (5 costs as much as 6)


@dataclass(frozen=True)
class Candidate:
    """One fine-tuning recipe to try: a strategy at a learning rate."""

    strategy: str
    lr: float

    @property
    def label(self) -> str:
        """Its name in the table: ``gradual@0.001``."""
        return f"{self.strategy}@{self.lr:g}"


def candidate(strategy: str, lr: float, factor: float = 1.0) -> Candidate:
    """``strategy`` at ``factor`` times ``lr``, rounded so that the label and the config agree."""
    return Candidate(strategy, float(f"{lr * factor:.6g}"))


def check_auto_config(cfg: RunConfig) -> None:
    """Raise ConfigError unless ``--strategy auto`` can decide for ``cfg``.

    The search compares fine-tuning against a linear probe on pooled features, which only
    classification with a linear head has; anything else is refused before any work is done.
    """
    if cfg.task not in POOLED_TASKS:
        raise ConfigError(
            f"strategy 'auto' is for classification, not task {cfg.task!r}",
            hint="choose --strategy head, gradual, partial:N or full "
            "(`transferkit compare` measures them side by side)",
        )
    if cfg.model.head not in (None, "linear"):  # None: the task's default, linear
        raise ConfigError(
            f"strategy 'auto' measures fine-tuning against the linear probe, which needs a "
            f"linear head, not --head {cfg.model.head}",
            hint="use --head linear (the default) with --strategy auto, or choose a strategy",
        )


def images_per_class(splits) -> float:
    """Median number of training images per class (recorded beside the decision); multi-label
    data counts the images holding each label."""
    counts = {name: 0 for name in splits.class_names}
    for _, label in splits.train.samples:
        if isinstance(label, tuple):  # multi-hot: every label the image holds
            for name, hot in zip(splits.class_names, label, strict=True):
                counts[name] += int(hot)
        else:
            counts[splits.class_names[label]] += 1
    return float(statistics.median(counts.values()))


def plan(lr: float, budget: int, epochs: int, eta: int = ETA) -> tuple[list[Candidate], int]:
    """The candidates ``budget`` epochs afford (cheapest first) and the budget halving gets.

    The most candidates whose smallest schedule fits; then the largest share of ``budget`` whose
    last rung trains no longer than the run's ``epochs`` (so that the winner's last trial can be
    the final run), or the smallest schedule when even that trains longer.
    """
    for n in SIZES:
        try:
            rung_schedule(n, budget, eta)
        except ConfigError:
            continue
        wanted = [candidate(s, lr, f) for s, f in PRIORITY[:n]]
        wanted.sort(key=lambda c: (STRATEGIES.index(c.strategy), -c.lr))
        return wanted, _fitted_budget(n, budget, epochs, eta)
    raise ConfigError(  # unreachable for budget >= 1: one candidate needs one epoch
        f"a budget of {budget} epochs cannot train one candidate", hint="raise --budget"
    )


def _fitted_budget(n: int, budget: int, epochs: int, eta: int) -> int:
    """The largest budget <= ``budget`` whose last rung is at most ``epochs`` long (else the
    smallest schedule). The last rung trains at least ``budget // unit`` epochs, so the search
    starts below ``unit * (epochs + 1)``: a budget in minutes on a fast machine stays cheap."""
    counts = [n]
    while counts[-1] > 1:
        counts.append(math.ceil(counts[-1] / eta))
    unit = sum(c * eta**k for k, c in enumerate(counts))
    for b in range(min(budget, unit * (epochs + 1)), unit - 1, -1):
        if rung_schedule(n, b, eta)[-1][1] <= epochs:
            return b
    return unit


def decide(probe_score: float, result: HalvingResult) -> tuple[Candidate | None, str]:
    """The winner (None: the probe) and one line saying why.

    Fine-tuning must beat the probe's val score strictly: a tie goes to the probe, the cheaper
    recipe, and so does a fine-tuning score that is not finite (a diverged run).
    """
    best = result.winner
    score = result.score
    if math.isfinite(score) and score > probe_score:
        return best, f"{result.reason}; the probe scored {probe_score:.4f}"
    said = f"{score:.4f}" if math.isfinite(score) else "a score that is not finite"
    return None, (
        f"the probe's val score {probe_score:.4f} was not beaten: the best fine-tuning, "
        f"{best.label}, reached {said} at {result.resource} epochs (a tie goes to the probe, "
        f"the cheaper recipe); {result.spent} of {result.budget} epochs tried"
    )


def table(
    probe_score: float, result: HalvingResult, seconds: dict[tuple[str, int], float]
) -> list[dict[str, Any]]:
    """Every trial as a row (the probe first, at 0 epochs), with its wall time."""
    rows: list[dict[str, Any]] = [
        {
            "rung": None,
            "candidate": "probe",
            "strategy": "probe",
            "lr": None,
            "epochs": 0,
            "score": probe_score,
            "promoted": None,
            "seconds": _round(seconds.get(("probe", 0))),
        }
    ]
    for row in result.table:
        strategy, _, lr = row["candidate"].partition("@")
        rows.append(
            {
                "rung": row["rung"],
                "candidate": row["candidate"],
                "strategy": strategy,
                "lr": float(lr),
                "epochs": row["resource"],
                "score": row["score"],
                "promoted": row["promoted"],
                "seconds": _round(seconds.get((row["candidate"], row["resource"]))),
            }
        )
    return rows


def render_table(rows: list[dict[str, Any]], monitor: str) -> list[str]:
    """The table as console lines: rung, candidate, epochs, val score, kept for the next rung."""
    lines = [f"  {'rung':<5}{'candidate':<18}{'epochs':>7}  {'val ' + monitor:>14}  kept"]
    for r in rows:
        rung = "-" if r["rung"] is None else str(r["rung"])
        score = "not finite" if r["score"] is None else f"{r['score']:.4f}"
        kept = {None: "", True: "yes", False: "no"}[r["promoted"]]
        lines.append(f"  {rung:<5}{r['candidate']:<18}{r['epochs']:>7}  {score:>14}  {kept}")
    return lines


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)
