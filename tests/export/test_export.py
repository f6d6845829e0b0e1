"""ONNX export: parity with PyTorch in onnxruntime, the sidecar, predict from the .onnx file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from torch import nn

from tests.export.helpers import make_run, write_images
from transferkit.api import predict
from transferkit.cli.main import main
from transferkit.core.errors import ConfigError, ExportError
from transferkit.export import export
from transferkit.export.onnx_export import sidecar_path
from transferkit.tasks import get_task
from transferkit.tasks.classify.export import onnx_spec as classify_spec

SIZES = ((40, 30), (32, 48), (64, 64), (23, 90))


@pytest.fixture(scope="module")
def classify_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("classify")
    run = make_run(root / "run", "classify")
    model = export(run, dynamic_batch=True)
    return run, model, write_images(root / "images", SIZES)


def test_classify_export_records_parity_and_preprocessing(classify_export):
    run, model, _ = classify_export
    meta = json.loads(sidecar_path(model).read_text())
    classes = json.loads((run / "classes.json").read_text())
    assert model == run / "model.onnx"
    assert meta["task"] == "classify" and meta["class_names"] == ["cat", "dog", "fox"]
    assert meta["preprocessing"]["mean"] == classes["data_config"]["mean"]
    assert meta["preprocessing"]["std"] == classes["data_config"]["std"]
    # img_size 32 with crop_pct 0.875: resize the shorter side to floor(32 / 0.875) = 36, crop 32.
    assert meta["preprocessing"]["resize"]["shorter_side"] == 36
    assert meta["preprocessing"]["center_crop"] == [32, 32]
    assert meta["parity"]["inputs"] == [[2, 3, 32, 32], [3, 3, 32, 32]]
    assert 0 <= meta["parity"]["max_abs_diff"]["logits"] <= 1e-4
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", 3, 32, 32]
    x = np.random.default_rng(0).normal(size=(5, 3, 32, 32)).astype(np.float32)
    assert session.run(None, {"input": x})[0].shape == (5, 3)


def test_predict_onnx_gives_the_pytorch_predictions(classify_export):
    run, model, images = classify_export
    torch_preds = predict(run, images, top_k=3)
    onnx_preds = predict(model, images, top_k=3)
    assert [p["path"] for p in onnx_preds] == [p["path"] for p in torch_preds]
    for a, b in zip(torch_preds, onnx_preds, strict=True):
        assert [t["label"] for t in a["top_k"]] == [t["label"] for t in b["top_k"]]
        assert [t["score"] for t in b["top_k"]] == pytest.approx(
            [t["score"] for t in a["top_k"]], abs=1e-5
        )


def test_exported_model_runs_without_transferkit(classify_export, tmp_path):
    run, model, images = classify_export
    script = Path(__file__).with_name("standalone_classify.py")
    done = subprocess.run(
        [sys.executable, str(script), str(model), *map(str, images)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    standalone = json.loads(done.stdout)
    reference = predict(run, images)
    assert [s["label"] for s in standalone] == [r["label"] for r in reference]
    assert [s["score"] for s in standalone] == pytest.approx(
        [r["score"] for r in reference], abs=1e-4
    )


def test_cli_export_prints_the_difference_and_predicts_from_onnx(classify_export, tmp_path, capsys):
    run, _, images = classify_export
    out = tmp_path / "sub" / "fixed.onnx"
    assert main(["export", str(run), "--out", str(out), "--opset", "13"]) == 0
    printed = capsys.readouterr().out
    assert "max abs diff logits" in printed and str(out) in printed
    meta = json.loads(sidecar_path(out).read_text())
    assert meta["opset"] == 13 and meta["dynamic_batch"] is False
    assert meta["parity"]["inputs"] == [[1, 3, 32, 32]]
    csv_out = tmp_path / "preds.csv"
    args = ["predict", str(out), *map(str, images), "--top-k", "2", "--out", str(csv_out)]
    assert main(args) == 0
    lines = csv_out.read_text().splitlines()
    assert lines[0] == "path,rank,label,score" and len(lines) == 1 + 2 * len(images)


class _BakesInAValue(nn.Module):
    """Adds the mean of its input as a Python float: tracing freezes the traced input's mean."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x) + float(x.mean())


def test_export_fails_when_onnxruntime_disagrees(tmp_path, monkeypatch, capsys):
    run = make_run(tmp_path / "run", "classify")

    def spec(handle, dynamic_batch):
        s = classify_spec(handle, dynamic_batch)
        s.module = _BakesInAValue(handle.model).eval()
        return s

    monkeypatch.setattr(get_task("classify"), "onnx_spec", spec)
    assert main(["export", str(run), "--dynamic-batch"]) == 2  # an ExportError, caught
    err = capsys.readouterr().err
    assert re.search(r"error: ONNX output 'logits' differs from PyTorch .* max abs diff", err)
    # Nothing that differs from the trained model is left behind.
    assert not (run / "model.onnx").exists() and not list(run.glob(".model.onnx.*"))


def test_segment_export_keeps_any_image_size(tmp_path):
    run = make_run(tmp_path / "run", "segment", class_names=("background", "cell"))
    model = export(run)
    meta = json.loads(sidecar_path(model).read_text())
    # Traced at a size off the network's stride, checked at another size: both must agree.
    assert [s[2:] for s in meta["parity"]["inputs"]] == [[33, 48], [32, 32]]
    images = write_images(tmp_path / "images", SIZES)
    for a, b in zip(predict(run, images), predict(model, images), strict=True):
        assert a["mask"].shape == b["mask"].shape
        assert np.array_equal(a["mask"], b["mask"])


def test_detect_export_matches_pytorch_detections(tmp_path):
    run = make_run(tmp_path / "run", "detect", class_names=("bag", "shoe"), img_size=64)
    with pytest.raises(ConfigError, match="one image per call"):
        export(run, dynamic_batch=True)
    model = export(run)
    meta = json.loads(sidecar_path(model).read_text())
    assert meta["category_ids"] == [1, 2]
    assert meta["preprocessing"]["resize"]["shorter_side"] == 64
    assert meta["parity"]["inputs"] == [[3, 64, 90], [3, 83, 64]]
    images = write_images(tmp_path / "images", SIZES[:1])
    options = {"score_threshold": 0.01, "batch_size": 1}
    ref, got = predict(run, images, **options), predict(model, images, **options)
    for a, b in zip(ref, got, strict=True):
        assert len(a["detections"]) == len(b["detections"]) > 0
        for da, db in zip(a["detections"], b["detections"], strict=True):
            assert da["label"] == db["label"]
            assert db["box"] == pytest.approx(da["box"], abs=0.05)
            assert db["score"] == pytest.approx(da["score"], abs=1e-3)


def test_export_refuses_what_it_cannot_export_correctly(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run", "classify")
    with pytest.raises(ConfigError, match="opset 9"):
        export(run, opset=9)
    with pytest.raises(ConfigError, match="must end in .onnx"):
        export(run, out=tmp_path / "model.pt")
    with pytest.raises(ConfigError, match="unknown export format 'tflite'"):
        export(run, format="tflite")
    monkeypatch.delattr(type(get_task("classify")), "onnx_spec")
    with pytest.raises(ExportError, match="not available for task 'classify'"):
        export(run)
    assert not (run / "model.onnx").exists()


def test_predict_onnx_needs_its_sidecar(classify_export, tmp_path):
    _, model, images = classify_export
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(model.read_bytes())
    with pytest.raises(ConfigError, match="no sidecar lone.onnx.json"):
        predict(lone, images)


def test_instance_export_matches_pytorch_masks(tmp_path):
    from transferkit.data.masks import rle_to_mask

    run = make_run(tmp_path / "run", "instance", class_names=("cell",), img_size=64)
    model = export(run)
    meta = json.loads(sidecar_path(model).read_text())
    assert [o["name"] for o in meta["outputs"]] == ["boxes", "labels", "scores", "masks"]
    assert meta["parity"]["max_abs_diff"]["masks"] <= 1e-3
    images = write_images(tmp_path / "images", SIZES[1:2])
    options = {"score_threshold": 0.01}
    for a, b in zip(
        predict(run, images, **options), predict(model, images, **options), strict=True
    ):
        assert len(a["detections"]) == len(b["detections"]) > 0
        for da, db in zip(a["detections"], b["detections"], strict=True):
            assert db["box"] == pytest.approx(da["box"], abs=0.05)
            ma = rle_to_mask(da["segmentation"], a["height"], a["width"]).astype(bool)
            mb = rle_to_mask(db["segmentation"], b["height"], b["width"]).astype(bool)
            # Probabilities within 1e-3 can only flip pixels sitting on the 0.5 threshold.
            assert (ma != mb).sum() <= max(2, 0.01 * ma.sum())
