"""The one demo runner trains a task's DemoSpec: one row per run, run folders named after runs."""

from __future__ import annotations

from tests.engine.conftest import make_image_folder
from transferkit.engine.demo import run_demo
from transferkit.tasks.base import DemoRun, DemoSpec

SETTINGS = {"backbone": "timm:resnet18", "epochs": 1, "img_size": 32, "batch_size": 8}


def test_a_spec_runs_through_the_loop_and_gives_one_row_per_run(tmp_path, capsys):
    spec = DemoSpec(
        task="classify",
        model="resnet18",
        settings=SETTINGS,
        runs=(DemoRun("random init, full", "none", "full", data="colours"),),
        metrics=("accuracy", "macro_f1"),
        prepare=lambda out: {"colours": make_image_folder(out / "colours", per_class=6)},
        about=("demo data: coloured squares in {colours}",),
    )
    rows = run_demo(spec, tmp_path, quiet=True)
    out = capsys.readouterr().out
    assert f"demo data: coloured squares in {tmp_path / 'colours'}" in out
    assert "[1/1] colours: random init, full: resnet18, weights none, strategy full" in out
    (row,) = rows
    assert list(row) == [
        "run", "weights", "strategy", "accuracy", "macro_f1", "ci", "split", "seconds", "run_dir"
    ]
    for key in ("accuracy", "macro_f1"):  # each metric with its 95 % bootstrap interval
        lo, hi = row["ci"][key]
        assert lo <= row[key] <= hi
    assert (row["run"], row["weights"], row["strategy"]) == (
        "colours: random init, full", "random", "full"
    )
    assert 0.0 <= row["accuracy"] <= 1.0 and row["split"] == "val"
    assert row["run_dir"] == str(tmp_path / "runs" / "colours-random_init-full")
