"""--strategy auto end to end: real trials on a tiny backbone, the table, the budget, the test split.

The probe of the tiny backbone separates the colour data perfectly; where a test needs fine-tuning
to win, the probe's val score is patched down (the trials still train for real).
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import transferkit.zoo
from tests.engine.conftest import make_image_folder
from tests.tiny import TinyBackbone
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.engine.auto_search import Trials
from transferkit.engine.prepare import prepare
from transferkit.engine.run import run
from transferkit.runs.record import RunResult
from transferkit.transfer.auto import candidate
from transferkit.transfer.probe import ProbeOutcome


@pytest.fixture
def zoo(monkeypatch):
    """The tiny backbone, the same "pretrained" weights every time it is built."""

    def create_backbone(name, weights="auto", **kwargs):
        torch.manual_seed(0)
        return TinyBackbone()

    monkeypatch.setattr(transferkit.zoo, "create_backbone", create_backbone, raising=False)


@pytest.fixture
def data(tmp_path):
    return make_image_folder(tmp_path / "data", per_class=6, splits=["train", "val", "test"])


@pytest.fixture
def weak_probe(monkeypatch):
    """The probe scores 0 on val: fine-tuning wins (trials and final run train for real)."""
    monkeypatch.setattr(ProbeOutcome, "val_score", lambda self: 0.0)


def _cfg(data, **settings):
    values = dict(path=str(data), backbone="tiny", strategy="auto", epochs=2, budget=4)
    values.update(batch_size=16, quiet=True, **settings)
    return RunConfig().with_values(**values)


def _auto(run_dir):
    return json.loads((run_dir / "auto.json").read_text())


def test_auto_trains_the_candidates_within_the_budget_and_keeps_the_best(
    data, tmp_path, zoo, weak_probe
):
    result = run(_cfg(data), tmp_path / "run")
    record = _auto(result.run_dir)
    rows = record["table"]
    assert rows[0] == {**rows[0], "candidate": "probe", "epochs": 0, "score": 0.0}
    trials = rows[1:]
    assert {r["candidate"] for r in trials if r["rung"] == 0} == set(record["candidates"])
    assert len(record["candidates"]) == 2 and all(r["score"] is not None for r in trials)
    spent = sum(r["epochs"] for r in trials)
    assert spent == record["budget"]["trial_epochs"] <= 4  # every trial epoch counted
    best = max(trials, key=lambda r: (r["epochs"], r["score"]))
    assert record["winner"] == best["candidate"] and best["score"] > 0.0
    saved = RunConfig.load(result.run_dir / "config.yaml")
    assert (saved.transfer.strategy, saved.train.lr) == (best["strategy"], best["lr"])
    assert saved.train.epochs == 2
    # the winner's last trial trained the run's exact config: it is the run, not trained again
    assert record["final_run"] == "trial reused" and best["epochs"] == 2
    assert result.run_dir == tmp_path / "run"
    assert [r["epoch"] for r in result.history if r["epoch"] >= 1] == [1, 2]
    assert "test" in result.metrics  # the final run is evaluated on test, as any run
    assert (result.run_dir / "report.html").is_file()
    hidden = [p.name for p in result.run_dir.iterdir() if p.name.startswith(".")]
    assert hidden == [".lock"]  # no scratch left; the run's lock file stays (runs.claim)


def test_the_probe_wins_when_fine_tuning_does_not_beat_it(data, tmp_path, zoo):
    result = run(_cfg(data), tmp_path / "run")
    record = _auto(result.run_dir)
    probe = record["probe_accuracy"]
    assert record["strategy"] == "probe" and record["winner"] == "probe"
    assert all(r["score"] <= probe for r in record["table"][1:])  # ties go to the probe
    assert RunConfig.load(result.run_dir / "config.yaml").transfer.strategy == "probe"
    assert "probe" in result.metrics  # the probe's own run record
    assert result.metrics["val"]["accuracy"] == pytest.approx(probe)


def _without_seconds(record):
    return {**record, "table": [{**r, "seconds": None} for r in record["table"]]}


def test_poisoned_test_labels_change_nothing(tmp_path, zoo, weak_probe):
    clean = make_image_folder(tmp_path / "clean", per_class=6, splits=["train", "val", "test"])
    poisoned = tmp_path / "poisoned"
    shutil.copytree(clean, poisoned)
    test = poisoned / "test"
    for name in ("red", "green", "blue"):  # every test image now carries the next class's name
        (test / name).rename(test / f"{name}_old")
    for old, new in (("red", "green"), ("green", "blue"), ("blue", "red")):
        (test / f"{old}_old").rename(test / new)
    a = run(_cfg(clean), tmp_path / "a")
    b = run(_cfg(poisoned), tmp_path / "b")
    assert _without_seconds(_auto(a.run_dir)) == _without_seconds(_auto(b.run_dir))
    assert a.metrics["val"] == b.metrics["val"]
    assert a.metrics["test"]["loss"] != b.metrics["test"]["loss"]  # the poison was read, after


def test_every_trial_starts_from_the_pretrained_backbone(data, tmp_path, zoo):
    cfg = _cfg(data)
    prepared = prepare(cfg)
    initial = {k: v.clone() for k, v in prepared.backbone.state_dict().items()}
    seen = []

    def train(trial_cfg, out, trial_prepared):
        backbone = trial_prepared.backbone
        state = backbone.state_dict()
        seen.append(
            (
                trial_cfg.transfer.strategy,
                all(torch.equal(state[k], v) for k, v in initial.items()),
                all(p.requires_grad for p in backbone.parameters()),
                trial_prepared.splits.test is None,
            )
        )
        with torch.no_grad():  # what training does to it: weights, statistics, frozen flags
            for p in backbone.parameters():
                p.add_(1.0)
                p.requires_grad_(False)
            for m in backbone.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.add_(3.0)
        return RunResult(out, {"val": {"accuracy": 0.5}}, [], 0.0)

    trials = Trials(cfg, prepared, tmp_path / "scratch", train)
    head, full = candidate("head", 1e-3), candidate("full", 1e-3)
    assert trials.evaluate(head, 1) == 0.5
    trials.evaluate(full, 1)
    trials.evaluate(head, 1)  # asked again: not trained again
    trials.evaluate(full, 2)  # the run's own epochs: this trial may become the run
    assert seen == [
        ("head", True, True, True),
        ("full", True, True, True),
        ("full", True, True, False),  # it sees test as the final run would; nothing reads it
    ]
    assert trials.epochs_trained() == 4


class _Probe:
    feature_seconds, fit_seconds = 1.5, 0.25
    multilabel = False

    def val_score(self):
        return 0.4


def _fake_trials(cfg, tmp_path, calls):
    """Trials whose training is instant: the score grows with epochs and with full > gradual."""

    def train(trial_cfg, out, trial_prepared):
        calls.append((trial_cfg.transfer.strategy, trial_cfg.train.lr, trial_cfg.train.epochs))
        bonus = {"head": 0.0, "gradual": 0.1, "full": 0.2}[trial_cfg.transfer.strategy]
        score = 0.5 + bonus + 0.01 * trial_cfg.train.epochs
        return RunResult(out, {"val": {"accuracy": score}}, [], 0.0)

    return Trials(cfg, prepare(cfg), tmp_path / "scratch", train)


@pytest.mark.parametrize(("fit", "count", "most"), [(12, 4, 12), (1, 1, 1)])
def test_a_budget_in_minutes_times_one_epoch_and_reuses_it(
    data, tmp_path, zoo, monkeypatch, fit, count, most
):
    import transferkit.engine.auto_search as auto_search

    measured = []
    monkeypatch.setattr(
        auto_search,
        "epochs_for_minutes",
        lambda minutes, elapsed, seconds: measured.append(minutes) or fit,
    )
    cfg = _cfg(data, budget="2m", epochs=10)
    calls = []
    trials = _fake_trials(cfg, tmp_path, calls)
    chosen, record, _ = auto_search.search(cfg, trials.prepared, _Probe(), trials)
    assert measured == [2.0] and calls[0] == ("full", 1e-3, 1)  # the costliest, timed first
    assert len(record["candidates"]) == count
    assert record["budget"]["unit"] == "minutes" and record["budget"]["epochs"] == fit
    assert len(calls) == len(set(calls))  # the timed epoch is not trained again
    assert sum(epochs for *_, epochs in calls) == record["budget"]["trial_epochs"] <= most
    assert chosen.transfer.strategy == "full"
    assert record["table"][0]["candidate"] == "probe" and record["table"][0]["seconds"] == 1.75


@pytest.mark.parametrize("weak", [False, True])
def test_an_auto_run_builds_the_backbone_and_reads_the_data_once(
    data, tmp_path, zoo, monkeypatch, weak
):
    from transferkit.tasks import get_task

    if weak:
        monkeypatch.setattr(ProbeOutcome, "val_score", lambda self: 0.0)
    calls = {"create_backbone": 0, "load_data": 0}
    create, task = transferkit.zoo.create_backbone, get_task("classify")
    load = task.load_data

    def counted_create(*args, **kwargs):
        calls["create_backbone"] += 1
        return create(*args, **kwargs)

    def counted_load(*args, **kwargs):
        calls["load_data"] += 1
        return load(*args, **kwargs)

    monkeypatch.setattr(transferkit.zoo, "create_backbone", counted_create)
    monkeypatch.setattr(task, "load_data", counted_load)
    result = run(_cfg(data), tmp_path / "run")
    chosen = RunConfig.load(result.run_dir / "config.yaml").transfer.strategy
    assert (chosen != "probe") == weak
    assert calls == {"create_backbone": 1, "load_data": 1}


@pytest.mark.parametrize("task", ["detect", "segment", "instance"])
def test_auto_is_refused_up_front_for_tasks_other_than_classification(
    data, tmp_path, zoo, monkeypatch, task
):
    import transferkit.engine.run as engine_run

    def no_work(cfg):
        raise AssertionError("the backbone was built / the data read before the refusal")

    monkeypatch.setattr(engine_run, "prepare", no_work)
    with pytest.raises(ConfigError, match="'auto' is for classification") as caught:
        run(_cfg(data).with_values(task=task), tmp_path / "run")
    assert "--strategy head" in caught.value.hint
    assert not (tmp_path / "run").exists()


def test_a_trial_is_scored_on_its_trained_epochs_not_on_the_probe_it_started_from():
    from types import SimpleNamespace

    from transferkit.engine.auto_search import fine_tuned_score

    history = [
        {"epoch": 0, "accuracy": 0.9},
        {"epoch": 1, "accuracy": 0.5},
        {"epoch": 2, "accuracy": 0.6},
    ]
    result = SimpleNamespace(history=history, metrics={"val": {"accuracy": 0.9}})
    assert fine_tuned_score(result, "accuracy") == 0.6
    no_epochs = SimpleNamespace(history=history[:1], metrics={"val": {"accuracy": 0.9}})
    assert fine_tuned_score(no_epochs, "accuracy") == 0.9
