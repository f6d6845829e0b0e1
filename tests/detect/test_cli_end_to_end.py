"""train -> evaluate -> predict -> draw -> evaluate --predictions, through the CLI, on new data."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from transferkit.cli.main import main
from transferkit.data.demo.scenes import write_scenes
from transferkit.tasks.common.coco_eval import evaluate_coco

from .test_coco_eval import _pycocotools


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    data = write_scenes(root / "scenes", n_train=6, n_val=4, n_test=0, seed=3)
    run = root / "run"
    args = "--backbone timm:mobilenetv3_small_050 --weights none --strategy full --epochs 1"
    args += " --img-size 64 --batch-size 3 --quiet"
    code = main(
        ["train", "--task", "detect", "--data", str(data), "--out", str(run), *args.split()]
    )
    assert code == 0
    return data, run


def test_run_directory_and_metrics(trained):
    _, run = trained
    metrics = json.loads((run / "metrics.json").read_text())
    keys = {"map", "map_50", "map_75", "map_small", "map_medium", "map_large"}
    assert keys <= set(metrics["val"])
    assert 0.0 <= metrics["map"] <= 1.0
    assert set(metrics["ci"]) == {"map", "map_50", "map_75"}  # 95 % bootstrap over val images
    assert metrics["ci_settings"]["resamples"] == 200
    data = json.loads((run / "data.json").read_text())
    assert data["category_ids"] == [1, 2, 3, 4, 5] and data["img_size"] == 64
    assert "map" in (run / "history.csv").read_text().splitlines()[0]
    # The final evaluation's detections, per image and as a COCO results file.
    rows = [
        json.loads(line) for line in (run / "predictions" / "val.jsonl").read_text().splitlines()
    ]
    assert len(rows) == 4 and all(r["file"].endswith((".png", ".jpg")) for r in rows)
    coco = json.loads((run / "predictions" / "val.coco.json").read_text())
    assert coco == [d for r in rows for d in r["results"]]
    assert {d["image_id"] for d in coco} <= {r["image_id"] for r in rows}


def test_evaluate_run_matches_training_metrics(trained, capsys):
    _, run = trained
    assert main(["evaluate", str(run), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    stored = json.loads((run / "metrics.json").read_text())
    assert out["split"] == "val" and out["map"] == pytest.approx(stored["map"], abs=1e-9)


def test_predict_draw_and_score_predictions_like_pycocotools(trained, tmp_path, capsys):
    data, run = trained
    results = tmp_path / "results.json"
    draw = tmp_path / "drawn"
    options = ["--out", str(results), "--draw", str(draw), "--score-threshold", "0.0"]
    code = main(["predict", str(run), str(data / "val"), *options])
    assert code == 0
    entries = json.loads(results.read_text())
    assert entries and {"image_id", "category_id", "bbox", "score", "file_name"} <= set(entries[0])
    drawn = sorted(p.name for p in draw.iterdir())
    assert drawn == [f"scene_{i:04d}.png" for i in range(1, 5)]
    original = Image.open(data / "val" / "scene_0001.png").convert("RGB")
    assert Image.open(draw / "scene_0001.png").size == original.size
    capsys.readouterr()
    gt_file = data / "val" / "_annotations.coco.json"
    options = ["--data", str(gt_file), "--predictions", str(results), "--json"]
    assert main(["evaluate", "--task", "detect", *options]) == 0
    ours = json.loads(capsys.readouterr().out)
    gt = json.loads(gt_file.read_text())
    # The written image ids follow the input order, which is the annotation order here; the
    # reference scores the same file with pycocotools directly.
    for r in entries:
        r.pop("file_name")
    ref = _pycocotools(gt, entries)
    assert ours["map"] == pytest.approx(ref.stats[0], abs=1e-6)
    assert ours["map_50"] == pytest.approx(ref.stats[1], abs=1e-6)
    assert ours["images"] == 4 and ours["detections"] == len(entries)
    assert evaluate_coco(gt, entries)["map"] == pytest.approx(ref.stats[0], abs=1e-6)


def test_evaluate_predictions_bad_file_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[{]")
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    code = main(["evaluate", "--task", "detect", "--data", str(gt), "--predictions", str(bad)])
    assert code == 2 and "bad.json:1:" in capsys.readouterr().err
