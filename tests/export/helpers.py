"""Run directories made by hand (random-init model, no training) and tiny images for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from transferkit.core.config import RunConfig
from transferkit.runs import checkpoint as ckpt
from transferkit.runs.rundir import RunDir
from transferkit.tasks import get_task
from transferkit.zoo import create_backbone

BACKBONE = "timm:mobilenetv3_small_050"


def make_run(
    root: Path,
    task: str = "classify",
    class_names=("cat", "dog", "fox"),
    backbone: str = BACKBONE,
    img_size: int = 32,
    **settings,
) -> Path:
    """A run directory holding a seeded random-init model, as `transferkit train` leaves one."""
    cfg = RunConfig(task=task).with_values(
        path=str(root / "data"), backbone=backbone, weights="none", img_size=img_size, **settings
    )
    torch.manual_seed(0)
    bb = create_backbone(backbone, weights="none")
    model = get_task(task).build_model(bb, len(class_names), cfg.model)
    run = RunDir(root)
    cfg.save(run.config)
    run.write_classes(list(class_names), bb.data_config)
    ckpt.save_model(run.best, model, {"epoch": 1, "task": task})
    return root


def write_images(folder: Path, sizes=((40, 30), (32, 48), (64, 64)), seed: int = 0) -> list[Path]:
    """Random RGB PNGs of the given (width, height) sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i, (w, h) in enumerate(sizes):
        p = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths
