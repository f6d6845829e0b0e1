"""Detection by transfer: COCO mAP of ``head`` vs ``full`` vs a random-init backbone.

Two data sets, both held out by construction:

* the generated demo scenes (:mod:`transferkit.data.demo.scenes`, Fashion-MNIST items on varied
  backgrounds): train / val scenes for training and model selection, test scenes for the score;
* tiled nuclei: the real 512x512 fluorescence image in ``../shared/data/nuclei`` cut into 128 px
  tiles, one box per nucleus from the instance label image (pieces under 16 px cut by a tile
  border dropped), a seeded choice of tiles held out.

Every run uses Faster R-CNN on efficientnet_lite0 with the same data, seed, epochs and LR; only
the backbone's weights and the strategy change. Prints a table and writes JSON::

    python benchmarks/bench_detection.py --out /tmp/bench_detection.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from transferkit.core.config import RunConfig
from transferkit.data.demo.scenes import write_scenes
from transferkit.engine.loop import fit

RUNS = (
    ("pretrained, head", "auto", "head"),
    ("pretrained, full", "auto", "full"),
    ("random init, full", "none", "full"),
)
NUCLEI = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "nuclei"


def write_nuclei_tiles(out: Path, src: Path = NUCLEI, tile: int = 128, val_tiles: int = 4) -> Path:
    """The nuclei image as COCO tiles (``train/``, ``val/``), boxes from the instance labels."""
    import tifffile

    image = tifffile.imread(src / "img2d.tif").astype(np.float64)
    labels = tifffile.imread(src / "mask2d.tif")
    lo, hi = np.percentile(image, [0.5, 99.8])
    grey = np.clip((image - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)
    corners = [(y, x) for y in range(0, 512, tile) for x in range(0, 512, tile)]
    held = set(np.random.default_rng(0).permutation(len(corners))[:val_tiles].tolist())
    for split in ("train", "val"):
        images, anns = [], []
        for i, (y, x) in enumerate(corners):
            if (i in held) != (split == "val"):
                continue
            name = f"tile_y{y:03d}_x{x:03d}.png"
            (out / split).mkdir(parents=True, exist_ok=True)
            Image.fromarray(grey[y : y + tile, x : x + tile]).save(out / split / name)
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": name, "width": tile, "height": tile})
            crop = labels[y : y + tile, x : x + tile]
            for value in np.unique(crop[crop > 0]):
                mask = crop == value
                if mask.sum() < 16:
                    continue
                rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
                x1, y1, x2, y2 = cols[0], rows[0], cols[-1] + 1, rows[-1] + 1
                anns.append(
                    {
                        "id": len(anns) + 1,
                        "image_id": image_id,
                        "category_id": 1,
                        "bbox": [int(x1), int(y1), int(x2 - x1), int(y2 - y1)],
                        "area": int(mask.sum()),
                        "iscrowd": 0,
                    }
                )
        (out / split / "_annotations.coco.json").write_text(
            json.dumps(
                {
                    "images": images,
                    "annotations": anns,
                    "categories": [{"id": 1, "name": "nucleus"}],
                }
            )
        )
    return out


def run_all(data: Path, work: Path, settings: dict, label: str, only: str = "") -> list[dict]:
    """Train the runs of :data:`RUNS` (those whose name contains ``only``) on ``data``."""
    base = RunConfig(task="detect").with_values(path=str(data), quiet=True, **settings)
    rows = []
    for name, weights, strategy in RUNS:
        if only not in name:
            continue
        started = time.perf_counter()
        result = fit(
            base.with_values(weights=weights, strategy=strategy),
            work / label / name.replace(", ", "-").replace(" ", "_"),
        )
        m = result.metrics
        rows.append(
            {
                "data": label,
                "run": name,
                "map": m["map"],
                "map_50": m["map_50"],
                "map_75": m["map_75"],
                "split": m["evaluated_split"],
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(
            f"{label:8s} {name:20s} mAP {m['map']:.3f}  AP50 {m['map_50']:.3f}  "
            f"({m['evaluated_split']}, {rows[-1]['seconds']:.0f} s)",
            flush=True,
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", default="/tmp/bench_detection")
    p.add_argument("--out", default=None, help="write the rows as JSON here")
    p.add_argument("--epochs", type=int, default=8, help="epochs on the scenes")
    p.add_argument(
        "--nuclei-epochs",
        dest="nuclei_epochs",
        type=int,
        default=24,
        help="epochs on the nuclei tiles (12 training tiles: few steps per epoch)",
    )
    p.add_argument("--which", default="scenes,nuclei")
    p.add_argument("--runs", default="", help="only the runs whose name contains this text")
    args = p.parse_args()
    work = Path(args.work)
    common = {
        "backbone": "efficientnet_lite0",
        "detector": "faster_rcnn",
        "epochs": args.epochs,
        "lr": 1e-3,
        "seed": 0,
        "patience": 100,
    }
    rows = []
    if "scenes" in args.which:
        data = work / "scenes"
        if not data.is_dir():
            write_scenes(data, n_train=120, n_val=24, n_test=40, seed=0)
        settings = {**common, "img_size": 128, "batch_size": 4}
        rows += run_all(data, work, settings, "scenes", args.runs)
    if "nuclei" in args.which:
        data = work / "nuclei"
        if not data.is_dir():
            write_nuclei_tiles(data)
        settings = {**common, "img_size": 256, "batch_size": 4, "epochs": args.nuclei_epochs}
        rows += run_all(data, work, settings, "nuclei", args.runs)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
