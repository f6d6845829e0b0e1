"""What every run starts from, built once: the seeded backbone and the data set it reads.

``engine.run`` prepares once and hands the result to the decision (``--strategy auto``) and to the
run that follows (the probe or the loop), so a run builds its backbone and reads its data once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lightning.fabric import Fabric

from transferkit import zoo
from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.tasks import get_task


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
    Fabric.seed_everything(cfg.train.seed, verbose=False)
    task = get_task(cfg.task, cfg)
    console.info(f"backbone {cfg.model.backbone} (weights: {cfg.model.weights})")
    # Detection's ``--weights coco`` file holds the backbone too: the task loads it.
    weights = "none" if cfg.model.weights == "coco" else cfg.model.weights
    backbone = zoo.create_backbone(cfg.model.backbone, weights=weights)
    splits = task.load_data(cfg, backbone.data_config)
    return Prepared(task, backbone, splits)
