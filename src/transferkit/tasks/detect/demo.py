"""The detection demo: ImageNet-pretrained vs random-init backbone on generated scenes.

The scenes (:mod:`transferkit.data.demo.scenes`) are written as COCO under the output folder, then
Faster R-CNN on efficientnet_lite0 is trained twice with the same data, seed and budget: once from
the real ImageNet weights (``gradual`` unfreezing) and once from random init (everything trains).
COCO mAP on the held-out test scenes shows what transfer buys.
"""

from __future__ import annotations

from pathlib import Path

from transferkit.data.demo.scenes import SCENE_CLASSES, write_scenes
from transferkit.tasks.base import DemoRun, DemoSpec

SCENES = {"n_train": 120, "n_val": 24, "n_test": 40, "seed": 0}
# Sized for about four minutes for both runs on two CPU cores: one epoch of the random-init run
# (every stage training; 120 training and 24 validation scenes through Faster R-CNN with its
# 128-channel pyramid at 128 px) costs about 25 s of single-thread CPU.
DEMO_SETTINGS = {
    "backbone": "efficientnet_lite0",
    "detector": "faster_rcnn",
    "img_size": 128,
    "epochs": 6,
    "batch_size": 4,
    "lr": 1e-3,
    "seed": 0,
}


def _prepare(out_dir: Path) -> dict[str, Path]:
    data = out_dir / "scenes"
    if not (data / "train" / "_annotations.coco.json").is_file():
        write_scenes(data, **SCENES)
    return {"data": data}


DEMO = DemoSpec(
    task="detect",
    model="Faster R-CNN on efficientnet_lite0",
    settings=DEMO_SETTINGS,
    runs=(
        DemoRun("pretrained, gradual", "auto", "gradual"),
        DemoRun("random init, full", "none", "full"),
    ),
    metrics=("map", "map_50"),
    prepare=_prepare,
    about=(
        f"demo data: {SCENES['n_train']} train / {SCENES['n_val']} val / {SCENES['n_test']} test "
        f"scenes of {len(SCENE_CLASSES)} Fashion-MNIST classes (MIT, Zalando SE) in {{data}}",
    ),
)
