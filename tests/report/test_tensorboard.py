"""TensorBoard event logs beside history.csv: read back with TensorBoard's own reader."""

from __future__ import annotations

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from transferkit.engine.tensorboard_log import EpochLog, scalar_tags
from transferkit.runs.rundir import RunDir


def _scalars(logdir) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(logdir))
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def test_training_logs_every_history_column(trained_run):
    run, _ = trained_run
    history = RunDir(run).read_history()
    scalars = _scalars(run / "tensorboard")
    assert {"loss/train", "loss/val", "metrics/accuracy", "lr/head", "lr/stage0"} <= set(scalars)
    for tag, column in (
        ("loss/train", "train_loss"),
        ("metrics/accuracy", "accuracy"),
        ("lr/head", "lr_head"),
        ("run/trainable_parameters", "trainable_parameters"),
    ):
        assert [s for s, _ in scalars[tag]] == [row["epoch"] for row in history]
        assert [v for _, v in scalars[tag]] == pytest.approx(
            [row[column] for row in history], rel=1e-6
        )


def test_tags_and_resume_keep_one_curve(tmp_path):
    row = {
        "epoch": 1,
        "train_loss": 0.5,
        "val_loss": float("nan"),
        "map": -1.0,
        "lr_head": 0.1,
        "seconds": 2.0,
        "note": "text",
        "flag": True,
    }
    assert scalar_tags(row) == {
        "loss/train": 0.5,
        "metrics/map": -1.0,
        "lr/head": 0.1,
        "run/seconds": 2.0,
    }
    first = EpochLog(tmp_path)
    for epoch in (1, 2, 3):
        first.log({"epoch": epoch, "train_loss": 1.0 / epoch})
    first.close()
    # Resuming after epoch 1: the events the interrupted attempt wrote for epochs 2-3 are dropped.
    resumed = EpochLog(tmp_path, first_epoch=2)
    for epoch in (2, 3):
        resumed.log({"epoch": epoch, "train_loss": 10.0 * epoch})
    resumed.close()
    assert _scalars(tmp_path / "tensorboard")["loss/train"] == [(1, 1.0), (2, 20.0), (3, 30.0)]
    off = EpochLog(tmp_path / "other", enabled=False)
    off.log({"epoch": 1, "train_loss": 1.0})
    off.close()
    assert not (tmp_path / "other").exists()
