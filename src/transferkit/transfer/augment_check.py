"""The augmentation check: does an augmentation change what the images mean?

Before training, the fitted linear probe scores the validation images twice: clean, and under
each single augmentation (:func:`transferkit.data.augment.single_augmentations`). An augmentation
that costs the probe more than ``threshold`` of accuracy, beyond what the validation set's size can
tell apart from noise, turns a class into another (a flipped 2 is not a 2; a flipped "b" is a
"d") and is turned off. Everything here is a pure function of tensors: the caller extracts the
features, this module only decides.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from transferkit.core.errors import ConfigError
from transferkit.data.augment import DESCRIPTIONS
from transferkit.transfer.linear import LinearFit

DEFAULT_THRESHOLD = 0.02  # accuracy points an augmentation may cost the probe and stay on
DEFAULT_Z = 2.0  # standard errors of the paired accuracy difference counted as noise


@dataclass(frozen=True)
class AugmentVerdict:
    """What one augmentation does to the probe's validation accuracy, and the decision."""

    name: str
    clean_accuracy: float
    augmented_accuracy: float
    drop: float  # clean - augmented
    allowed_drop: float  # threshold + noise margin
    keep: bool

    def line(self) -> str:
        """One human-readable line, e.g. ``hflip turned off: probe accuracy 0.94 -> 0.81 …``."""
        what = DESCRIPTIONS.get(self.name, "augmented")
        verb = "kept" if self.keep else "turned off"
        return (
            f"{self.name} {verb}: probe accuracy {self.clean_accuracy:.2f} -> "
            f"{self.augmented_accuracy:.2f} on {what} val images"
        )


@dataclass(frozen=True)
class AugmentCheck:
    """The verdicts of every checked augmentation, in the order they were given."""

    verdicts: tuple[AugmentVerdict, ...]
    threshold: float
    val_size: int

    @property
    def turned_off(self) -> list[str]:
        """Names of the augmentations to turn off (for :func:`transferkit.data.augment.turn_off`)."""
        return [v.name for v in self.verdicts if not v.keep]

    def lines(self) -> list[str]:
        """One line per turned-off augmentation, saying why."""
        return [v.line() for v in self.verdicts if not v.keep]

    def to_dict(self) -> dict:
        """Plain-JSON form, to record in the run directory."""
        return {
            "threshold": self.threshold,
            "val_size": self.val_size,
            "turned_off": self.turned_off,
            "verdicts": [asdict(v) for v in self.verdicts],
        }


def check_augmentations(
    probe: LinearFit | tuple[torch.Tensor, torch.Tensor],
    clean: torch.Tensor,
    labels: torch.Tensor,
    augmented: dict[str, torch.Tensor],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    z: float = DEFAULT_Z,
) -> AugmentCheck:
    """Score ``probe`` on ``clean`` and on each ``augmented`` feature set; keep or turn off each.

    ``clean`` (N, D) are the features of the validation images, ``augmented[name]`` (N, D) the
    features of the *same* images, in the same order, under augmentation ``name``; ``labels``
    (N,) their classes. ``probe`` is a :class:`LinearFit` or ``(weight, bias)`` that takes these
    features as they are (fold any standardisation in first). An augmentation is turned off when
    its accuracy drop exceeds ``threshold`` plus ``z`` standard errors of the paired difference
    (the same images scored twice, so only the images whose verdict changed add noise).
    """
    _check_args(threshold, z)
    weight, bias = (probe.weight, probe.bias) if isinstance(probe, LinearFit) else probe
    _check_shapes(weight, bias, clean, labels, augmented)
    clean_right = _correct(weight, bias, clean, labels)
    verdicts = []
    for name, feats in augmented.items():
        right = _correct(weight, bias, feats, labels)
        drop = float((clean_right - right).mean())
        allowed = threshold + z * paired_standard_error(clean_right, right)
        verdicts.append(
            AugmentVerdict(
                name=name,
                clean_accuracy=float(clean_right.mean()),
                augmented_accuracy=float(right.mean()),
                drop=drop,
                allowed_drop=allowed,
                keep=drop <= allowed,
            )
        )
    return AugmentCheck(tuple(verdicts), threshold, int(labels.numel()))


def paired_standard_error(before: torch.Tensor, after: torch.Tensor) -> float:
    """Standard error of ``mean(before - after)`` for 0/1 outcomes of the same items.

    ``sqrt(var(d) / n)`` with the sample variance of ``d = before - after``; zero with one item.
    """
    d = (before - after).double()
    n = d.numel()
    if n < 2:
        return 0.0
    return math.sqrt(float(d.var(unbiased=True)) / n)


def _correct(weight, bias, feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        logits = feats.to(weight.dtype) @ weight.T + bias
    return (logits.argmax(1) == labels.to(logits.device)).double()


def _check_args(threshold: float, z: float) -> None:
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(
            f"augmentation check threshold must be in [0, 1] (accuracy), got {threshold!r}",
            hint="e.g. 0.02 turns off an augmentation that costs the probe 2 points",
        )
    if not z >= 0.0:  # written so that NaN fails too
        raise ConfigError(
            f"augmentation check noise margin z must be >= 0, got {z!r}",
            hint="e.g. 2.0 standard errors; 0 trusts every difference",
        )


def _check_shapes(weight, bias, clean, labels, augmented) -> None:
    k, d = weight.shape
    problems = [] if clean.shape[0] else ["no validation images"]
    if bias.shape != (k,):
        problems.append(f"bias {tuple(bias.shape)} for weight {tuple(weight.shape)}")
    if clean.ndim != 2 or clean.shape[1] != d:
        problems.append(f"clean features {tuple(clean.shape)} for a probe on {d} features")
    if labels.shape != (clean.shape[0],):
        problems.append(f"labels {tuple(labels.shape)} for {clean.shape[0]} feature rows")
    for name, feats in augmented.items():
        if feats.shape != clean.shape:
            problems.append(f"{name!r} features {tuple(feats.shape)} != clean {tuple(clean.shape)}")
    if problems:
        raise ConfigError(
            "augmentation check: " + "; ".join(problems),
            hint="pass features of the same validation images, in the same order, per augmentation",
        )
