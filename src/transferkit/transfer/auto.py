"""``--strategy auto``: pick probe, head, gradual or full from the data and a quick probe.

Two measurements decide: how many training images each class has (the median over classes),
and how well the frozen features already separate the classes, read from a linear probe's
validation accuracy (features from the cache, so the probe costs one forward pass, or none when
the cache already holds them). The probe accuracy is rescaled so that chance is 0 and perfect
is 1, which makes the thresholds mean the same for 2 classes and for 100.

The rule, in order (the first that applies wins):

1. fewer than ``FEW`` images per class: ``probe`` (too few to fine-tune without overfitting);
2. probe quality at least ``GOOD``: ``probe`` (the frozen features already do the job);
3. fewer than ``SMALL`` images per class: ``head`` (train the head with augmentation only);
4. probe quality at least ``FAIR`` or fewer than ``LARGE`` images per class: ``gradual``;
5. otherwise (many images, features far from the task): ``full``.

These thresholds encode the usual advice on transfer learning (small data: freeze; data far
from the pretraining domain and plenty of it: fine-tune everything); they are defaults, not
measured optima, and ``transferkit compare`` measures the alternatives on a given data set.

This module decides only: the measurements come from the engine (``engine.run``), which builds
the backbone and reads the data set once for the decision and the run that follows.
"""

from __future__ import annotations

import statistics

from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError

FEW, SMALL, LARGE = 10, 50, 500  # median training images per class
GOOD, FAIR = 0.9, 0.5  # probe quality: (accuracy - chance) / (1 - chance)
THRESHOLDS = {"few": FEW, "small": SMALL, "large": LARGE, "good": GOOD, "fair": FAIR}


def check_auto_config(cfg: RunConfig) -> None:
    """Raise ConfigError unless ``--strategy auto`` can decide for ``cfg``'s task.

    The decision counts images per class and probes pooled features, which only classification
    has; the other tasks are refused before any work (backbone, data) is done.
    """
    if cfg.task != "classify":
        raise ConfigError(
            f"strategy 'auto' is for classification, not task {cfg.task!r}",
            hint="choose --strategy head, gradual, partial:N or full "
            "(`transferkit compare` measures them side by side)",
        )


def wants_probe(per_class: float) -> bool:
    """Whether the probe's accuracy can change the decision (not below ``FEW`` per class)."""
    return per_class >= FEW


def images_per_class(splits) -> float:
    """Median number of training images per class."""
    counts = {name: 0 for name in splits.class_names}
    for _, label in splits.train.samples:
        counts[splits.class_names[label]] += 1
    return float(statistics.median(counts.values()))


def decide(per_class: float, num_classes: int, probe_accuracy: float | None) -> tuple[str, str]:
    """The strategy and a one-line reason, from images per class and the probe's val accuracy."""
    if per_class < FEW:
        return "probe", (
            f"{per_class:g} training images per class (< {FEW}): too few to fine-tune; "
            "fitting a linear probe on frozen features"
        )
    if probe_accuracy is None:
        quality, said = 0.0, "no validation split to measure the probe on"
    else:
        chance = 1.0 / num_classes
        quality = (probe_accuracy - chance) / (1.0 - chance)
        said = f"probe val accuracy {probe_accuracy:.3f} (quality {quality:.2f})"
    if quality >= GOOD:
        return "probe", f"{said} >= {GOOD}: the frozen features already separate the classes"
    if per_class < SMALL:
        return "head", (
            f"{said}; {per_class:g} images per class (< {SMALL}): training the head with "
            "augmentation, backbone frozen"
        )
    if quality >= FAIR or per_class < LARGE:
        return "gradual", (
            f"{said}; {per_class:g} images per class: unfreezing the backbone gradually, "
            "deepest stage first"
        )
    return "full", (
        f"{said} < {FAIR} with {per_class:g} images per class (>= {LARGE}): the features are "
        "far from this task and there is data enough to fine-tune everything"
    )
