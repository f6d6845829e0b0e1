"""--strategy auto: the decision table, and the choice recorded in a real run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import transferkit.zoo
from tests.tiny import TinyBackbone
from transferkit.core.config import RunConfig
from transferkit.engine.run import run
from transferkit.transfer.auto import decide


@pytest.mark.parametrize(
    ("per_class", "classes", "acc", "expected"),
    [
        (5, 10, 0.99, "probe"),  # too few images whatever the features
        (200, 10, 0.95, "probe"),  # quality (0.95 - 0.1) / 0.9 = 0.944 >= 0.9
        (200, 2, 0.94, "gradual"),  # quality (0.94 - 0.5) / 0.5 = 0.88 < 0.9
        (20, 10, 0.5, "head"),  # features fair, few images: keep the backbone frozen
        (20, 10, None, "head"),  # no validation split: only the counts speak
        (100, 10, 0.2, "gradual"),  # poor features but not enough data to move everything
        (1000, 10, 0.7, "gradual"),  # quality 0.667 >= 0.5
        (1000, 10, 0.4, "full"),  # quality 0.333: far domain, plenty of data
    ],
)
def test_decision_table(per_class, classes, acc, expected):
    strategy, reason = decide(per_class, classes, acc)
    assert strategy == expected
    assert f"{per_class:g}" in reason or "quality" in reason


class BlindBackbone(TinyBackbone):
    """Features that ignore the image: the probe stays at chance."""

    def forward_pooled(self, x):
        return super().forward_pooled(torch.zeros_like(x))


@pytest.fixture
def zoo(monkeypatch):
    chosen = {}

    def create_backbone(name, weights="auto", **kwargs):
        torch.manual_seed(0)
        return BlindBackbone() if name == "blind" else TinyBackbone()

    monkeypatch.setattr(transferkit.zoo, "create_backbone", create_backbone, raising=False)
    return chosen


@pytest.fixture
def colours(tmp_path):
    rng = np.random.default_rng(0)
    for name, rgb in {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}.items():
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(16):
            img = np.clip(np.array(rgb) + rng.normal(0, 40, (32, 32, 3)), 0, 255)
            Image.fromarray(img.astype(np.uint8)).save(tmp_path / "data" / name / f"{i}.png")
    return tmp_path / "data"


def _cfg(data, backbone):
    return RunConfig().with_values(
        path=str(data),
        backbone=backbone,
        strategy="auto",
        val_fraction=0.25,
        epochs=1,
        batch_size=16,
        quiet=True,
    )


def test_auto_picks_the_probe_for_separable_features_and_runs_it(colours, tmp_path, zoo):
    result = run(_cfg(colours, "tiny"), tmp_path / "run")
    record = json.loads((result.run_dir / "auto.json").read_text())
    assert record["strategy"] == "probe" and record["images_per_class"] == 12
    assert record["probe_accuracy"] == pytest.approx(result.metrics["val"]["accuracy"])
    assert RunConfig.load(result.run_dir / "config.yaml").transfer.strategy == "probe"
    assert "probe" in result.metrics  # the probe's own run record, not a fine-tuning history


def test_auto_keeps_the_backbone_frozen_when_features_fail_on_little_data(colours, tmp_path, zoo):
    result = run(_cfg(colours, "blind"), tmp_path / "run")
    record = json.loads((result.run_dir / "auto.json").read_text())
    assert record["probe_accuracy"] == pytest.approx(1 / 3)  # constant features: one class wins
    assert record["strategy"] == "head" and "12 images per class" in record["reason"]
    assert RunConfig.load(result.run_dir / "config.yaml").transfer.strategy == "head"
    assert len(result.history) == 1
    assert result.history[0]["trainable_parameters"] == 32 * 3 + 3  # the head only


@pytest.mark.parametrize(("backbone", "chosen"), [("tiny", "probe"), ("blind", "head")])
def test_an_auto_run_builds_the_backbone_and_reads_the_data_once(
    colours, tmp_path, zoo, monkeypatch, backbone, chosen
):
    from transferkit.tasks import get_task

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
    result = run(_cfg(colours, backbone), tmp_path / "run")
    assert RunConfig.load(result.run_dir / "config.yaml").transfer.strategy == chosen
    assert calls == {"create_backbone": 1, "load_data": 1}


@pytest.mark.parametrize("task", ["detect", "segment", "instance"])
def test_auto_is_refused_up_front_for_tasks_other_than_classification(
    colours, tmp_path, zoo, monkeypatch, task
):
    import transferkit.engine.run as engine_run
    from transferkit.core.errors import ConfigError

    def no_work(cfg):
        raise AssertionError("the backbone was built / the data read before the refusal")

    monkeypatch.setattr(engine_run, "prepare", no_work)
    with pytest.raises(ConfigError, match="'auto' is for classification") as caught:
        run(_cfg(colours, "tiny").with_values(task=task), tmp_path / "run")
    assert "--strategy head" in caught.value.hint
    assert not (tmp_path / "run").exists()
