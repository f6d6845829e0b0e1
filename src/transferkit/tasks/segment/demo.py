"""The segmentation demos: ImageNet-pretrained vs random-init efficientnet_lite0, on real nuclei.

Both demos tile the real fluorescence image shipped in the package (:mod:`transferkit.data.demo.nuclei`,
BBBC038, CC0) into 128-pixel crops, 12 for training and 4 held out, and train the same
architecture with the same data, seed and budget from the real ImageNet weights and from random
init, so the table shows what transfer buys.

* ``demo --task segment``: FPN decoder, nuclei vs background (mIoU), pretrained ``head`` vs
  random init ``full``; then the generated scenes of the detection demo
  (:mod:`transferkit.data.demo.scenes`, Fashion-MNIST items on varied backgrounds) with per-pixel class
  masks, pretrained vs random init, both ``full``. ``benchmarks/bench_segmentation.py`` adds
  pretrained ``full`` on nuclei and every combination for both tasks.
* ``demo --task instance``: Mask R-CNN, one instance per nucleus (mask AP), crops upscaled to
  192 px, pretrained ``gradual`` vs random init ``full``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.core.config import RunConfig

# Sized so that each demo finishes in well under five minutes on two CPU cores (about 1 and 2
# minutes for segment and instance on a lightly loaded 2-core machine).
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
SEGMENT_RUNS = (
    ("nuclei", "pretrained, head", "auto", "head"),
    ("nuclei", "random init, full", "none", "full"),
    ("scenes", "pretrained, full", "auto", "full"),
    ("scenes", "random init, full", "none", "full"),
)
SCENES = {"train": 32, "val": 12}
INSTANCE_SETTINGS = {
    "backbone": "efficientnet_lite0",
    "img_size": 192,  # tiles upscaled 1.5x: nuclei (~23 px) get finer RoI features and masks
    "epochs": 12,
    "batch_size": 4,
    "lr": 5e-4,  # Mask R-CNN's new box head diverged at 1e-3 with AdamW on these 12 crops
    "patience": None,
    "seed": 0,
}
INSTANCE_RUNS = (
    ("nuclei", "pretrained, gradual", "auto", "gradual"),
    ("nuclei", "random init, full", "none", "full"),
)


def write_scene_masks(out: str | Path, counts: dict[str, int] = SCENES, seed: int = 0) -> Path:
    """Write generated scenes as an images/ + masks/ folder per split with a classes.txt."""
    from PIL import Image

    from transferkit.data.masks import instances_to_class_mask, write_index_png
    from transferkit.data.demo.scenes import SCENE_CLASSES, render_scenes
    from transferkit.core.fileio import atomic_write, atomic_write_text

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


def _run_all(
    task: str, runs, settings: dict, data: dict[str, Path], keys, out_dir: Path, quiet: bool
):
    from transferkit.engine.loop import fit

    rows = []
    for i, (name, label, weights, strategy) in enumerate(runs, start=1):
        print(f"\n[{i}/{len(runs)}] {name}: {label} (weights {weights}, strategy {strategy})")
        cfg = RunConfig(task=task).with_values(
            path=str(data[name]), quiet=quiet, weights=weights, strategy=strategy, **settings
        )
        run_dir = out_dir / "runs" / f"{name}-{label.replace(', ', '-').replace(' ', '_')}"
        started = time.perf_counter()
        result = fit(cfg, run_dir)
        row: dict[str, Any] = {
            "run": f"{name}: {label}",
            "weights": "ImageNet" if weights == "auto" else "random",
            "strategy": strategy,
        }
        row.update({k: result.metrics.get(k) for k in keys})
        row["split"] = result.metrics.get("evaluated_split")
        row["seconds"] = round(time.perf_counter() - started, 1)
        row["run_dir"] = str(result.run_dir)
        rows.append(row)
    return rows


def run_segment_demo(out_dir: str | Path, quiet: bool = False) -> list[dict]:
    """Semantic segmentation demo (nuclei, then scenes); one row per run."""
    from transferkit.data.demo.nuclei import materialize_semantic

    out_dir = Path(out_dir)
    data = {"nuclei": out_dir / "nuclei", "scenes": out_dir / "scenes"}
    if not (data["nuclei"] / "classes.txt").is_file():
        materialize_semantic(data["nuclei"])
    if not (data["scenes"] / "classes.txt").is_file():
        write_scene_masks(data["scenes"])
    print(
        f"demo data: real nuclei image (BBBC038, CC0) tiled into 128 px crops in {data['nuclei']}"
    )
    print(
        f"           generated scenes (Fashion-MNIST items, MIT), class masks in {data['scenes']}"
    )
    keys = ("miou", "pixel_accuracy", "dice")
    return _run_all("segment", SEGMENT_RUNS, SEGMENT_SETTINGS, data, keys, out_dir, quiet)


def run_instance_demo(out_dir: str | Path, quiet: bool = False) -> list[dict]:
    """Instance segmentation demo on the nuclei tiles; one row per run."""
    from transferkit.data.demo.nuclei import materialize_instances

    out_dir = Path(out_dir)
    data = {"nuclei": out_dir / "nuclei"}
    if not (data["nuclei"] / "train" / "_annotations.coco.json").is_file():
        materialize_instances(data["nuclei"])
    print(f"demo data: real nuclei image (BBBC038, CC0), 128 px crops as COCO in {data['nuclei']}")
    print(f"Mask R-CNN sees the crops at {INSTANCE_SETTINGS['img_size']} px")
    keys = ("mask_map", "mask_map_50", "map")
    return _run_all("instance", INSTANCE_RUNS, INSTANCE_SETTINGS, data, keys, out_dir, quiet)
