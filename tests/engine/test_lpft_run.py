"""LP-FT in the engine: fine-tuning starts from the linear probe, which is the run's epoch 0.

The tiny backbone (random init) on noisy colour images: its features separate the classes only
partly, so the probe is imperfect and its accuracy is a number worth matching, not a trivial 1.0.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import transferkit.engine.loop as loop
import transferkit.engine.start as start
from transferkit.core.config import RunConfig
from transferkit.engine.run import run
from transferkit.runs.rundir import RunDir


def _muddy_colours(root, per_class=16, size=32, seed=0):
    """Three classes whose colours differ a little under heavy noise: a probe gets some wrong."""
    rng = np.random.default_rng(seed)
    means = {"red": (150, 110, 110), "green": (110, 150, 110), "blue": (110, 110, 150)}
    for name, mean in means.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            colour = np.array(mean, np.float32) + rng.normal(0, 30, 3)  # each image its own
            img = np.clip(colour + rng.normal(0, 40, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / name / f"{name}_{i}.png")
    return root


@pytest.fixture
def muddy(tmp_path):
    return _muddy_colours(tmp_path / "muddy")


@pytest.fixture
def probes(monkeypatch):
    """Every probe the engine fits, in order."""
    fitted = []
    real = start.probe_splits

    def spy(*args, **kwargs):
        fitted.append(real(*args, **kwargs))
        return fitted[-1]

    monkeypatch.setattr(start, "probe_splits", spy)
    return fitted


def _cfg(data, **values):
    base = dict(
        path=str(data),
        backbone="tiny",
        weights="none",
        strategy="head",
        epochs=2,
        batch_size=8,
        lr=1e-2,
        patience=None,
        quiet=True,
        img_size=32,
        warmup_epochs=0.5,
        val_fraction=0.25,
    )
    base.update(values)
    return RunConfig().with_values(**base)


def test_epoch_zero_is_the_probe(muddy, tiny_zoo, probes, tmp_path):
    result = run(_cfg(muddy), tmp_path / "run")
    assert len(probes) == 1
    probe_accuracy = probes[0].val_accuracy()
    assert 0.4 < probe_accuracy < 1.0  # the data leaves the probe room to be matched exactly
    rows = RunDir(result.run_dir).read_history()
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    zero = rows[0]
    assert zero["accuracy"] == pytest.approx(probe_accuracy, abs=1e-6)
    assert zero["train_loss"] is None
    assert zero["trainable_parameters"] == 32 * 3 + 3  # the linear head the probe fitted
    assert zero["lr_head"] > 0 and zero["val_loss"] > 0
    plan = json.loads((result.run_dir / "plan.json").read_text())
    assert plan["head_init"] == "probe (L2 chosen on val)"
    saved = RunConfig.load(result.run_dir / "config.yaml")
    assert saved.transfer.init == "probe"


def test_a_wrecked_fine_tune_keeps_the_probe_as_its_best(muddy, tiny_zoo, probes, tmp_path):
    # An absurd LR ruins the model in its first step: the best checkpoint stays epoch 0.
    cfg = _cfg(muddy, strategy="full", lr=1e3, grad_clip=None, warmup_epochs=0.0)
    result = run(cfg, tmp_path / "run")
    probe_accuracy = probes[0].val_accuracy()
    rows = RunDir(result.run_dir).read_history()
    assert all(r["accuracy"] < probe_accuracy for r in rows[1:])  # training did wreck it
    best = json.loads((result.run_dir / "checkpoints" / "best.json").read_text())
    assert best["epoch"] == 0 and best["init"] == "probe"
    assert result.metrics["val"]["accuracy"] == pytest.approx(probe_accuracy, abs=1e-6)
    assert result.metrics["accuracy"] == pytest.approx(probe_accuracy, abs=1e-6)


def test_init_random_trains_as_the_loop_alone_does(muddy, tiny_zoo, probes, tmp_path):
    cfg = _cfg(muddy, init="random", augment="default")
    engine_run = run(cfg, tmp_path / "engine")
    assert probes == []  # nothing asked for the probe: not fitted
    plain = loop.fit(cfg, tmp_path / "plain")
    assert [r["epoch"] for r in engine_run.history] == [1, 2]
    for a, b in zip(engine_run.history, plain.history):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-6)
    plan = json.loads((engine_run.run_dir / "plan.json").read_text())
    assert plan["head_init"] == "random"


def test_resume_keeps_epoch_zero_and_does_not_refit(muddy, tiny_zoo, probes, tmp_path, monkeypatch):
    cfg = _cfg(muddy, strategy="gradual", epochs=3)
    straight = run(cfg, tmp_path / "straight")
    real_epoch, calls = loop._train_epoch, {"n": 0}

    def crash_in_second_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(loop, "_train_epoch", crash_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        run(cfg, tmp_path / "resumed")
    monkeypatch.setattr(loop, "_train_epoch", real_epoch)
    fitted_before = len(probes)
    saved = RunConfig.load(tmp_path / "resumed" / "config.yaml")
    resumed = run(saved, tmp_path / "resumed", resume=True)

    assert len(probes) == fitted_before  # the state holds the model: no refit
    assert [r["epoch"] for r in resumed.history] == [0, 1, 2, 3]
    for a, b in zip(straight.history, resumed.history):
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-5)
    assert resumed.metrics["accuracy"] == pytest.approx(straight.metrics["accuracy"])


def test_the_probe_head_is_loaded_into_the_model_before_training(muddy, tiny_zoo, tmp_path):
    from tests.tiny import tiny_classifier

    weight, bias = torch.randn(3, 32), torch.randn(3)
    model = tiny_classifier(3)
    start.Start("probe", "probe (L2 chosen on val)", weight, bias).load(model)
    head = model.net.head[-1]
    assert torch.equal(head.weight.detach(), weight) and torch.equal(head.bias.detach(), bias)
    assert head.weight.requires_grad
    untouched = tiny_classifier(3)
    before = untouched.net.head[-1].weight.detach().clone()
    start.random_start().load(untouched)
    assert torch.equal(untouched.net.head[-1].weight.detach(), before)
