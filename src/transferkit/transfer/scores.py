"""Transferability scores: how well a frozen backbone's features suit a labelled target set.

Each score takes the pooled features (N, D) of the target images and their integer labels; LEEP
and NCE also need the source (ImageNet) head's logits on the same images. Higher is better for all
of them, so a ranking sorts by score, descending. Everything is computed in float64 because the
evidence sums thousands of logs.

* LogME (You et al., ICML 2021): per class, the log marginal likelihood of a one-vs-rest Bayesian
  linear regression on the features, with the prior precision alpha and the noise precision beta
  set by evidence maximisation (MacKay's fixed-point updates, computed over the SVD of the
  features); the score is the mean over classes of the maximised evidence divided by N.
* LEEP (Nguyen et al., ICML 2020): the mean log-likelihood of the "expected empirical predictor"
  that maps source-class probabilities to target classes through their empirical joint.
* NCE (Tran et al., ICCV 2019): minus the conditional entropy H(Y | Z) of the target label given
  the source head's hard prediction Z.
* H-score (Bao et al., ICIP 2019): tr(cov(f)^-1 cov(E[f | y])), the share of feature variance
  that the class means explain; cov(f) shrunk by Ledoit-Wolf (Ibrahim et al., 2022), because with
  fewer images than dimensions the plain estimate makes every backbone score ``classes - 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from transferkit.core.errors import ConfigError, did_you_mean

METRICS = ("logme", "leep", "nce", "hscore")
EPS = 1e-5
NEEDS_SOURCE_HEAD = frozenset({"leep", "nce"})


@dataclass(frozen=True)
class Evidence:
    """One evidence maximisation: log evidence / N at the optimum, its alpha and beta."""

    value: float
    alpha: float
    beta: float
    iterations: int


def _check(features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if features.ndim != 2:
        raise ConfigError(f"features must be (N, D), got shape {tuple(features.shape)}")
    labels = torch.as_tensor(labels).long().reshape(-1)
    if labels.numel() != features.shape[0]:
        raise ConfigError(f"{features.shape[0]} feature rows but {labels.numel()} labels")
    if labels.unique().numel() < 2:
        raise ConfigError(
            f"a transferability score needs at least two classes, got {labels.unique().tolist()}",
            hint="add images of a second class to the data set",
        )
    return features.detach().double(), labels


def log_evidence(
    features: torch.Tensor, y: torch.Tensor, alpha: float, beta: float
) -> torch.Tensor:
    """Log evidence / N of ``y ~ N(F w, 1/beta)``, ``w ~ N(0, 1/alpha)``, computed directly.

    This is the plain textbook formula with an explicit D x D posterior precision matrix; it is the
    reference that the SVD-based fixed point in :func:`logme_evidence` is checked against.
    """
    f = features.double()
    y = y.double()
    n, d = f.shape
    a = alpha * torch.eye(d, dtype=f.dtype) + beta * f.T @ f
    m = beta * torch.linalg.solve(a, f.T @ y)
    residual = ((y - f @ m) ** 2).sum()
    logdet = torch.linalg.slogdet(a).logabsdet
    value = (
        d / 2 * math.log(alpha)
        + n / 2 * math.log(beta)
        - logdet / 2
        - beta / 2 * residual
        - alpha / 2 * (m @ m)
        - n / 2 * math.log(2 * math.pi)
    )
    return value / n


def logme_evidence(
    s: torch.Tensor,
    z: torch.Tensor,
    y_norm2: float,
    n: int,
    d: int,
    *,
    tol: float = 1e-6,
    max_iter: int = 200,
) -> Evidence:
    """Maximise the evidence of one target column by the fixed-point updates of alpha and beta.

    ``s`` holds the squared singular values of the N x D feature matrix F (length r = rank) and
    ``z = U^T y`` the target projected onto F's left singular vectors; ``y_norm2 = ||y||^2``. With
    these, every quantity of the update is a sum over r terms (the D - r zero eigenvalues of F^T F
    only add ``(D - r) log alpha`` to the log determinant).
    """
    alpha, beta = 1.0, 1.0
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        denom = alpha + beta * s
        gamma = (beta * s / denom).sum()
        m2 = (beta**2 * s * z**2 / denom**2).sum()  # ||m||^2 with m = beta A^-1 F^T y
        res2 = y_norm2 - (z**2).sum() + ((alpha * z / denom) ** 2).sum()  # ||y - F m||^2
        # The 1e-5 of the reference implementation keeps beta finite when the features fit the
        # labels exactly (N <= D): the evidence then keeps growing as the noise variance -> 0.
        new_alpha = float(gamma / (m2 + EPS))
        new_beta = float((n - gamma) / (res2 + EPS))
        done = abs(new_alpha / new_beta - alpha / beta) <= tol * (alpha / beta)
        alpha, beta = new_alpha, new_beta
        if done:
            break
    denom = alpha + beta * s
    m2 = (beta**2 * s * z**2 / denom**2).sum()
    res2 = y_norm2 - (z**2).sum() + ((alpha * z / denom) ** 2).sum()
    r = s.numel()
    logdet = torch.log(denom).sum() + (d - r) * math.log(alpha)
    value = (
        d / 2 * math.log(alpha)
        + n / 2 * math.log(beta)
        - logdet / 2
        - beta / 2 * res2
        - alpha / 2 * m2
        - n / 2 * math.log(2 * math.pi)
    )
    return Evidence(float(value) / n, alpha, beta, iterations)


def logme(features: torch.Tensor, labels: torch.Tensor) -> float:
    """LogME: mean over classes of the maximised log evidence / N of a one-vs-rest regression."""
    f, labels = _check(features, labels)
    n, d = f.shape
    u, sv, _ = torch.linalg.svd(f, full_matrices=False)
    keep = sv > sv.max() * max(n, d) * torch.finfo(f.dtype).eps  # drop numerically zero directions
    u, s = u[:, keep], sv[keep] ** 2
    values = []
    for c in labels.unique():
        y = (labels == c).double()
        values.append(logme_evidence(s, u.T @ y, float(y @ y), n, d).value)
    return sum(values) / len(values)


def logme_multilabel(features: torch.Tensor, targets: torch.Tensor) -> float:
    """LogME for multi-label targets (N, K) of 0/1: the mean over labels of the maximised log
    evidence / N of each label's 0/1 column, the same one-vs-rest regression as :func:`logme`.

    Labels held by no image or by every image carry no information and are left out.
    """
    if features.ndim != 2 or targets.ndim != 2 or targets.shape[0] != features.shape[0]:
        raise ConfigError(
            f"features (N, D) and targets (N, K) expected, got {tuple(features.shape)} and "
            f"{tuple(targets.shape)}"
        )
    f, t = features.detach().double(), targets.detach().double()
    n, d = f.shape
    counts = t.sum(0)
    keep = (counts > 0) & (counts < n)
    if not bool(keep.any()):
        raise ConfigError(
            "a transferability score needs a label that some images have and others lack",
            hint="check the labels of the data set",
        )
    u, sv, _ = torch.linalg.svd(f, full_matrices=False)
    nonzero = sv > sv.max() * max(n, d) * torch.finfo(f.dtype).eps
    u, s = u[:, nonzero], sv[nonzero] ** 2
    values = [
        logme_evidence(s, u.T @ t[:, j], float(t[:, j] @ t[:, j]), n, d).value
        for j in range(t.shape[1])
        if keep[j]
    ]
    return sum(values) / len(values)


def leep(source_logits: torch.Tensor, labels: torch.Tensor) -> float:
    """LEEP: mean log-probability of the true label under the expected empirical predictor."""
    logits, labels = _check(source_logits, labels)
    theta = torch.softmax(logits, dim=1)  # (N, Z) source-class probabilities
    n = theta.shape[0]
    onehot = torch.nn.functional.one_hot(labels, int(labels.max()) + 1).double()  # (N, K)
    joint = onehot.T @ theta / n  # P(y, z)
    cond = joint / joint.sum(dim=0, keepdim=True).clamp_min(1e-300)  # P(y | z)
    eep = theta @ cond.T  # (N, K): sum_z P(y | z) theta_z(x)
    return float(torch.log(eep[torch.arange(n), labels]).mean())


def nce(source_logits: torch.Tensor, labels: torch.Tensor) -> float:
    """NCE: -H(Y | Z) with Z the source head's predicted class, from empirical counts."""
    logits, labels = _check(source_logits, labels)
    z = logits.argmax(dim=1)
    n = labels.numel()
    _, z_idx = z.unique(return_inverse=True)
    joint = torch.zeros(int(z_idx.max()) + 1, int(labels.max()) + 1, dtype=torch.float64)
    joint.index_put_((z_idx, labels), torch.ones(n, dtype=torch.float64), accumulate=True)
    joint /= n  # P(z, y)
    cond = joint / joint.sum(dim=1, keepdim=True)  # P(y | z)
    nz = joint > 0
    return float((joint[nz] * torch.log(cond[nz])).sum())


def hscore(features: torch.Tensor, labels: torch.Tensor) -> float:
    """H-score ``tr(cov(f)^-1 cov(E[f | y]))`` with a Ledoit-Wolf shrunk ``cov(f)``.

    With fewer images than feature dimensions the sample covariance is singular, and with its
    pseudo-inverse every backbone scores exactly ``classes - 1``. Shrinking it towards a scaled
    identity (Ibrahim et al., 2022) keeps the score informative; with many images per dimension
    the shrinkage goes to zero and the original H-score comes back.
    """
    f, labels = _check(features, labels)
    f = f - f.mean(dim=0, keepdim=True)
    n = f.shape[0]
    cov = ledoit_wolf(f)
    classes, idx = labels.unique(return_inverse=True)
    means = torch.zeros(classes.numel(), f.shape[1], dtype=f.dtype).index_add_(0, idx, f)
    means /= torch.bincount(idx).double().unsqueeze(1)
    g = means[idx]  # each sample replaced by its class mean
    cov_g = g.T @ g / n
    return float(torch.trace(torch.linalg.solve(cov, cov_g)))


def ledoit_wolf(x: torch.Tensor) -> torch.Tensor:
    """Ledoit-Wolf covariance of centred rows ``x``: ``(1 - a) S + a (tr S / D) I``.

    The shrinkage ``a`` is the closed-form estimate of Ledoit & Wolf (2004), as in
    scikit-learn's ``ledoit_wolf_shrinkage``.
    """
    n, d = x.shape
    s = x.T @ x / n
    mu = torch.trace(s) / d
    x2 = x * x
    beta = ((x2.T @ x2).sum() / n - (s * s).sum()) / (d * n)
    delta = ((s * s).sum() - 2 * mu * torch.trace(s) + d * mu * mu) / d
    beta = torch.minimum(beta, delta)
    a = float(beta / delta) if delta > 0 else 0.0
    return (1 - a) * s + a * mu * torch.eye(d, dtype=x.dtype)


def check_metric(metric: str) -> str:
    """Return ``metric`` if it names a score, else raise ConfigError with did-you-mean."""
    if metric not in METRICS:
        raise ConfigError(
            f"unknown metric {metric!r}.{did_you_mean(metric, METRICS)}",
            hint=f"valid metrics: {', '.join(METRICS)}",
        )
    return metric


def compute_score(
    metric: str,
    features: torch.Tensor,
    labels: torch.Tensor,
    source_logits: torch.Tensor | None = None,
) -> float:
    """Score ``features`` (``source_logits`` for LEEP and NCE) against ``labels`` by ``metric``."""
    check_metric(metric)
    if labels.ndim == 2:  # multi-label 0/1 targets
        if metric != "logme":
            raise ConfigError(
                f"metric {metric!r} scores single-label data; multi-label data is ranked by logme",
                hint="use --metric logme with --task multilabel",
            )
        return logme_multilabel(features, labels)
    if metric in NEEDS_SOURCE_HEAD:
        if source_logits is None:
            raise ConfigError(
                f"metric {metric!r} needs the source classifier head's logits, which this "
                "backbone does not provide",
                hint="use --metric logme or hscore, or a backbone with its ImageNet head",
            )
        return leep(source_logits, labels) if metric == "leep" else nce(source_logits, labels)
    return logme(features, labels) if metric == "logme" else hscore(features, labels)
