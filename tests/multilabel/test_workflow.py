"""train -> evaluate -> predict -> export -> predict with the ONNX file, for ``--task multilabel``,
on 32 px images and a random-init ResNet-18 (the logic, not the accuracy, is under test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tests.multilabel.helpers import make_csv
from transferkit.cli.main import main

SMALL = ["--backbone", "timm:resnet18", "--weights", "none", "--img-size", "32",
         "--batch-size", "8", "--quiet"]  # fmt: skip


def _train(data: Path, out: Path, *extra: str) -> dict:
    argv = ["train", "--task", "multilabel", "--data", str(data), "--out", str(out), *SMALL]
    assert main([*argv, *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def _thresholds(run: Path) -> list[float]:
    return load_file(str(run / "checkpoints" / "best.safetensors"))["net.thresholds"].tolist()


@pytest.fixture(scope="module")
def probe_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ml")
    data = make_csv(root / "data", n=32, splits=True)
    run = root / "run"
    _train(data, run, "--strategy", "probe")
    return data, run


def test_probe_run_stores_val_thresholds_and_judges_test_by_them(probe_run):
    _, run = probe_run
    metrics = json.loads((run / "metrics.json").read_text())
    stored = _thresholds(run)
    names = json.loads((run / "classes.json").read_text())["class_names"]
    for split in ("val", "test"):
        got = [metrics[split]["per_label"][n]["threshold"] for n in names]
        assert got == pytest.approx(stored)
    assert metrics["evaluated_split"] == "test" and 0 <= metrics["map_macro"] <= 1
    for key in ("map_micro", "f1_macro", "f1_micro", "exact_match", "hamming_loss"):
        assert key in metrics["test"]
    assert {"ap", "precision", "recall", "support"} <= set(metrics["test"]["per_label"]["red"])


def test_thresholds_chosen_on_val_never_see_test(tmp_path):
    a = make_csv(tmp_path / "a", n=32, splits=True)
    b = make_csv(tmp_path / "b", n=32, splits=True)
    lines = b.read_text().splitlines()  # the same images; the test rows lose their labels
    lines = [ln.rsplit(",", 2)[0] + ",," + "test" if ln.endswith(",test") else ln for ln in lines]
    b.write_text("\n".join(lines) + "\n")
    ma = _train(a, tmp_path / "ra", "--strategy", "probe")
    mb = _train(b, tmp_path / "rb", "--strategy", "probe")
    assert _thresholds(tmp_path / "ra") == pytest.approx(_thresholds(tmp_path / "rb"))
    assert ma["val"]["f1_macro"] == pytest.approx(mb["val"]["f1_macro"])
    assert ma["test"]["hamming_loss"] != pytest.approx(mb["test"]["hamming_loss"])


def test_a_label_set_round_trips_through_predict_and_the_onnx_sidecar(probe_run, tmp_path, capsys):
    data, run = probe_run
    images = data.parent / "images"
    out = tmp_path / "p.json"
    assert main(["predict", str(run), str(images), "--out", str(out)]) == 0
    from_run = json.loads(out.read_text())
    stored = dict(
        zip(json.loads((run / "classes.json").read_text())["class_names"], _thresholds(run))
    )
    for p in from_run:
        expected = {n for n, s in p["scores"].items() if s >= stored[n]}
        assert set(p["labels"]) == expected
    assert any(p["labels"] for p in from_run)
    capsys.readouterr()
    assert main(["predict", str(run), str(images / "000.png")]) == 0  # the table on the console
    shown = capsys.readouterr().out
    assert "labels (score)" in shown and "000.png" in shown

    onnx = tmp_path / "model.onnx"
    assert main(["export", str(run), "--out", str(onnx)]) == 0
    sidecar = json.loads((tmp_path / "model.onnx.json").read_text())
    assert sidecar["task"] == "multilabel"
    assert sidecar["decision"]["thresholds"] == pytest.approx(list(stored.values()))
    out2 = tmp_path / "p2.json"
    assert main(["predict", str(onnx), str(images), "--out", str(out2)]) == 0
    from_onnx = json.loads(out2.read_text())
    assert [p["labels"] for p in from_onnx] == [p["labels"] for p in from_run]
    for a, b in zip(from_run, from_onnx, strict=True):
        assert b["scores"] == pytest.approx(a["scores"], abs=1e-4)


def test_evaluate_scores_a_predictions_csv_from_any_tool(probe_run, tmp_path, capsys):
    data, run = probe_run
    out = tmp_path / "scores.csv"
    assert main(["predict", str(run), str(data.parent / "images"), "--out", str(out)]) == 0
    capsys.readouterr()
    argv = ["evaluate", "--task", "multilabel", "--data", str(data), "--predictions", str(out)]
    assert main([*argv, "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["num_samples"] == 32 and metrics["images_without_prediction"] == 0
    assert 0 <= metrics["map_macro"] <= 1 and "per_label" in metrics

    assert main(["evaluate", str(run), "--json"]) == 0  # the run on its own test split
    again = json.loads(capsys.readouterr().out)
    saved = json.loads((run / "metrics.json").read_text())["test"]
    assert again["split"] == "test" and again["f1_macro"] == pytest.approx(saved["f1_macro"])


def test_lpft_with_class_weights_trains_and_reports(tmp_path):
    data = make_csv(tmp_path / "data", n=24, splits=True)
    run = tmp_path / "run"
    metrics = _train(data, run, "--strategy", "head", "--epochs", "1", "--class-weights", "auto")
    summary = json.loads((run / "data.json").read_text())
    train_rows = [ln for ln in data.read_text().splitlines() if ln.endswith(",train")]
    red = sum(1 for ln in train_rows if "red" in ln.split(",")[1])
    assert summary["class_weights"]["red"] == pytest.approx((len(train_rows) - red) / red)
    history = (run / "history.csv").read_text().splitlines()
    assert history[1].startswith("0,")  # epoch 0: the probe's head (LP-FT)
    assert "map_macro" in history[0] and metrics["evaluated_split"] == "test"
    report = (run / "report.html").read_text()
    assert "Labels: average precision" in report and "largest errors" in report
