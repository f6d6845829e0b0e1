"""The training loop end to end on tiny data: run directory, frozen stages, resume, early stop."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import transferkit.engine.loop as loop
from transferkit.core.config import RunConfig
from transferkit.engine.loop import fit
from transferkit.runs.rundir import RunDir


def _cfg(data, **values):
    base = dict(
        path=str(data),
        backbone="tiny",
        weights="none",
        epochs=3,
        batch_size=8,
        lr=1e-2,
        patience=None,
        quiet=True,
        img_size=32,
        warmup_epochs=0.5,
    )
    base.update(values)
    return RunConfig().with_values(**base)


def test_fit_writes_a_complete_run_directory(colour_folder, tiny_zoo, tmp_path):
    result = fit(_cfg(colour_folder, strategy="head"), tmp_path / "run")
    run = result.run_dir
    for name in (
        "config.yaml",
        "classes.json",
        "plan.json",
        "data.json",
        "history.csv",
        "metrics.json",
        "checkpoints/best.safetensors",
        "checkpoints/best.json",
        "checkpoints/last.safetensors",
        "checkpoints/last_state.pt",
    ):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["val"]) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix", "loss"}
    assert metrics["accuracy"] == metrics["val"]["accuracy"]
    cm = metrics["val"]["confusion_matrix"]
    assert sum(map(sum, cm)) == metrics["val"]["num_samples"]
    assert metrics["accuracy"] == pytest.approx(sum(cm[i][i] for i in range(3)) / sum(map(sum, cm)))
    # A 95 % bootstrap interval around each headline metric, and the per-image outcomes.
    for key in ("accuracy", "macro_f1"):
        lo, hi = metrics["ci"][key]
        assert lo <= metrics[key] <= hi
    assert metrics["ci_settings"]["resamples"] == 1000
    assert len(metrics["val"]["per_image"]["pred"]) == metrics["val"]["num_samples"]
    rows = RunDir(run).read_history()
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert {"train_loss", "val_loss", "accuracy", "lr_head", "lr_stage0", "seconds"} <= set(rows[0])
    assert json.loads((run / "classes.json").read_text())["class_names"] == ["blue", "green", "red"]


def test_head_strategy_leaves_backbone_weights_untouched(colour_folder, tiny_zoo, tmp_path):
    torch.manual_seed(0)
    result = fit(_cfg(colour_folder, strategy="head", seed=3), tmp_path / "run")
    trained = load_file(str(result.run_dir / "checkpoints/last.safetensors"))
    torch.manual_seed(0)
    # The loop seeds before building, so the same seed rebuilds the same initial backbone.
    from lightning.fabric.utilities.seed import seed_everything

    from tests.tiny import TinyBackbone

    seed_everything(3, verbose=False)
    initial = TinyBackbone().state_dict()
    for key, value in initial.items():
        assert torch.equal(trained[f"net.backbone.{key}"], value), key
    assert result.metrics["accuracy"] > 0.6


def test_full_strategy_learns_the_colours(colour_folder, tiny_zoo, tmp_path):
    result = fit(_cfg(colour_folder, strategy="full", epochs=4), tmp_path / "run")
    assert result.metrics["accuracy"] >= 0.85


def test_resume_after_interruption_matches_an_uninterrupted_run(
    colour_folder, tiny_zoo, tmp_path, monkeypatch
):
    cfg = _cfg(colour_folder, strategy="gradual", epochs=4)
    straight = fit(cfg, tmp_path / "straight")

    real_epoch = loop._train_epoch
    calls = {"n": 0}

    def crash_in_third_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(loop, "_train_epoch", crash_in_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, tmp_path / "resumed")
    monkeypatch.setattr(loop, "_train_epoch", real_epoch)
    resumed = fit(cfg, tmp_path / "resumed", resume=True)

    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    for a, b in zip(straight.history, resumed.history):
        assert float(b["train_loss"]) == pytest.approx(float(a["train_loss"]), rel=1e-5)
    final_a = load_file(str(straight.run_dir / "checkpoints/last.safetensors"))
    final_b = load_file(str(resumed.run_dir / "checkpoints/last.safetensors"))
    for key in final_a:
        assert torch.allclose(final_a[key], final_b[key], atol=1e-5), key


def test_early_stopping_stops_when_the_metric_stalls(colour_folder, tiny_zoo, tmp_path):
    # lr 0: nothing improves after the first epoch, so patience 1 stops after epoch 2.
    result = fit(
        _cfg(colour_folder, strategy="full", epochs=6, patience=1, lr=1e-12), tmp_path / "run"
    )
    assert len(result.history) == 2


def test_bf16_mixed_precision_on_cpu(colour_folder, tiny_zoo, tmp_path):
    result = fit(
        _cfg(colour_folder, strategy="full", epochs=3, precision="bf16-mixed"), tmp_path / "run"
    )
    assert result.metrics["accuracy"] >= 0.6
    weights = load_file(str(result.run_dir / "checkpoints/best.safetensors"))
    assert all(v.dtype == torch.float32 for v in weights.values() if v.is_floating_point())


@pytest.mark.parametrize("strategy", ["head", "probe"])
def test_the_end_of_run_report_uses_the_model_in_memory(
    colour_folder, tiny_zoo, tmp_path, monkeypatch, capsys, strategy
):
    import transferkit.report as report
    import transferkit.runs.rundir as rundir
    from transferkit.engine.run import run

    def reload(*args, **kwargs):
        raise AssertionError("the report rebuilt the model from the run directory")

    monkeypatch.setattr(rundir, "load_run", reload)
    monkeypatch.setattr(report, "load_run", reload, raising=False)  # if bound at import
    result = run(_cfg(colour_folder, strategy=strategy), tmp_path / "run")
    page = (result.run_dir / "report.html").read_text(encoding="utf-8")
    assert "could not be loaded" not in page and "rebuilt the model" not in page
    assert "warning" not in capsys.readouterr().out
