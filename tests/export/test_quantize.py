"""Export as deployed: int8 static quantization calibrated on training images, the export scored on
real data (``evaluate MODEL.onnx``), the val difference to PyTorch in the sidecar, ``--strict``."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import transferkit.api.deploy as deploy
from tests.engine.conftest import make_image_folder
from tests.export.helpers import make_run
from tests.segment.helpers import blob_mask, write_pair
from transferkit.api import evaluate, export
from transferkit.cli.main import main
from transferkit.export.onnx_export import sidecar_path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A classification run (random-init model) whose data is real: 3 colour classes."""
    root = tmp_path_factory.mktemp("quantize")
    make_image_folder(root / "run" / "data", per_class=10)
    return make_run(root / "run", "classify", class_names=("blue", "green", "red"))


@pytest.fixture(scope="module")
def int8(run):
    return export(run, out=run / "int8.onnx", quantize="int8", calibration_images=12)


def test_int8_export_runs_in_plain_onnxruntime_with_integer_weights(int8):
    graph = onnx.load(str(int8)).graph
    ops = {n.op_type for n in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    int8_weights = [t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(int8_weights) >= 10  # every conv's weights, not a stray scale
    session = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    (logits,) = session.run(None, {"input": x})
    assert logits.shape == (1, 3) and np.isfinite(logits).all()
    meta = json.loads(sidecar_path(int8).read_text())
    q = meta["quantization"]
    assert q["type"] == "int8" and q["calibration_images"] == 12
    assert q["calibration_split"] == "train"


def test_sidecar_records_the_val_drop_and_evaluate_scores_the_export(run, int8):
    e = json.loads(sidecar_path(int8).read_text())["evaluation"]
    assert e["checked"] and e["split"] == "val" and e["metric"] == "accuracy"
    assert e["difference"] == pytest.approx(e["onnx"] - e["pytorch"])
    assert e["within"] == (abs(e["difference"]) <= e["tolerance"])
    onnx_scores = evaluate(int8, split="val")  # the run's data, carved as the run carved it
    torch_scores = evaluate(run, split="val")
    assert onnx_scores["num_samples"] == torch_scores["num_samples"] == 6
    assert onnx_scores["accuracy"] == pytest.approx(e["onnx"])
    assert torch_scores["accuracy"] == pytest.approx(e["pytorch"])


def test_float32_export_scores_as_pytorch_does(run):
    path = export(run, out=run / "fp32.onnx", dynamic_batch=True)
    e = json.loads(sidecar_path(path).read_text())["evaluation"]
    assert e["difference"] == 0 and e["within"]
    assert json.loads(sidecar_path(path).read_text())["quantization"] is None


def test_strict_exits_1_and_warns_when_the_export_drifts(run, monkeypatch, capsys):
    def drifted(handle, path, tolerance):
        return {
            "checked": True,
            "split": "val",
            "metric": "accuracy",
            "pytorch": 0.9,
            "onnx": 0.8,
            "difference": -0.1,
            "tolerance": tolerance,
            "within": False,
        }

    monkeypatch.setattr(deploy, "check_export", drifted)
    argv = ["export", str(run), "--out", str(run / "drift.onnx")]
    assert main(argv) == 0  # warns, but exports
    assert "WARNING" in capsys.readouterr().err
    assert main([*argv, "--strict"]) == 1
    captured = capsys.readouterr()
    assert "-0.1000" in captured.err and "BEYOND" in captured.out


def test_bad_quantize_input_is_a_clean_error(run, tmp_path, capsys):
    detect = make_run(tmp_path / "det", "detect", class_names=("a",))
    assert main(["export", str(detect), "--quantize", "int8"]) == 2
    assert "available for classify and segment" in capsys.readouterr().err
    argv = ["export", str(run), "--quantize", "int8", "--calibration-images", "0"]
    assert main(argv) == 2
    assert "--calibration-images" in capsys.readouterr().err


def test_segment_int8_export_is_scored_on_val_as_the_run_is(tmp_path):
    for i in range(10):
        write_pair(tmp_path / "run" / "data", f"img{i}", blob_mask(i))
    run = make_run(tmp_path / "run", "segment", class_names=("class_0", "class_1", "class_2"))
    path = export(run, out=tmp_path / "seg.onnx", quantize="int8", calibration_images=8)
    e = json.loads(sidecar_path(path).read_text())["evaluation"]
    assert e["checked"] and e["metric"] == "miou"
    assert evaluate(path, split="val")["miou"] == pytest.approx(e["onnx"])
    assert evaluate(run, split="val")["miou"] == pytest.approx(e["pytorch"])
