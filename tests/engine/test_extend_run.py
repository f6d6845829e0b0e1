"""Extending a finished run: ``train --resume RUNDIR --epochs N`` with N above the run's epochs.

The extended run continues as if it had been set up for N epochs from the start: its later epochs
get the learning rate and trainable stages of a fresh N-epoch run, its history keeps the first
rows, and config, plan, checkpoints and metrics are rewritten for N.
"""

from __future__ import annotations

import json

import pytest

import transferkit.api as api
from tests.engine.conftest import make_image_folder
from transferkit.cli.main import main
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.runs.rundir import RunDir

SETTINGS = dict(
    backbone="tiny",
    weights="none",
    strategy="gradual",
    batch_size=8,
    lr=1e-2,
    patience=None,
    quiet=True,
    img_size=32,
    warmup_epochs=0.5,
)


def _trained(rows):
    """The rows of trained epochs (not the epoch-0 row of a probe-initialised head)."""
    return [r for r in rows if r["epoch"] >= 1]


@pytest.fixture
def data(tmp_path):
    return make_image_folder(tmp_path / "data", per_class=8)


@pytest.fixture
def two_epochs(data, tiny_zoo, tmp_path):
    return api.fit(data, tmp_path / "run", epochs=2, **SETTINGS).run_dir


def test_extending_continues_the_schedule_and_the_plan(data, two_epochs, tmp_path):
    before = RunDir(two_epochs).read_history()
    result = api.fit(out=two_epochs, resume=True, epochs=4)
    history = RunDir(two_epochs).read_history()
    assert history[: len(before)] == before  # the rows of the first epochs are kept as they were
    rows = _trained(history)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    straight = _trained(api.fit(data, tmp_path / "straight", epochs=4, **SETTINGS).history)
    for extended, fresh in zip(rows[2:], straight[2:]):
        # Epochs 3-4 get the LR per group and the trainable stages of a fresh 4-epoch run.
        for key in [k for k in fresh if k.startswith("lr_")] + ["trainable_parameters"]:
            assert extended[key] == pytest.approx(fresh[key]), key
    # Gradual unfreezing carries on: more trains in epoch 4 than in epoch 2.
    assert rows[3]["trainable_parameters"] > rows[1]["trainable_parameters"]
    assert rows[2]["lr_head"] > rows[3]["lr_head"] > 0  # cosine towards zero at the new end
    plan = json.loads((two_epochs / "plan.json").read_text())
    assert plan["epochs"] == 4
    assert all(len(g["trainable_by_epoch"]) == 4 for g in plan["groups"])
    assert RunConfig.load(two_epochs / "config.yaml").train.epochs == 4
    last = json.loads((two_epochs / "checkpoints/last.json").read_text())
    assert last["epoch"] == 4
    metrics = json.loads((two_epochs / "metrics.json").read_text())
    assert metrics["train_seconds"] == result.metrics["train_seconds"]
    assert metrics["accuracy"] == pytest.approx(result.metrics["accuracy"])


def test_plain_resume_of_a_finished_run_adds_no_epoch(two_epochs):
    result = api.fit(out=two_epochs, resume=True)
    assert [r["epoch"] for r in _trained(result.history)] == [1, 2]
    assert RunConfig.load(two_epochs / "config.yaml").train.epochs == 2


@pytest.mark.parametrize("epochs", [2, 1])
def test_epochs_not_above_the_runs_are_refused(two_epochs, epochs):
    with pytest.raises(ConfigError, match="set up for 2") as info:
        api.fit(out=two_epochs, resume=True, epochs=epochs)
    assert "--epochs above 2" in info.value.hint
    assert RunConfig.load(two_epochs / "config.yaml").train.epochs == 2


def test_other_settings_with_resume_are_refused(two_epochs):
    with pytest.raises(ConfigError, match="also given: lr"):
        api.fit(out=two_epochs, resume=True, epochs=4, lr=0.1)


def test_a_probe_run_has_no_epochs_to_extend(data, tiny_zoo, tmp_path):
    settings = {**SETTINGS, "strategy": "probe"}
    run = api.fit(data, tmp_path / "probe", epochs=1, **settings).run_dir
    with pytest.raises(ConfigError, match="probe run"):
        api.fit(out=run, resume=True, epochs=3)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [(["--epochs", "2"], "set up for 2"), (["--lr", "0.5"], "also given: lr")],
)
def test_the_cli_refuses_with_one_line_and_a_hint(capsys, two_epochs, extra, needle):
    code = main(["train", "--resume", str(two_epochs), *extra])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and needle in lines[0]
    assert lines[1].startswith("hint: ")


def test_the_cli_extends_a_run(capsys, two_epochs):
    assert main(["train", "--resume", str(two_epochs), "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "extending the run from 2 to 3 epochs" in out, out
    assert [r["epoch"] for r in _trained(RunDir(two_epochs).read_history())] == [1, 2, 3]
