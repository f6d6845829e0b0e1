"""--strategy auto, the decision part: what a budget buys, who wins against the probe, the table.

The trials themselves (tiny backbone, real training) are in ``tests/engine/test_auto_search.py``.
"""

from __future__ import annotations

import math

import pytest

from transferkit.core.budget import parse_budget
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.transfer.auto import (
    ETA,
    Candidate,
    check_auto_config,
    decide,
    plan,
    render_table,
    table,
)
from transferkit.transfer.halving import rung_schedule, successive_halving

SIX = ["head@0.001", "head@0.0003", "gradual@0.001", "gradual@0.0003", "full@0.001", "full@0.0003"]


def test_the_default_budget_tries_six_candidates_and_ends_on_the_runs_epochs():
    budget = parse_budget(None, epochs=10)
    assert (budget.unit, budget.epochs) == ("epochs", 30)  # 3 x the run's epochs
    candidates, halving = plan(1e-3, budget.epochs, epochs=10)
    assert [c.label for c in candidates] == SIX  # cheapest first: ties go to the cheaper
    assert halving == 30
    # the last rung trains the winner exactly as the final run would: it can be reused
    assert rung_schedule(6, halving, ETA) == [(6, 1), (3, 2), (2, 4), (1, 10)]


@pytest.mark.parametrize(
    ("budget", "labels"),
    [
        (1, ["gradual@0.001"]),
        (3, ["gradual@0.001"]),
        (4, ["gradual@0.001", "full@0.001"]),
        (11, ["head@0.001", "gradual@0.001", "full@0.001"]),
        (12, ["head@0.001", "gradual@0.001", "full@0.001", "full@0.0003"]),
        (27, ["head@0.001", "gradual@0.001", "full@0.001", "full@0.0003"]),
        (28, SIX),
    ],
)
def test_a_small_budget_keeps_the_most_wanted_candidates(budget, labels):
    candidates, halving = plan(1e-3, budget, epochs=100)
    assert [c.label for c in candidates] == labels
    assert halving <= budget
    rung_schedule(len(candidates), halving, ETA)  # a schedule that fits: no error


def test_no_trial_trains_longer_than_the_run_when_the_budget_allows():
    candidates, halving = plan(1e-3, 100, epochs=10)
    assert len(candidates) == 6 and halving == 30
    assert rung_schedule(6, halving, ETA)[-1][1] == 10
    _, halving = plan(1e-3, 10**7, epochs=10)  # minutes on a fast machine: same answer, fast
    assert halving == 30


def test_the_learning_rates_follow_the_runs_lr():
    candidates, _ = plan(0.01, 28, epochs=10)
    assert {c.lr for c in candidates} == {0.01, 0.003}


def _halve(scores: dict[str, float], budget: int, epochs: int = 10):
    """Successive halving over ``plan`` with made-up scores that grow with the epochs."""
    calls = []

    def evaluate(c: Candidate, n: int) -> float:
        calls.append((c.label, n))
        return scores[c.label] * (1 - 0.5 / (n + 1))

    candidates, halving = plan(1e-3, budget, epochs)
    result = successive_halving(candidates, evaluate, halving, ETA, label=lambda c: c.label)
    return candidates, result, calls


def test_the_table_lists_every_candidate_and_the_winner_is_the_best():
    scores = dict(zip(SIX, [0.60, 0.55, 0.80, 0.70, 0.90, 0.85]))
    candidates, result, calls = _halve(scores, budget=30)
    rows = table(0.5, result, {("full@0.001", 10): 1.23456})
    assert rows[0]["candidate"] == "probe" and rows[0]["epochs"] == 0
    first_rung = [r for r in rows if r["rung"] == 0]
    assert sorted(r["candidate"] for r in first_rung) == sorted(SIX)
    assert all(isinstance(r["score"], float) for r in rows)
    assert sum(n for _, n in calls) == result.spent <= 30  # the budget holds
    last = [r for r in rows if r["rung"] == max(x["rung"] or 0 for x in rows)]
    assert [r["candidate"] for r in last] == ["full@0.001"]
    assert last[0]["seconds"] == 1.235
    winner, reason = decide(0.5, result)
    assert winner.label == "full@0.001" and "the probe scored 0.5000" in reason
    lines = render_table(rows, "accuracy")
    assert len(lines) == len(rows) + 1 and "val accuracy" in lines[0]


def test_fine_tuning_must_beat_the_probe_strictly():
    scores = dict.fromkeys(SIX, 0.8)
    _, result, _ = _halve(scores, budget=28)
    assert decide(result.score, result)[0] is None  # a tie goes to the probe, the cheaper
    winner, reason = decide(result.score - 0.01, result)
    assert winner is not None
    winner, reason = decide(0.99, result)
    assert winner is None and "not beaten" in reason and "0.9900" in reason


def test_a_diverged_fine_tuning_never_wins():
    scores = dict.fromkeys(SIX, math.nan)
    _, result, _ = _halve(scores, budget=28)
    winner, reason = decide(0.1, result)
    assert winner is None and "not finite" in reason


@pytest.mark.parametrize(
    ("settings", "needle"),
    [({"task": "detect"}, "'auto' is for classification"), ({"head": "mlp"}, "--head mlp")],
)
def test_auto_refuses_what_it_cannot_measure(settings, needle):
    cfg = RunConfig().with_values(strategy="auto", **settings)
    with pytest.raises(ConfigError, match=needle) as caught:
        check_auto_config(cfg)
    assert caught.value.hint
