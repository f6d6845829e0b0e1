"""compare: one run per strategy with the same budget, a table and a plot."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

import transferkit.zoo
from tests.tiny import TinyBackbone
from transferkit.cli.main import main
from transferkit.core.errors import ConfigError
from transferkit.engine.compare import compare, parse_strategies


@pytest.fixture
def zoo(monkeypatch):
    calls = []

    def create_backbone(name, weights="auto", **kwargs):
        calls.append(weights)
        torch.manual_seed(0 if weights != "none" else 1)
        return TinyBackbone()

    monkeypatch.setattr(transferkit.zoo, "create_backbone", create_backbone, raising=False)
    return calls


@pytest.fixture
def colours(tmp_path):
    rng = np.random.default_rng(0)
    for name, rgb in {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}.items():
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(8):
            img = np.clip(np.array(rgb) + rng.normal(0, 40, (32, 32, 3)), 0, 255)
            Image.fromarray(img.astype(np.uint8)).save(tmp_path / "data" / name / f"{i}.png")
    return tmp_path / "data"


def test_parse_strategies_accepts_the_known_ones_and_suggests_for_typos():
    assert parse_strategies("probe, head,partial:2,probe") == ["probe", "head", "partial:2"]
    with pytest.raises(ConfigError, match="Did you mean 'gradual'"):
        parse_strategies("probe,gradul")


def test_compare_runs_each_strategy_and_writes_table_and_plot(colours, tmp_path, zoo):
    out = tmp_path / "cmp"
    rows = compare(
        colours,
        "probe,head",
        backbone="tiny",
        epochs=1,
        with_scratch=True,
        out=out,
        val_fraction=0.25,
        batch_size=8,
        quiet=True,
    )
    assert [r["strategy"] for r in rows] == ["probe", "head", "scratch"]
    assert [r["weights"] for r in rows] == ["auto", "auto", "none"]
    head_params = 32 * 3 + 3
    all_params = sum(p.numel() for p in TinyBackbone().parameters()) + head_params
    assert [r["trainable_parameters"] for r in rows] == [head_params, head_params, all_params]
    for row in rows:  # each row is the run's own final metric
        saved = json.loads((tmp_path / "cmp" / row["strategy"] / "metrics.json").read_text())
        assert row["accuracy"] == saved["accuracy"] and row["macro_f1"] == saved["macro_f1"]
        assert row["evaluated_split"] == "val"
    with open(out / "compare.csv", newline="") as f:
        assert [r["strategy"] for r in csv.DictReader(f)] == ["probe", "head", "scratch"]
    saved = json.loads((out / "compare.json").read_text())
    assert saved["rows"] == rows
    for row in rows:  # intervals around each metric; "better than" names only other runs
        assert row["accuracy_low"] <= row["accuracy"] <= row["accuracy_high"]
        assert row["strategy"] not in row["better_than"]
    assert [(p["a"], p["b"]) for p in saved["pairs"]] == [
        ("probe", "head"),
        ("probe", "scratch"),
        ("head", "scratch"),
    ]
    assert all(p["test"]["images"] == 6 for p in saved["pairs"])  # the same 6 val images
    # 6 images cannot show a difference at p < 0.05: no winner is claimed.
    assert "no winner" in saved["verdict"]
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_compare_rejects_an_unknown_strategy_before_running(colours, capsys, zoo):
    assert main(["compare", "--data", str(colours), "--strategies", "probe,fulll"]) == 2
    assert "Did you mean 'full'" in capsys.readouterr().err
    assert zoo == []  # nothing was built


def test_cli_compare_prints_intervals_and_the_verdict(colours, tmp_path, capsys, zoo):
    out = tmp_path / "cmp"
    args = ["compare", "--data", str(colours), "--strategies", "probe,head", "--epochs", "1"]
    args += ["--backbone", "tiny", "--out", str(out), "--val-fraction", "0.25", "--quiet"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "better than" in text and "[1.000" in text  # all right on 6 images: [1.000, 1.000]
    assert json.loads((out / "compare.json").read_text())["verdict"] in text
    assert "McNemar mid-p on the same images, Holm-adjusted" in text
