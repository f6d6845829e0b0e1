"""One split seed, one name: ``--split-seed`` carves train/val/test the same way in ``train``,
``data check`` and ``compare``; ``--seed`` stays the training seed."""

from __future__ import annotations

import pytest

import transferkit.api as api
from tests.engine.conftest import make_image_folder
from transferkit.cli.main import main
from transferkit.core.config import RunConfig

SMALL = ["--backbone", "timm:resnet18", "--weights", "none", "--epochs", "1", "--img-size", "32"]


def test_train_and_data_check_take_the_same_split_seed(tmp_path, monkeypatch, capsys):
    data = make_image_folder(tmp_path / "data", per_class=6)
    out = tmp_path / "run"
    argv = ["train", "--data", str(data), *SMALL, "--quiet", "--out", str(out)]
    assert main([*argv, "--split-seed", "7", "--seed", "3"]) == 0
    cfg = RunConfig.load(out / "config.yaml")
    assert (cfg.data.split_seed, cfg.train.seed) == (7, 3)

    seen = {}
    real = api.check_dataset

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "check_dataset", spy)
    assert main(["data", "check", str(data), "--split-seed", "7"]) == 0
    assert seen["seed"] == cfg.data.split_seed


def test_compare_passes_the_split_seed_to_every_run(tmp_path, monkeypatch):
    got = {}

    def fake_compare(data, strategies, **kwargs):
        got.update(kwargs)
        return []

    monkeypatch.setattr(api, "compare", fake_compare)
    argv = ["compare", "--data", str(tmp_path), "--strategies", "head", "--out", str(tmp_path)]
    assert main([*argv, "--split-seed", "5", "--seed", "2"]) == 0
    assert got["split_seed"] == 5 and got["seed"] == 2


def test_train_help_says_what_each_seed_sets(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "training seed" in text and "--split-seed" in text
