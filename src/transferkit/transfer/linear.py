"""Multinomial logistic regression on features: the maths of the linear probe.

The head is fitted full-batch with L-BFGS on standardised features; its L2 strength is chosen on
the validation split from a small grid, strongest first, each fit warm-started from the previous
one. With 0/1 targets of shape (N, K) (multi-label), the same fit is K one-vs-rest logistic
regressions at once (binary cross-entropy per label, the same L2 for each), chosen on val by
macro average precision. :func:`fold_standardisation` turns the fit on standardised features back into one on raw
features, which is what a model's ``nn.Linear`` head then holds.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from transferkit.transfer.multilabel import average_precisions

L2_GRID = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
DEFAULT_L2 = 1e-4  # used when there is no validation split to choose on


@dataclass
class LinearFit:
    """A fitted multinomial logistic regression ``logits = x @ weight.T + bias``."""

    weight: torch.Tensor  # (K, D)
    bias: torch.Tensor  # (K,)
    l2: float
    iterations: int

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.T + self.bias


def fit_logistic(
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    l2: float,
    *,
    init: LinearFit | None = None,
    max_iter: int = 200,
) -> LinearFit:
    """Minimise ``mean CE(x W^T + b, y) + l2 / 2 * ||W||^2`` with full-batch L-BFGS.

    With ``y`` of shape (N, K) (multi-label 0/1 targets) the loss is the binary cross-entropy
    summed over labels and averaged over images: K independent one-vs-rest fits, each with its
    own ``mean BCE + l2 / 2 * ||w_k||^2``. The bias is not penalised. ``init`` warm-starts from a previous fit (the grid search goes from
    strong to weak regularisation, where each optimum is close to the last).
    """
    k, d = num_classes, x.shape[1]
    w = init.weight.clone() if init else torch.zeros(k, d, dtype=x.dtype, device=x.device)
    b = init.bias.clone() if init else torch.zeros(k, dtype=x.dtype, device=x.device)
    w.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.LBFGS(
        [w, b],
        lr=1.0,
        max_iter=max_iter,
        history_size=20,
        tolerance_grad=1e-6,
        tolerance_change=1e-10,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = data_loss(x @ w.T + b, y) + l2 / 2 * (w * w).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    iterations = opt.state_dict()["state"].get(0, {}).get("n_iter", 0)
    return LinearFit(w.detach(), b.detach(), l2, int(iterations))


def data_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for class indices ``y`` (N,); summed per-label BCE for 0/1 targets (N, K)."""
    if y.dim() == 2:
        return F.binary_cross_entropy_with_logits(logits, y.to(logits), reduction="sum") / len(y)
    return F.cross_entropy(logits, y)


def val_score(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy for class indices ``y``; macro average precision for 0/1 targets (N, K)."""
    if y.dim() == 2:
        return average_precisions(logits, y)[1]
    return float((logits.argmax(1) == y).float().mean())


def select_l2(
    train_x, train_y, val_x, val_y, num_classes: int, grid: tuple[float, ...] = L2_GRID
) -> tuple[LinearFit, list[dict[str, Any]]]:
    """Fit every L2 strength of ``grid``; keep the best validation score (ties: lower loss).

    The score is accuracy, or macro average precision for multi-label targets (:func:`val_score`).
    """
    rows, best, best_key, prev = [], None, None, None
    for l2 in grid:
        start = time.perf_counter()
        fit = fit_logistic(train_x, train_y, num_classes, l2, init=prev)
        with torch.no_grad():
            val_logits = fit.logits(val_x)
            acc = val_score(val_logits, val_y)
            val_loss = float(data_loss(val_logits, val_y))
            train_loss = float(data_loss(fit.logits(train_x), train_y))
        rows.append(
            {
                "l2": l2,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_map_macro" if val_y.dim() == 2 else "val_accuracy": acc,
                "iterations": fit.iterations,
                "seconds": round(time.perf_counter() - start, 3),
            }
        )
        key = (acc, -val_loss)
        if best_key is None or key > best_key:
            best, best_key = fit, key
        prev = fit
    return best, rows


def fold_standardisation(fit: LinearFit, mean: torch.Tensor, std: torch.Tensor) -> LinearFit:
    """The same classifier on raw features: ``((x - mean) / std) W^T + b = x W'^T + b'``."""
    weight = fit.weight / std
    return LinearFit(weight, fit.bias - weight @ mean, fit.l2, fit.iterations)


@contextmanager
def threads_for(work: int, device: torch.device):
    """One CPU thread for small fits: L-BFGS runs many tiny ops, and on a busy machine the
    threads of each op wait on each other far longer than the op takes (measured: 0.13 s with
    one thread against 1-6 s with two on a loaded 2-core machine, for 200 x 1280 features)."""
    before = torch.get_num_threads()
    small = device.type == "cpu" and work < 50_000_000
    if small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if small:
            torch.set_num_threads(before)
