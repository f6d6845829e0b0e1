"""Linear probe: the L-BFGS fit against scipy, L2 selection, and a probe run end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.optimize import minimize

import transferkit.zoo
from tests.tiny import TinyBackbone
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.engine.run import run
from transferkit.transfer.linear import fit_logistic, fold_standardisation, select_l2
from transferkit.transfer.probe import feature_scale


def _blobs(n=90, d=5, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % k
    centers = torch.randn(k, d, generator=g) * 1.5
    return (torch.randn(n, d, generator=g) + centers[y]).double(), y


def test_fit_logistic_matches_scipy_minimiser():
    x, y = _blobs()
    l2, k, d = 0.05, 3, x.shape[1]
    fit = fit_logistic(x, y, k, l2)
    xn, yn = x.numpy(), y.numpy()

    def objective(theta):
        w, b = theta[: k * d].reshape(k, d), theta[k * d :]
        z = xn @ w.T + b
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        p = np.exp(logp)
        p[np.arange(len(yn)), yn] -= 1
        loss = -logp[np.arange(len(yn)), yn].mean() + l2 / 2 * (w * w).sum()
        gw, gb = p.T @ xn / len(yn) + l2 * w, p.mean(0)
        return loss, np.concatenate([gw.ravel(), gb])

    ref = minimize(
        objective,
        np.zeros(k * d + k),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-10, "ftol": 1e-14, "maxiter": 5000},
    ).x
    np.testing.assert_allclose(fit.weight.numpy(), ref[: k * d].reshape(k, d), atol=1e-4)
    np.testing.assert_allclose(fit.bias.numpy(), ref[k * d :], atol=1e-4)


def test_fold_standardisation_gives_the_same_logits():
    x, y = _blobs()
    mean, std = x.mean(0), x.std(0)
    fit = fit_logistic((x - mean) / std, y, 3, 1e-3)
    torch.testing.assert_close(
        fold_standardisation(fit, mean, std).logits(x), fit.logits((x - mean) / std)
    )


def test_a_nearly_constant_feature_does_not_swamp_the_probe_on_val():
    # One feature barely varies on train (std 1e-5) and shifts by 0.01 on val: divided by its own
    # train std it becomes an input of ~1000 on val and decides every prediction.
    x, y = _blobs(n=300, seed=1)
    g = torch.Generator().manual_seed(2)
    odd = torch.randn(300, 1, generator=g).double()
    train, val = slice(0, 150), slice(150, 300)
    feats = torch.cat([x, odd * 1e-5], 1)
    feats[val, -1] += 0.01 * torch.sign(odd[val, 0])

    def val_accuracy(std):
        mean = feats[train].mean(0)
        fit = fit_logistic((feats[train] - mean) / std, y[train], 3, 1e-3)
        raw = fold_standardisation(fit, mean, std)
        return (raw.logits(feats[val]).argmax(1) == y[val]).double().mean().item()

    clean = x[train].std(0)
    reference = val_accuracy(torch.cat([clean, clean.new_ones(1)]))  # the odd feature ~ ignored
    assert val_accuracy(feats[train].std(0).clamp_min(1e-6)) < reference - 0.2  # the failure
    assert val_accuracy(feature_scale(feats[train])) >= reference - 0.02
    assert feature_scale(torch.zeros(4, 3)).min() > 0  # constant features: no division by zero


def test_select_l2_keeps_the_best_validation_accuracy():
    # few training points in many noisy dimensions: strong regularisation generalises better
    x, y = _blobs(n=330, d=60, k=3, seed=1)
    x[:, 3:] = torch.randn(330, 57, generator=torch.Generator().manual_seed(2)).double() * 3
    best, rows = select_l2(x[:30], y[:30], x[30:], y[30:], 3, grid=(1.0, 1e-1, 1e-3, 1e-6))
    accs = [r["val_accuracy"] for r in rows]
    assert [r["l2"] for r in rows] == [1.0, 1e-1, 1e-3, 1e-6]
    assert best.l2 == rows[int(np.argmax(accs))]["l2"]
    assert max(accs) > accs[-1]  # the grid matters here: the weakest L2 overfits


@pytest.fixture
def colour_folder(tmp_path):
    rng = np.random.default_rng(0)
    colours = {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}
    for name, rgb in colours.items():
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(12):
            img = np.clip(np.array(rgb) + rng.normal(0, 40, (32, 32, 3)), 0, 255)
            Image.fromarray(img.astype(np.uint8)).save(tmp_path / "data" / name / f"{i}.png")
    return tmp_path / "data"


@pytest.fixture
def tiny_zoo(monkeypatch):
    def create_backbone(name, weights="auto", **kwargs):
        torch.manual_seed(0)  # a fixed "pretrained" tiny network; checkpoints overwrite it anyway
        return TinyBackbone()

    monkeypatch.setattr(transferkit.zoo, "create_backbone", create_backbone, raising=False)


def _cfg(data, **train):
    return RunConfig().with_values(
        path=str(data),
        backbone="tiny",
        strategy="probe",
        val_fraction=0.34,
        batch_size=8,
        quiet=True,
        **train,
    )


def test_probe_run_is_an_ordinary_run_and_the_second_is_served_from_the_cache(
    colour_folder, tmp_path, tiny_zoo
):
    from transferkit.api import evaluate

    first = run(_cfg(colour_folder), tmp_path / "run1")
    probe = first.metrics["probe"]
    assert probe["extracted"] == 36 and probe["trainable_parameters"] == 32 * 3 + 3
    assert first.metrics["evaluated_split"] == "val" and first.metrics["val"]["num_samples"] == 12
    assert first.metrics["accuracy"] >= 0.9  # colours are easy even for random conv features
    assert RunConfig.load(first.run_dir / "config.yaml").transfer.strategy == "probe"
    assert len(first.history) == 6 and {r["l2"] for r in first.history} >= {probe["l2"]}
    ckpts = first.run_dir / "checkpoints"
    assert (ckpts / "last.safetensors").read_bytes() == (ckpts / "best.safetensors").read_bytes()

    # evaluate rebuilds the model from the checkpoint and runs the images through it: the
    # folded head must reproduce the probe's own numbers on the validation split
    stored = (first.run_dir / "predictions" / "val.jsonl").read_text().splitlines()
    assert len(stored) == 12
    again = evaluate(first.run_dir, split="val", use_stored=False)
    assert again["accuracy"] == pytest.approx(first.metrics["val"]["accuracy"])
    assert again["loss"] == pytest.approx(first.metrics["val"]["loss"], rel=1e-4)

    warm = run(_cfg(colour_folder), tmp_path / "run2")
    assert warm.metrics["probe"]["extracted"] == 0
    assert warm.metrics["probe"]["l2"] == probe["l2"]
    assert warm.metrics["val"]["loss"] == pytest.approx(first.metrics["val"]["loss"], rel=1e-6)


def test_probe_refuses_other_tasks_and_mlp_heads(colour_folder, tmp_path, tiny_zoo):
    with pytest.raises(ConfigError, match="classification"):
        run(_cfg(colour_folder).with_values(task="segment"), tmp_path / "r")
    with pytest.raises(ConfigError, match="linear head"):
        run(_cfg(colour_folder, head="mlp"), tmp_path / "r")
