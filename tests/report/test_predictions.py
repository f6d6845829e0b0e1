"""Predictions computed once: the final evaluation stores them; report and evaluate read them."""

from __future__ import annotations

import csv
import json
import os

import pytest

from transferkit.api import evaluate, predict
from transferkit.report import write_report
from transferkit.runs.rundir import load_run
from transferkit.tasks import get_task


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _refuse(*args, **kwargs):
    raise AssertionError("the model was run")


def test_final_evaluation_stores_one_row_per_val_image_matching_predict(trained_run):
    run, _ = trained_run
    handle = load_run(run)
    splits = get_task("classify").load_data(handle.config, handle.data_config)
    rows = _rows(run / "predictions" / "val.jsonl")
    names = handle.class_names
    assert [r["file"] for r in rows] == [str(p) for p, _ in splits.val.samples]
    assert [r["true"] for r in rows] == [names[label] for _, label in splits.val.samples]
    by_path = {p["path"]: p for p in predict(run, [r["file"] for r in rows], top_k=3)}
    for r in rows:
        assert r["predicted"] == by_path[r["file"]]["label"]
        assert r["score"] == pytest.approx(by_path[r["file"]]["score"], abs=1e-5)
        assert len(r["top_k"]) == len(names) and r["top_k"][0]["label"] == r["predicted"]
        assert r["true_score"] == next(t["score"] for t in r["top_k"] if t["label"] == r["true"])
    table = list(csv.DictReader((run / "predictions" / "val.csv").open(encoding="utf-8")))
    assert [t["file"] for t in table] == [r["file"] for r in rows]
    assert [t["predicted"] for t in table] == [r["predicted"] for r in rows]
    accuracy = sum(r["true"] == r["predicted"] for r in rows) / len(rows)
    metrics = json.loads((run / "metrics.json").read_text())
    assert accuracy == pytest.approx(metrics["val"]["accuracy"])


def test_report_reads_the_stored_predictions_instead_of_running_the_model(
    trained_run, tmp_path, monkeypatch
):
    run, _ = trained_run
    handle = load_run(run)
    monkeypatch.setattr(handle.model, "forward", _refuse)
    warnings: list[str] = []
    page = write_report(run, out=tmp_path / "r.html", warn=warnings.append, handle=handle)
    html = page.read_text(encoding="utf-8")
    assert warnings == []
    wrong = [r for r in _rows(run / "predictions" / "val.jsonl") if r["true"] != r["predicted"]]
    top = max(wrong, key=lambda r: r["score"])
    assert f"true {top['true']}, predicted {top['predicted']} ({top['score']:.2f}" in html


def test_evaluate_of_the_run_split_reads_stored_predictions_until_a_file_changes(
    trained_run, monkeypatch
):
    import transferkit.engine.evaluate_run as evaluate_run

    run, _ = trained_run
    metrics = json.loads((run / "metrics.json").read_text())
    with monkeypatch.context() as mp:
        mp.setattr(evaluate_run, "load_run", _refuse)
        got = evaluate(run, split="val")
    stored = {k: v for k, v in metrics["val"].items() if k != "per_image"}  # kept for compare
    assert got == {"split": "val", **stored}
    first = _rows(run / "predictions" / "val.jsonl")[0]["file"]
    st = os.stat(first)
    os.utime(first, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    try:
        with monkeypatch.context() as mp:  # the image changed: its stored prediction may not hold
            mp.setattr(evaluate_run, "load_run", _refuse)
            with pytest.raises(AssertionError, match="the model was run"):
                evaluate(run, split="val")
        again = evaluate(run, split="val")
    finally:
        os.utime(first, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert again["accuracy"] == pytest.approx(metrics["val"]["accuracy"])
    assert again["loss"] == pytest.approx(metrics["val"]["loss"], rel=1e-4)
