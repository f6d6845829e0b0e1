"""Successive halving with a fake evaluate: schedule, budget, winner, table and reason."""

from __future__ import annotations

import math

import pytest

from transferkit.core.errors import ConfigError
from transferkit.transfer.halving import rung_schedule, successive_halving


def lpft(gain: float, speed: float):
    """A fake LP-FT learning curve: starts at the probe's 0.80 and moves by ``gain``."""
    return lambda epochs: 0.80 + gain * (1 - math.exp(-epochs / speed))


CURVES = {
    "probe": lambda epochs: 0.80,  # no training: the same at every resource
    "head": lpft(0.03, 1.0),
    "gradual lr 1e-3": lpft(0.12, 2.0),
    "gradual lr 1e-4": lpft(0.08, 4.0),
    "full lr 1e-3": lpft(-0.30, 1.0),  # a learning rate that destroys the features
    "full lr 1e-4": lpft(0.06, 3.0),
    "diverged": lambda epochs: float("nan"),
    "slow": lpft(0.19, 50.0),  # best in the limit, hopeless within the budget
}


def run(names, budget, eta=2, **kw):
    calls = []

    def evaluate(name, epochs):
        calls.append((name, epochs))
        return CURVES[name](epochs)

    return successive_halving(names, evaluate, budget, eta, **kw), calls


def test_schedule_fits_the_budget():
    assert rung_schedule(8, 32) == [(8, 1), (4, 2), (2, 4), (1, 8)]  # 8 + 8 + 8 + 8
    assert rung_schedule(8, 40) == [(8, 1), (4, 2), (2, 4), (1, 16)]  # 8 left over, to the last
    assert rung_schedule(7, 31) == [(7, 1), (4, 2), (2, 4), (1, 8)]
    assert rung_schedule(9, 30, eta=3) == [(9, 1), (3, 3), (1, 12)]  # 9 + 9 + 12
    assert rung_schedule(1, 12) == [(1, 12)]
    # resuming from the previous rung charges only the extra epochs: 8 + 4 + 2*2 + 4 = 20
    assert rung_schedule(8, 20, continues=True) == [(8, 1), (4, 2), (2, 4), (1, 8)]


def test_the_best_candidate_wins_and_every_call_is_in_the_table():
    names = list(CURVES)
    result, calls = run(names, budget=32)
    assert result.winner == "gradual lr 1e-3"
    assert result.score == pytest.approx(CURVES["gradual lr 1e-3"](8))
    assert result.resource == 8
    assert [(r["candidate"], r["resource"]) for r in result.table] == calls
    assert len(calls) == 8 + 4 + 2 + 1
    assert result.spent == sum(e for _, e in calls) == 32 <= result.budget
    rung0 = {r["candidate"]: r for r in result.table if r["rung"] == 0}
    assert rung0["diverged"]["score"] is None and not rung0["diverged"]["promoted"]
    assert not rung0["full lr 1e-3"]["promoted"] and rung0["head"]["promoted"]
    assert result.reason.startswith("gradual lr 1e-3 won with val score 0.")
    assert "ahead of gradual lr 1e-4" in result.reason  # the last one dropped beside it
    assert result.reason.endswith("8 candidates, 4 rungs (eta 2), 32 of 32 epochs")


def test_ties_go_to_the_candidate_listed_first():
    result = successive_halving(["b", "a"], lambda c, e: 0.5, 4)
    assert result.winner == "b"
    assert (
        result.reason == "b won with val score 0.5000 at 2 epochs, ahead of a (0.5000 at 1 epochs)"
        "; 2 candidates, 2 rungs (eta 2), 4 of 4 epochs"
    )


def test_a_single_candidate_gets_the_whole_budget():
    result, calls = run(["head"], budget=7)
    assert calls == [("head", 7)] and result.spent == 7
    assert result.reason.endswith("at 7 epochs; 1 candidates, 1 rungs (eta 2), 7 of 7 epochs")


def test_resuming_candidates_are_charged_the_extra_epochs_only():
    names = list(CURVES)
    result, calls = run(names, budget=20, continues=True)
    assert result.winner == "gradual lr 1e-3" and result.resource == 8
    assert result.spent == 8 * 1 + 4 * 1 + 2 * 2 + 1 * 4 == 20
    assert sum(e for _, e in calls) > result.budget  # what a from-scratch evaluate would cost


def test_every_candidate_diverged_still_returns_one():
    result = successive_halving(["x", "y"], lambda c, e: float("nan"), 4)
    assert result.winner == "x" and math.isnan(result.score)
    assert "not finite" in result.reason


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"candidates": [], "budget": 4}, "at least one candidate"),
        ({"candidates": ["a", "a"], "budget": 4}, "distinct candidate names"),
        ({"candidates": ["a", "b"], "budget": 0}, "budget must be a whole number"),
        ({"candidates": ["a", "b"], "budget": 2.5}, "budget must be a whole number"),
        ({"candidates": ["a", "b"], "budget": 4, "eta": 1}, "eta must be"),
        ({"candidates": list("abcdefgh"), "budget": 31}, "needs at least 32 epochs"),
    ],
)
def test_bad_arguments_are_config_errors_with_a_hint(kwargs, match):
    with pytest.raises(ConfigError, match=match) as err:
        successive_halving(evaluate=lambda c, e: 0.0, **kwargs)
    assert err.value.hint
