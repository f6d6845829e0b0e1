"""What every run starts from, built once: the seeded backbone and the data set it reads.

``engine.run`` prepares once and hands the result to the decision (``--strategy auto``) and to the
run that follows (the probe or the loop), so a run builds its backbone and reads its data once.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.runs.carry import create_backbone
from transferkit.tasks import get_task
from transferkit.transfer.class_weights import named_class_weights


@dataclass
class Prepared:
    """The task object, the backbone (pretrained weights loaded) and the data splits of a run."""

    task: Any
    backbone: Any
    splits: Any


def prepare(cfg: RunConfig) -> Prepared:
    """Seed every RNG, build ``cfg``'s backbone and read its data set with the backbone's
    preprocessing.

    Seeding first makes a random-init backbone (and the new head built next) the same for the same
    seed.
    """
    seed_everything(cfg.train.seed)
    task = get_task(cfg.task, cfg)
    console.info(f"backbone {cfg.model.backbone} (weights: {cfg.model.weights})")
    # Detection's ``--weights coco`` file holds the backbone too: the task loads it.
    weights = "none" if cfg.model.weights == "coco" else cfg.model.weights
    backbone = create_backbone(cfg.model.backbone, weights)  # weights may be run:RUNDIR
    splits = task.load_data(cfg, backbone.data_config)
    task, splits = with_class_weights(cfg, task, splits)
    return Prepared(task, backbone, splits)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's RNGs as Lightning's ``seed_everything`` does
    (``PL_GLOBAL_SEED`` included, which Fabric's spawned processes read), without importing
    Lightning: the probe, ``rank`` and ``evaluate`` never need it."""
    os.environ["PL_GLOBAL_SEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PL_SEED_WORKERS"] = "0"


def with_class_weights(cfg: RunConfig, task, splits):
    """``--class-weights auto``: the task weighing its training loss by the train split's class
    frequencies, and the splits with the weights in their summary (the run's ``data.json``).

    ``none`` returns both unchanged. The config check has already refused tasks other than
    classification.
    """
    if cfg.train.class_weights == "none":
        return task, splits
    own = getattr(task, "class_weights_of", None)  # multi-label: BCE's pos_weight
    if own is not None:
        weights, how = own(splits, splits.class_names), "negatives / positives per label of train"
    else:
        labels = [label for _, label in splits.train.samples]
        weights = named_class_weights(labels, splits.class_names, cfg.train.class_weights)
        how = "inverse class frequency of train"
    low, high = min(weights.values()), max(weights.values())
    console.info(
        f"class weights {cfg.train.class_weights} ({how}): "
        f"{low:.3g} to {high:.3g} over {len(weights)} classes; validation loss unweighted"
    )
    summary = {**splits.summary, "class_weights": weights}
    return task.with_class_weights(weights.values()), replace(splits, summary=summary)
