"""Segmentation by transfer: mIoU and mask AP of pretrained ``head`` / ``full`` vs random init.

For each task (semantic ``segment``, ``instance``) and data set (the real nuclei image tiled into
128 px crops, 12 train / 4 val; the generated Fashion-MNIST scenes with per-pixel masks), three
runs of efficientnet_lite0 with the same data, seed and budget: ImageNet weights with the
backbone frozen (``head``), ImageNet weights fully fine-tuned (``full``, discriminative LR), and
random init trained in full. Prints a Markdown table (held-out metric, wall and CPU seconds).

    python benchmarks/bench_segmentation.py [--tasks segment instance] [--data nuclei scenes]
        [--epochs N] [--scenes 32 12] [--out /tmp/bench_segmentation]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from transferkit.core.config import RunConfig
from transferkit.data.demo.nuclei import materialize_instances, materialize_semantic
from transferkit.data.demo.scenes import write_scenes
from transferkit.engine.loop import fit
from transferkit.tasks.instance.demo import INSTANCE_SETTINGS
from transferkit.tasks.segment.demo import SCENES, SEGMENT_SETTINGS, write_scene_masks

RUNS = (
    ("pretrained, head", "auto", "head"),
    ("pretrained, full", "auto", "full"),
    ("random init, full", "none", "full"),
)
KEYS = {"segment": ("miou", "dice"), "instance": ("mask_map", "mask_map_50", "map")}


def prepare(task: str, data: str, root: Path, scenes: tuple[int, int]) -> Path:
    """Write one data set for one task under ``root`` (once)."""
    path = root / f"{task}-{data}"
    if path.exists():
        return path
    if data == "nuclei":
        return materialize_semantic(path) if task == "segment" else materialize_instances(path)
    if task == "segment":
        return write_scene_masks(path, {"train": scenes[0], "val": scenes[1]})
    return write_scenes(path, n_train=scenes[0], n_val=scenes[1])


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--tasks", nargs="+", default=["segment", "instance"], choices=["segment", "instance"]
    )
    ap.add_argument("--data", nargs="+", default=["nuclei", "scenes"], choices=["nuclei", "scenes"])
    ap.add_argument("--epochs", type=int, default=None, help="default: the demo's")
    default_scenes = (SCENES["train"], SCENES["val"])
    ap.add_argument("--scenes", nargs=2, type=int, default=default_scenes, metavar=("TRAIN", "VAL"))
    ap.add_argument("--out", default="/tmp/bench_segmentation")
    args = ap.parse_args()
    root = Path(args.out)
    rows = []
    for task in args.tasks:
        settings = dict(SEGMENT_SETTINGS if task == "segment" else INSTANCE_SETTINGS, quiet=True)
        if args.epochs:
            settings["epochs"] = args.epochs
        for data in args.data:
            path = prepare(task, data, root, tuple(args.scenes))
            for label, weights, strategy in RUNS:
                cfg = RunConfig(task=task).with_values(
                    path=str(path), weights=weights, strategy=strategy, **settings
                )
                run_dir = root / "runs" / f"{task}-{data}-{weights}-{strategy}"
                wall, cpu = time.perf_counter(), cpu_seconds()
                metrics = fit(cfg, run_dir).metrics
                wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
                values = " | ".join(f"{metrics.get(k, float('nan')):.3f}" for k in KEYS[task])
                rows.append(f"| {task} | {data} | {label} | {values} | {wall:.0f} | {cpu:.0f} |")
                print(rows[-1], flush=True)
    print()
    for task in args.tasks:
        print(f"| task | data | run | {' | '.join(KEYS[task])} | wall s | CPU s |")
        print("| --- | --- | --- | " + " | ".join("---:" for _ in KEYS[task]) + " | ---: | ---: |")
        for row in rows:
            if row.startswith(f"| {task} "):
                print(row)
        print()


if __name__ == "__main__":
    main()
