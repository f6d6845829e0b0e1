"""Learning curve: would more labels help?

The linear probe is refitted on 10, 25, 50 and 100 % of the labelled training features (stratified
subsets, each nested in the next, drawn with a seed) and scored on the validation split, its L2
strength chosen there as :func:`transferkit.transfer.linear.select_l2` chooses it for the probe.
The answer reads the slope over the last doubling of the labels: when accuracy still climbs by
more than ``threshold`` per doubling, more labels are likely to pay off. The probe is the cheap
stand-in for a trained model (features come from the cache), so the curve costs seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from transferkit.core.errors import ConfigError
from transferkit.transfer.linear import L2_GRID, select_l2, threads_for

DEFAULT_FRACTIONS = (0.1, 0.25, 0.5, 1.0)
DEFAULT_THRESHOLD = 0.01  # accuracy gained per doubling of the labels that counts as "helps"


@dataclass(frozen=True)
class CurvePoint:
    """The probe fitted on ``fraction`` of the training labels (``images`` of them)."""

    fraction: float
    images: int
    val_accuracy: float
    l2: float


@dataclass(frozen=True)
class LearningCurve:
    """The points of the curve and the one-line answer to "would more labels help?"."""

    points: tuple[CurvePoint, ...]
    slope_per_doubling: float  # accuracy gained per doubling of the labels, over the last one
    more_labels_help: bool
    answer: str

    def to_dict(self) -> dict:
        """Plain-JSON form (for the command's output file)."""
        return {
            "points": [asdict(p) for p in self.points],
            "slope_per_doubling": self.slope_per_doubling,
            "more_labels_help": self.more_labels_help,
            "answer": self.answer,
        }


def learning_curve(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    num_classes: int,
    *,
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS,
    seed: int = 0,
    grid: tuple[float, ...] = L2_GRID,
    threshold: float = DEFAULT_THRESHOLD,
) -> LearningCurve:
    """Probe accuracy on val at each of ``fractions`` of the training labels, and the answer.

    Features are raw (as the cache holds them); each subset is standardised with its own mean and
    standard deviation, as the probe is.
    """
    _check_fractions(fractions)
    if not threshold >= 0.0:
        raise ConfigError(
            f"learning curve threshold must be >= 0, got {threshold!r}",
            hint="e.g. 0.01: one accuracy point per doubling of the labels",
        )
    points = []
    subsets = stratified_subsets(train_y, fractions, seed=seed)
    with threads_for(train_x.numel() * num_classes, train_x.device):
        for fraction, idx in zip(fractions, subsets):
            x = train_x[idx]
            mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
            fit, rows = select_l2(
                (x - mean) / std, train_y[idx], (val_x - mean) / std, val_y, num_classes, grid
            )
            acc = max(r["val_accuracy"] for r in rows)
            points.append(CurvePoint(fraction, len(idx), acc, fit.l2))
    return _answer(tuple(points), threshold)


def stratified_subsets(
    labels: torch.Tensor, fractions: tuple[float, ...], *, seed: int = 0
) -> list[torch.Tensor]:
    """Indices of ``fractions`` of ``labels``, per class in proportion, each nested in the next.

    Every class keeps at least one image. The same seed draws the same subsets.
    """
    _check_fractions(fractions)
    g = torch.Generator().manual_seed(seed)
    labels = labels.cpu()
    orders = [
        members[torch.randperm(len(members), generator=g)]
        for members in (torch.nonzero(labels == c).flatten() for c in labels.unique())
    ]
    out = []
    for fraction in fractions:
        take = [order[: max(1, round(fraction * len(order)))] for order in orders]
        out.append(torch.cat(take).sort().values)
    return out


def _answer(points: tuple[CurvePoint, ...], threshold: float) -> LearningCurve:
    """Slope over the last step of the curve, per doubling of the labels, and its reading."""
    last = points[-1]
    smaller = [p for p in points if p.images < last.images]
    if not smaller:  # so few images that every fraction kept one per class
        answer = f"cannot tell: every subset has the same {last.images} labelled images"
        return LearningCurve(points, 0.0, False, answer)
    before = smaller[-1]
    slope = (last.val_accuracy - before.val_accuracy) / math.log2(last.images / before.images)
    helps = slope > threshold
    span = (
        f"val accuracy {before.val_accuracy:.3f} -> {last.val_accuracy:.3f} from "
        f"{before.images} to {last.images} labelled images ({100 * slope:+.1f} points per doubling)"
    )
    if helps:
        answer = f"more labels would likely help: {span}"
    else:
        answer = f"more labels would likely not help much: {span}; the probe has levelled off"
    return LearningCurve(points, slope, helps, answer)


def parse_fractions(text: str | Sequence[float]) -> tuple[float, ...]:
    """``"0.1,0.25,0.5,1"`` (or numbers) into checked fractions of the labels for the curve.

    At least two increasing values in (0, 1]; anything else is a ConfigError naming the value.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        values = tuple(float(v) for v in items if not isinstance(v, str) or v.strip())
    except (TypeError, ValueError):
        values = ()
    ok = len(values) >= 2 and all(0.0 < v <= 1.0 for v in values)
    if not ok or list(values) != sorted(set(values)):
        shown = text if isinstance(text, str) else ",".join(map(str, items))
        raise ConfigError(
            f"invalid fractions {shown!r}: expected at least two increasing shares of the "
            "labels, each above 0 and at most 1",
            hint="e.g. --fractions 0.1,0.25,0.5,1 (fractions=(0.1, 0.25, 0.5, 1.0) in the API)",
        )
    return values


def _check_fractions(fractions: tuple[float, ...]) -> None:
    ok = len(fractions) >= 2 and all(
        isinstance(f, (int, float)) and not isinstance(f, bool) and 0.0 < f <= 1.0
        for f in fractions
    )
    if not ok or list(fractions) != sorted(set(fractions)):
        raise ConfigError(
            f"learning curve fractions must be at least two increasing values in (0, 1], "
            f"got {fractions!r}",
            hint="e.g. 0.1 0.25 0.5 1.0",
        )
