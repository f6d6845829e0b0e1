"""The semantic segmentation demo: ImageNet-pretrained vs random-init efficientnet_lite0.

First the real fluorescence image shipped in the package (:mod:`transferkit.data.demo.nuclei`,
BBBC038, CC0), tiled into 128-pixel crops (12 for training, 4 held out): FPN decoder, nuclei vs
background (mIoU), pretrained ``head`` vs random init ``full``. Then the generated scenes of the
detection demo (:mod:`transferkit.data.demo.scenes`, Fashion-MNIST items on varied backgrounds)
with per-pixel class masks, pretrained vs random init, both ``full``. Same architecture, data,
seed and budget in every pair, so the table shows what transfer buys.
``benchmarks/bench_segmentation.py`` adds pretrained ``full`` on nuclei and every combination.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from transferkit.core.fileio import atomic_write, atomic_write_text
from transferkit.data.demo.nuclei import materialize_semantic
from transferkit.data.demo.scenes import SCENE_CLASSES, render_scenes
from transferkit.data.masks import instances_to_class_mask, write_index_png
from transferkit.tasks.base import DemoRun, DemoSpec

# Sized so that the demo finishes in well under five minutes on two CPU cores (about a minute on
# a lightly loaded 2-core machine).
SEGMENT_SETTINGS = {
    "backbone": "efficientnet_lite0",
    "head": "fpn",
    "img_size": 128,
    "epochs": 12,
    "batch_size": 4,
    "lr": 3e-3,
    "patience": None,
    "seed": 0,
}
SCENES = {"train": 32, "val": 12}


def write_scene_masks(out: str | Path, counts: dict[str, int] = SCENES, seed: int = 0) -> Path:
    """Write generated scenes as an images/ + masks/ folder per split with a classes.txt."""
    out = Path(out)
    for split, n in counts.items():
        for i, scene in enumerate(render_scenes(n, split, seed)):
            h, w = scene.image.shape[:2]
            mask = instances_to_class_mask(list(scene.masks), list(scene.labels), h, w)
            im = Image.fromarray(np.ascontiguousarray(scene.image))
            atomic_write(
                out / split / "images" / f"scene_{i:03d}.png", lambda p, im=im: im.save(p, "PNG")
            )
            write_index_png(out / split / "masks" / f"scene_{i:03d}.png", mask)
    atomic_write_text(out / "classes.txt", "\n".join(["background", *SCENE_CLASSES]) + "\n")
    return out


def _prepare(out_dir: Path) -> dict[str, Path]:
    data = {"nuclei": out_dir / "nuclei", "scenes": out_dir / "scenes"}
    if not (data["nuclei"] / "classes.txt").is_file():
        materialize_semantic(data["nuclei"])
    if not (data["scenes"] / "classes.txt").is_file():
        write_scene_masks(data["scenes"])
    return data


DEMO = DemoSpec(
    task="segment",
    model="FPN on efficientnet_lite0",
    settings=SEGMENT_SETTINGS,
    runs=(
        DemoRun("pretrained, head", "auto", "head", data="nuclei"),
        DemoRun("random init, full", "none", "full", data="nuclei"),
        DemoRun("pretrained, full", "auto", "full", data="scenes"),
        DemoRun("random init, full", "none", "full", data="scenes"),
    ),
    metrics=("miou", "pixel_accuracy", "dice"),
    prepare=_prepare,
    about=(
        "demo data: real nuclei image (BBBC038, CC0) tiled into 128 px crops in {nuclei}",
        "           generated scenes (Fashion-MNIST items, MIT), class masks in {scenes}",
    ),
)
