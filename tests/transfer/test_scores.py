"""Transferability scores against plain references on small synthetic features."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from transferkit.core.errors import ConfigError
from transferkit.transfer import scores


def _features(n=60, d=8, k=3, sep=2.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % k
    f = torch.randn(n, d, generator=g) + sep * torch.nn.functional.one_hot(labels, d).float()
    return f, labels


def _grid_evidence(f: np.ndarray, y: np.ndarray, log_a: np.ndarray, log_b: np.ndarray):
    """Evidence / N on every (alpha, beta) of a grid, straight from the formula (no SVD)."""
    n, d = f.shape
    a, b = np.meshgrid(10.0**log_a, 10.0**log_b, indexing="ij")
    a, b = a.ravel(), b.ravel()
    ftf, fty = f.T @ f, f.T @ y
    big_a = a[:, None, None] * np.eye(d) + b[:, None, None] * ftf
    m = b[:, None] * np.linalg.solve(big_a, np.broadcast_to(fty, (a.size, d))[..., None])[..., 0]
    res = ((y[None, :] - m @ f.T) ** 2).sum(1)
    logdet = np.linalg.slogdet(big_a)[1]
    ev = (
        d / 2 * np.log(a)
        + n / 2 * np.log(b)
        - logdet / 2
        - b / 2 * res
        - a / 2 * (m * m).sum(1)
        - n / 2 * math.log(2 * math.pi)
    ) / n
    i = int(np.argmax(ev))
    return float(ev[i]), math.log10(a[i]), math.log10(b[i])


@pytest.mark.parametrize("cls", [0, 1, 2])
def test_logme_fixed_point_is_the_grid_maximum(cls):
    f, labels = _features()
    y = (labels == cls).double()
    u, sv, _ = torch.linalg.svd(f.double(), full_matrices=False)
    fixed = scores.logme_evidence(sv**2, u.T @ y, float(y @ y), *f.shape)
    fn, yn = f.double().numpy(), y.numpy()
    # coarse grid over eight decades of alpha and six of beta, then a fine grid around its maximum
    best, la, lb = _grid_evidence(fn, yn, np.arange(-3, 5, 0.05), np.arange(-3, 3, 0.05))
    best, la, lb = _grid_evidence(
        fn, yn, np.linspace(la - 0.1, la + 0.1, 101), np.linspace(lb - 0.1, lb + 0.1, 101)
    )
    assert fixed.value == pytest.approx(best, abs=1e-6)
    assert fixed.value >= best - 1e-9  # no grid point beats the fixed point
    assert math.log10(fixed.alpha) == pytest.approx(la, abs=0.01)
    assert math.log10(fixed.beta) == pytest.approx(lb, abs=0.01)


def test_svd_evidence_matches_direct_formula_when_features_outnumber_samples():
    g = torch.Generator().manual_seed(1)
    f = torch.randn(12, 30, generator=g)
    y = (torch.arange(12) % 2 == 0).double() + 0.3 * f[:, 0].double()
    u, sv, _ = torch.linalg.svd(f.double(), full_matrices=False)
    ev = scores.logme_evidence(sv**2, u.T @ y, float(y @ y), *f.shape)
    direct = scores.log_evidence(f, y, ev.alpha, ev.beta)
    assert ev.value == pytest.approx(float(direct), abs=1e-9)


def _logme_paper(f: np.ndarray, labels: np.ndarray) -> float:
    """Algorithm 1 of You et al. (2021) written out on the eigendecomposition of F^T F."""
    n, d = f.shape
    s, v = np.linalg.eigh(f.T @ f)
    out = []
    for c in range(labels.max() + 1):
        y = (labels == c).astype(np.float64)
        alpha, beta = 1.0, 1.0
        for _ in range(500):
            gamma = (beta * s / (alpha + beta * s)).sum()
            m = beta * v @ ((v.T @ (f.T @ y)) / (alpha + beta * s))
            alpha, beta = gamma / (m @ m), (n - gamma) / ((f @ m - y) ** 2).sum()
        m = beta * v @ ((v.T @ (f.T @ y)) / (alpha + beta * s))
        ev = (
            d / 2 * np.log(alpha)
            + n / 2 * np.log(beta)
            - np.log(alpha + beta * s).sum() / 2
            - beta / 2 * ((f @ m - y) ** 2).sum()
            - alpha / 2 * (m @ m)
            - n / 2 * np.log(2 * np.pi)
        )
        out.append(ev / n)
    return float(np.mean(out))


def test_logme_matches_the_papers_algorithm_and_prefers_separable_labels():
    f, labels = _features(n=90, d=10, k=3)
    value = scores.logme(f, labels)
    assert value == pytest.approx(_logme_paper(f.double().numpy(), labels.numpy()), abs=1e-6)
    shuffled = labels[torch.randperm(90, generator=torch.Generator().manual_seed(0))]
    assert scores.logme(f, shuffled) < value - 0.1


def test_leep_hand_computed():
    # two images, two source classes with probabilities (0.8, 0.2) and (0.4, 0.6); labels 0 and 1
    theta = torch.tensor([[0.8, 0.2], [0.4, 0.6]], dtype=torch.float64)
    labels = torch.tensor([0, 1])
    # P(y,z) = [[0.4, 0.1], [0.2, 0.3]]; P(z) = [0.6, 0.4]; P(y|z) = [[2/3, 1/4], [1/3, 3/4]]
    p0 = 0.8 * 2 / 3 + 0.2 * 1 / 4
    p1 = 0.4 * 1 / 3 + 0.6 * 3 / 4
    expected = (math.log(p0) + math.log(p1)) / 2
    assert scores.leep(theta.log(), labels) == pytest.approx(expected, abs=1e-12)


def test_nce_hand_computed():
    # source predictions z = [0, 0, 0, 1], labels y = [0, 0, 1, 1]
    logits = torch.tensor([[5.0, 0.0], [5.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    labels = torch.tensor([0, 0, 1, 1])
    # H(Y|Z) = P(z=0) H(2/3, 1/3) + P(z=1) * 0
    h = 0.75 * -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    assert scores.nce(logits, labels) == pytest.approx(-h, abs=1e-12)
    # a source head that predicts the labels perfectly has zero conditional entropy
    assert scores.nce(torch.nn.functional.one_hot(labels).float(), labels) == 0.0


def test_hscore_hand_computed_one_dimension():
    # 1-D features: H = between-class variance / total variance
    f = torch.tensor([[0.0], [2.0], [4.0], [10.0]])
    labels = torch.tensor([0, 0, 1, 1])
    total = np.var([0.0, 2.0, 4.0, 10.0])
    between = np.var([1.0, 1.0, 7.0, 7.0])
    assert scores.hscore(f, labels) == pytest.approx(between / total, abs=1e-12)


def test_every_metric_prefers_real_labels_to_shuffled():
    f, labels = _features(n=120, d=6, k=3, sep=3.0)
    shuffled = labels[torch.randperm(120, generator=torch.Generator().manual_seed(3))]
    logits = f[:, :3] * 2  # a "source head" whose classes line up with the targets
    for metric in scores.METRICS:
        real = scores.compute_score(metric, f, labels, logits)
        fake = scores.compute_score(metric, f, shuffled, logits)
        assert real > fake, metric


def test_bad_inputs():
    f, _ = _features()
    with pytest.raises(ConfigError, match="at least two classes"):
        scores.logme(f, torch.zeros(60, dtype=torch.long))
    with pytest.raises(ConfigError, match="Did you mean 'logme'"):
        scores.compute_score("logm", f, torch.arange(60) % 2)
    with pytest.raises(ConfigError, match="source classifier head"):
        scores.compute_score("leep", f, torch.arange(60) % 2)


def test_logme_stays_finite_when_features_interpolate_the_labels():
    # 20 samples in 64 dimensions: every labelling is fitted exactly, beta would run to infinity
    g = torch.Generator().manual_seed(4)
    f = torch.randn(20, 64, generator=g)
    labels = torch.arange(20) % 4
    value = scores.logme(f, labels)
    assert math.isfinite(value)
    u, sv, _ = torch.linalg.svd(f.double(), full_matrices=False)
    y = (labels == 0).double()
    ev = scores.logme_evidence(sv**2, u.T @ y, float(y @ y), *f.shape)
    assert ev.beta < 20 / scores.EPS  # held finite by the reference implementation's epsilon
    assert ev.value == pytest.approx(float(scores.log_evidence(f, y, ev.alpha, ev.beta)), abs=1e-6)


def test_ledoit_wolf_matches_the_papers_formula():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(15, 40, generator=g).double() @ torch.randn(40, 40, generator=g).double()
    x = x - x.mean(0)
    n, p = x.shape
    s = x.T @ x / n
    mu = torch.trace(s) / p
    d2 = ((s - mu * torch.eye(p, dtype=s.dtype)) ** 2).sum() / p
    b2 = sum(((torch.outer(xk, xk) - s) ** 2).sum() / p for xk in x) / n**2
    a = float(min(b2, d2) / d2)
    expected = (1 - a) * s + a * mu * torch.eye(p, dtype=s.dtype)
    torch.testing.assert_close(scores.ledoit_wolf(x), expected)
    assert 0 < a < 1


def test_hscore_still_ranks_when_images_are_fewer_than_dimensions():
    # with the plain pseudo-inverse every feature set would score exactly classes - 1 = 2 here
    f, labels = _features(n=30, d=50, k=3, sep=3.0)
    shuffled = labels[torch.randperm(30, generator=torch.Generator().manual_seed(0))]
    real, fake = scores.hscore(f, labels), scores.hscore(f, shuffled)
    assert 0 < fake < real and real != pytest.approx(2.0)
