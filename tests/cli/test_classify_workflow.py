"""train → evaluate → predict → plan from the command line, on an image folder made here."""

from __future__ import annotations

import csv
import json

import pytest

from tests.engine.conftest import make_image_folder
from transferkit.cli.main import main

SMALL = [
    "--backbone",
    "timm:resnet18",
    "--weights",
    "none",
    "--img-size",
    "32",
    "--batch-size",
    "8",
    "--quiet",
    "--lr",
    "3e-3",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("cls")
    return make_image_folder(root / "data", per_class=10, splits=["train", "val", "test"])


@pytest.mark.parametrize("strategy", ["head", "partial:2", "gradual", "full"])
def test_train_evaluate_predict_each_strategy(strategy, folder, tmp_path, capsys):
    run = tmp_path / "run"
    epochs = "4" if strategy == "full" else "2"
    argv = ["train", "--data", str(folder), "--strategy", strategy, "--epochs", epochs]
    assert main([*argv, "--out", str(run), *SMALL]) == 0
    out = capsys.readouterr().out
    assert "Freeze plan: strategy " + strategy in out
    plan = json.loads((run / "plan.json").read_text())
    trainable = {g["group"]: g["trainable_by_epoch"][0] for g in plan["groups"]}
    # gradual's head starts from the probe (--init auto), so its deepest stage trains from epoch 1
    expected_layer4 = strategy in ("partial:2", "full", "gradual")
    assert trainable["layer4"] is expected_layer4 and trainable["head"] is True
    assert trainable["layer3"] is (strategy in ("partial:2", "full"))
    assert trainable["stem"] is (strategy == "full")

    assert main(["evaluate", str(run), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["split"] == "test" and metrics["num_samples"] == 30
    assert 0 <= metrics["accuracy"] <= 1 and "top5_accuracy" not in metrics  # 3 classes < 5
    assert metrics["accuracy"] == pytest.approx(
        json.loads((run / "metrics.json").read_text())["test"]["accuracy"]
    )

    if strategy == "full":  # the one run long enough to learn: its predictions must be right
        out_json = tmp_path / "p.json"
        assert main(["predict", str(run), str(folder / "test"), "--out", str(out_json)]) == 0
        preds = json.loads(out_json.read_text())
        correct = sum(p["label"] == p["path"].split("/")[-2] for p in preds)
        assert correct / len(preds) >= 0.8
        assert all(abs(p["top_k"][0]["score"] - p["score"]) < 1e-9 for p in preds)

    preds = tmp_path / "preds.csv"
    assert (
        main(
            ["predict", str(run), str(folder / "test" / "red"), "--top-k", "2", "--out", str(preds)]
        )
        == 0
    )
    rows = list(csv.DictReader(preds.open()))
    assert len(rows) == 20 and {r["rank"] for r in rows} == {"1", "2"}
    assert {r["label"] for r in rows} <= {"red", "green", "blue"}


def test_evaluate_on_other_data_and_bad_split(folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                str(folder),
                "--strategy",
                "head",
                "--epochs",
                "1",
                "--out",
                str(run),
                *SMALL,
            ]
        )
        == 0
    )
    other = make_image_folder(tmp_path / "other", per_class=5, seed=7)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(other), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["split"] == "val" and metrics["num_samples"] == 3  # 20% of 15, stratified
    wrong = make_image_folder(tmp_path / "wrong", classes=("red", "grey"), per_class=5)
    assert main(["evaluate", str(run), "--data", str(wrong)]) == 2
    assert "grey" in capsys.readouterr().err
    assert main(["evaluate", str(run), "--data", str(other), "--split", "test"]) == 2
    assert "no 'test' split" in capsys.readouterr().err


def test_plan_counts_parameters_independently(capsys):
    import timm

    assert (
        main(
            [
                "plan",
                "--backbone",
                "timm:resnet18",
                "--strategy",
                "partial:1",
                "--num-classes",
                "7",
                "--json",
            ]
        )
        == 0
    )
    plan = json.loads(capsys.readouterr().out)
    ref = timm.create_model("resnet18", pretrained=False, num_classes=0)
    layer4 = sum(p.numel() for p in ref.layer4.parameters())
    head = 512 * 7 + 7
    groups = {g["group"]: g for g in plan["groups"]}
    assert groups["layer4"]["parameters"] == layer4
    assert groups["head"]["parameters"] == head
    assert plan["total_parameters"] == sum(p.numel() for p in ref.parameters()) + head
    trainable = sum(g["parameters"] for g in plan["groups"] if g["trainable_by_epoch"][0])
    assert trainable == layer4 + head


def test_plan_gradual_shows_epochs(capsys):
    assert (
        main(["plan", "--backbone", "timm:resnet18", "--strategy", "gradual", "--epochs", "6"]) == 0
    )
    out = capsys.readouterr().out
    assert "epochs trainable" in out and "layer4" in out and ".TTTTT" in out
