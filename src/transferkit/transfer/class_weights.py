"""Class weights and balanced sampling for imbalanced classification data (``--class-weights``).

``auto`` weighs each class by the inverse of its frequency, exactly as scikit-learn's
``class_weight="balanced"``: ``w_c = N / (K * n_c)`` for ``N`` training images in ``K`` classes,
``n_c`` of them in class ``c``. The average weight over the training images is then 1, so a
balanced data set gets weight 1 everywhere and the loss keeps its scale. ``none`` leaves the loss
unweighted. The weights go to ``torch.nn.functional.cross_entropy(weight=...)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import torch

from transferkit.core.errors import ConfigError, DatasetError, did_you_mean
from transferkit.core.recipe import CLASS_WEIGHTS as CLASS_WEIGHT_MODES


def check_class_weight_mode(mode: str) -> str:
    """``mode`` when it is one of :data:`CLASS_WEIGHT_MODES`, else a ConfigError with a hint."""
    if mode not in CLASS_WEIGHT_MODES:
        raise ConfigError(
            f"unknown class weights {mode!r}; valid: {', '.join(CLASS_WEIGHT_MODES)}."
            + did_you_mean(str(mode), CLASS_WEIGHT_MODES),
            hint="pass --class-weights auto (inverse class frequency) or none",
        )
    return mode


def class_counts(labels: torch.Tensor | Sequence[int], num_classes: int) -> list[int]:
    """How many of ``labels`` fall in each of ``num_classes`` classes (absent classes count 0)."""
    labels = torch.as_tensor(labels, dtype=torch.long)
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise DatasetError(
            f"labels must be in [0, {num_classes - 1}], got values from "
            f"{int(labels.min())} to {int(labels.max())}",
            hint="check that the labels index the class list",
        )
    return torch.bincount(labels, minlength=num_classes).tolist()


def class_weights(
    counts: Sequence[int] | Mapping[str, int] | torch.Tensor, mode: str = "auto"
) -> torch.Tensor | None:
    """Per-class loss weights from the training images per class; ``None`` for mode ``none``.

    ``counts`` is a sequence in class order, a tensor, or a mapping class name -> count (its order
    is the class order, and the names appear in errors). Every class needs at least one training
    image: a class without any cannot be weighed by its frequency.
    """
    check_class_weight_mode(mode)
    names, values = _names_and_counts(counts)
    if mode == "none":
        return None
    empty = [name for name, n in zip(names, values) if n == 0]
    if empty:
        raise DatasetError(
            f"class weights need at least one training image per class; none for "
            f"{', '.join(map(repr, empty))}",
            hint="add training images of those classes, or pass --class-weights none",
        )
    n = torch.tensor(values, dtype=torch.float64)
    weights = n.sum() / (len(values) * n)
    return weights.to(torch.float32)


def named_class_weights(
    labels: torch.Tensor | Sequence[int], class_names: Sequence[str], mode: str = "auto"
) -> dict[str, float] | None:
    """Class name -> loss weight from the training ``labels`` (``None`` for mode ``none``).

    The run's form of :func:`class_weights`: the names appear in errors and in the run record.
    """
    counts = dict(zip(class_names, class_counts(labels, len(class_names))))
    weights = class_weights(counts, mode)
    return None if weights is None else dict(zip(counts, weights.tolist()))


def sample_weights(labels: torch.Tensor | Sequence[int], num_classes: int) -> torch.Tensor:
    """One weight per image, ``1 / n_c`` for its class ``c``, for balanced sampling.

    A ``torch.utils.data.WeightedRandomSampler`` given these weights draws every class equally
    often in expectation. Classes without images do not occur among the labels, so they need none.
    """
    labels = torch.as_tensor(labels, dtype=torch.long)
    counts = torch.tensor(class_counts(labels, num_classes), dtype=torch.float64)
    return (1.0 / counts[labels]).to(torch.float32)


def _names_and_counts(counts) -> tuple[list[str], list[int]]:
    """Class names (or indices as text) and the counts, each checked to be a whole number >= 0."""
    if isinstance(counts, Mapping):
        names, raw = [str(k) for k in counts], list(counts.values())
    else:
        raw = counts.tolist() if isinstance(counts, torch.Tensor) else list(counts)
        names = [str(i) for i in range(len(raw))]
    if not raw:
        raise ConfigError(
            "class weights need the count of at least one class, got none",
            hint="pass the number of training images per class",
        )
    for name, n in zip(names, raw):
        whole = isinstance(n, numbers.Integral) and not isinstance(n, bool)
        if not whole or n < 0:
            raise ConfigError(
                f"class counts must be whole numbers >= 0; class {name!r} has {n!r}",
                hint="pass the number of training images per class",
            )
    return names, [int(n) for n in raw]
