"""Successive halving: try many candidates cheaply, give the survivors more, within a budget.

Rung 0 evaluates every candidate at a small resource (epochs); each later rung keeps the best
``1 / eta`` of the previous one and multiplies the resource by ``eta``, until one candidate is left
(Jamieson & Talwalkar 2016; the inner loop of Hyperband). The smallest resource is the largest that
keeps the whole schedule within the budget; what the rounding leaves over goes to the last rung.

The budget is charged each evaluation's full resource, so it holds when ``evaluate`` trains from
scratch; pass ``continues=True`` when ``evaluate`` resumes a candidate from its previous rung, and
only the extra epochs are charged. Scores are higher-is-better validation scores: the caller must
never evaluate on the test split.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from transferkit.core.errors import ConfigError


@dataclass(frozen=True)
class HalvingResult:
    """The winner of :func:`successive_halving` and everything that was tried on the way."""

    winner: Any
    score: float
    resource: int  # epochs the winner was evaluated at last
    table: list[dict[str, Any]]  # rung, candidate, resource, score, promoted; in call order
    spent: int  # epochs charged against the budget
    budget: int
    reason: str


def rung_schedule(
    n: int, budget: int, eta: int = 2, *, continues: bool = False
) -> list[tuple[int, int]]:
    """``(candidates, resource)`` per rung for ``n`` candidates within ``budget`` epochs.

    Raises ConfigError when the budget cannot give every candidate one epoch at rung 0.
    """
    _check_args(n, budget, eta)
    counts = [n]
    while counts[-1] > 1:
        counts.append(math.ceil(counts[-1] / eta))
    unit = _cost(counts, [eta**k for k in range(len(counts))], continues)
    if unit > budget:
        raise ConfigError(
            f"a budget of {budget} epochs is too small for {n} candidates with eta {eta}: "
            f"successive halving needs at least {unit} epochs",
            hint=f"raise --budget to {unit} or more, or try fewer candidates",
        )
    r0 = budget // unit
    resources = [r0 * eta**k for k in range(len(counts))]
    leftover = budget - _cost(counts, resources, continues)
    resources[-1] += leftover // counts[-1]
    return list(zip(counts, resources))


def successive_halving(
    candidates: Sequence[Any],
    evaluate: Callable[[Any, int], float],
    budget: int,
    eta: int = 2,
    *,
    label: Callable[[Any], str] = str,
    continues: bool = False,
) -> HalvingResult:
    """Find the best of ``candidates`` by ``evaluate(candidate, epochs) -> val score``.

    Ties go to the candidate listed first (list them in order of preference, cheapest first); a
    score that is not finite (a diverged run) ranks last. ``label`` names a candidate in the table.
    """
    names = [label(c) for c in candidates]
    if len(set(names)) != len(names):
        raise ConfigError(
            f"successive halving needs distinct candidate names, got {names}",
            hint="give each candidate a unique label",
        )
    schedule = rung_schedule(len(candidates), budget, eta, continues=continues)
    alive = list(range(len(candidates)))
    table: list[dict[str, Any]] = []
    spent, previous = 0, 0
    for rung, (_, resource) in enumerate(schedule):
        scores = {i: float(evaluate(candidates[i], resource)) for i in alive}
        spent += len(alive) * (resource - previous if continues else resource)
        ranked = sorted(alive, key=lambda i: (-_rank_score(scores[i]), i))
        keep = set(ranked[: schedule[rung + 1][0]] if rung + 1 < len(schedule) else ranked[:1])
        for i in alive:
            table.append(
                {
                    "rung": rung,
                    "candidate": names[i],
                    "resource": resource,
                    "score": scores[i] if math.isfinite(scores[i]) else None,
                    "promoted": i in keep,
                }
            )
        alive, previous = ranked[: len(keep)], resource
    best = alive[0]
    final = [r for r in table if r["candidate"] == names[best]][-1]
    result = HalvingResult(
        candidates[best], scores[best], final["resource"], table, spent, budget, ""
    )
    return replace(result, reason=_reason(result, names[best], eta))


def _reason(result: HalvingResult, name: str, eta: int) -> str:
    """One line: who won, at what, against whom, for how much of the budget."""
    rungs = max(r["rung"] for r in result.table) + 1
    n = sum(1 for r in result.table if r["rung"] == 0)
    # the strongest rival is the best of those dropped at the last rung that compared several
    contested = [r for r in result.table if r["rung"] == _last_contested_rung(result.table)]
    rivals = [r for r in contested if not r["promoted"]]
    rival = max(rivals, key=lambda r: _rank_score(r["score"]), default=None)
    against = (
        f", ahead of {rival['candidate']} ({_fmt(rival['score'])} at {rival['resource']} epochs)"
        if rival
        else ""
    )
    return (
        f"{name} won with val score {_fmt(result.score)} at {result.resource} epochs{against}; "
        f"{n} candidates, {rungs} rungs (eta {eta}), {result.spent} of {result.budget} epochs"
    )


def _last_contested_rung(table: list[dict[str, Any]]) -> int:
    sizes: dict[int, int] = {}
    for row in table:
        sizes[row["rung"]] = sizes.get(row["rung"], 0) + 1
    contested = [rung for rung, size in sizes.items() if size > 1]
    return max(contested, default=0)


def _rank_score(score: float | None) -> float:
    return score if score is not None and math.isfinite(score) else -math.inf


def _fmt(score: float | None) -> str:
    return f"{score:.4f}" if score is not None and math.isfinite(score) else "not finite"


def _cost(counts: list[int], resources: list[int], continues: bool) -> int:
    if not continues:
        return sum(n * r for n, r in zip(counts, resources))
    steps = [r - prev for r, prev in zip(resources, [0, *resources[:-1]])]
    return sum(n * s for n, s in zip(counts, steps))


def _check_args(n: int, budget: int, eta: int) -> None:
    if n < 1:
        raise ConfigError(
            "successive halving needs at least one candidate", hint="pass the candidates to try"
        )
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ConfigError(
            f"budget must be a whole number of epochs >= 1, got {budget!r}",
            hint="pass e.g. --budget 20 (epochs); convert minutes to epochs first",
        )
    if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
        raise ConfigError(
            f"eta must be a whole number >= 2 (the share of candidates kept is 1/eta), got {eta!r}",
            hint="use eta=2 (keep half) or eta=3 (keep a third)",
        )
