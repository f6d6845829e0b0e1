"""report.html: self-contained, drawn from the run's files, examples checked against predict."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil

import pytest
from PIL import Image

from transferkit.api import predict
from transferkit.cli.main import main
from transferkit.report import write_report
from transferkit.tasks.classify.report import confident_mistakes

DATA_URI = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def embedded_images(html: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(b))) for b in DATA_URI.findall(html)]


def test_training_writes_a_self_contained_report(trained_run):
    run, _ = trained_run
    html = (run / "report.html").read_text(encoding="utf-8")
    # Nothing is fetched: no URL, and every image is an embedded PNG that decodes.
    text = DATA_URI.sub("", html)
    assert "://" not in text and "url(" not in text and "<script" not in text
    assert re.findall(r'href="([^"]*)"', text) == [
        f"#{a}" for a in re.findall(r'<section id="([^"]+)"', text)
    ]
    assert html.count("<img ") == len(DATA_URI.findall(html))
    images = embedded_images(html)
    for im in images:
        im.load()
        assert im.format == "PNG" and im.width > 10 and im.height > 10
    # Four learning-curve panels, the confusion matrix and the per-class bars at least.
    assert len(images) >= 6
    plan = json.loads((run / "plan.json").read_text())
    for group in plan["groups"]:
        assert f"<td>{group['group']}</td>" in html
    counts = json.loads((run / "data.json").read_text())["counts"]
    assert counts["train"]["red"] == 8 and '<td class="num">8</td>' in html
    history = list(csv.DictReader(io.StringIO((run / "history.csv").read_text())))
    assert f"{len(history)} of 3" in html
    metrics = json.loads((run / "metrics.json").read_text())
    assert f"{metrics['val']['accuracy']:.4f}" in html
    # Durations read as the command line prints them: "12.3 s", not "12.345".
    assert f"<td>{metrics['train_seconds']:.1f} s</td>" in html


def test_confidently_wrong_gallery_agrees_with_predict(trained_run):
    from transferkit.runs.rundir import load_run
    from transferkit.tasks import get_task

    run, _ = trained_run
    handle = load_run(run)
    splits = get_task("classify").load_data(handle.config, handle.data_config)
    mistakes, scored = confident_mistakes(handle, splits.val, limit=100)
    assert scored == len(splits.val) == 6
    names = handle.class_names
    truth = {p: names[label] for p, label in splits.val.samples}
    preds = predict(run, list(truth))
    wrong = sorted((p for p in preds if p["label"] != truth[p["path"]]), key=lambda p: -p["score"])
    assert wrong, "the fixture run is meant to get some images wrong"
    assert [m["path"] for m in mistakes] == [p["path"] for p in wrong]
    for m, p in zip(mistakes, wrong, strict=True):
        assert m["predicted"] == p["label"] and m["true"] == truth[p["path"]]
        assert m["confidence"] == pytest.approx(p["score"], abs=1e-5)
    html = (run / "report.html").read_text(encoding="utf-8")
    top = mistakes[0]
    assert f"true {top['true']}, predicted {top['predicted']} ({top['confidence']:.2f}" in html


def test_report_command_without_the_data_still_writes_the_run_files(trained_run, tmp_path, capsys):
    run, data = trained_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    config = (copy / "config.yaml").read_text().replace(str(data), str(tmp_path / "moved"))
    (copy / "config.yaml").write_text(config)
    (copy / "report.html").unlink()
    assert main(["report", str(copy)]) == 0
    captured = capsys.readouterr()
    assert "warning: the data set could not be read" in captured.err
    html = (copy / "report.html").read_text(encoding="utf-8")
    assert "could not be read" in html and "confusion matrix (val)" in html
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "run directory not found" in capsys.readouterr().err


def test_a_failing_report_does_not_fail_training(tmp_path, monkeypatch, capsys):
    import transferkit.engine.loop as loop
    import transferkit.report as report
    import transferkit.zoo as zoo
    from tests.engine.conftest import make_image_folder
    from tests.tiny import TinyBackbone
    from transferkit.core.config import RunConfig

    def broken(*args, **kwargs):
        raise MemoryError("plots need more memory than there is")

    monkeypatch.setattr(report, "build_report", broken)
    monkeypatch.setattr(zoo, "create_backbone", lambda name, weights="auto", **kw: TinyBackbone())
    data = make_image_folder(tmp_path / "data", per_class=5)
    cfg = RunConfig().with_values(
        path=str(data),
        backbone="tiny",
        weights="none",
        epochs=1,
        batch_size=8,
        quiet=True,
        img_size=32,
    )
    result = loop.fit(cfg, tmp_path / "run")
    assert (result.run_dir / "metrics.json").is_file()
    assert not (result.run_dir / "report.html").exists()
    out = capsys.readouterr().out
    assert "warning: report.html could not be written" in out and "MemoryError" in out


def test_report_out_option_and_missing_files(trained_run, tmp_path):
    run, _ = trained_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (copy / "metrics.json").unlink()
    (copy / "history.csv").unlink()
    notes = []
    out = write_report(copy, out=tmp_path / "r.html", warn=notes.append)
    html = out.read_text(encoding="utf-8")
    assert "metrics.json is missing" in html and "history.csv is missing" in html
    assert notes == []  # missing files are stated in the page, not failures
