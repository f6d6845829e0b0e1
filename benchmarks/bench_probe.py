"""Probe cost: a cold linear probe vs one plain forward pass, and a warm (cached) probe vs cold.

Run from the repository root::

    .venv/bin/python benchmarks/bench_probe.py --per-class 100 --img-size 96

It writes a Fashion-MNIST subset (from ../shared/data, or --idx-dir) as an image folder, then in
one process, each timing after a warm-up that pays the one-time imports, ``--repeats`` times
interleaved (medians reported; the machine may be shared):

* ``forward``: build the backbone, read the data set (listing and verification), and run every
  image once through ``forward_pooled`` in eval mode: the least any training run does;
* ``cold``: a probe run (``engine.run.run``) with an empty feature cache (extraction + L2 grid + run directory);
* ``warm``: the same run again into a new run directory, features from the cache.

Goals from the issue: cold / forward <= 1.3, cold / warm >= 20.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IDX = ROOT.parent / "shared" / "data" / "fashion-mnist"
CLASSES = (
    "T-shirt-top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle_boot",
)


def make_subset(
    dest: Path,
    per_class: int,
    val_per_class: int,
    test_per_class: int,
    idx_dir: Path = DEFAULT_IDX,
    seed: int = 0,
) -> Path:
    """Write ``dest/{train,val,test}/<class>/*.png`` from the Fashion-MNIST IDX files (seeded).

    Train and val come from the original training set (disjoint), test from the original test
    set. An existing folder with the same sizes is reused.
    """
    from transferkit.data.demo.fashion import read_idx

    marker = dest / f".subset-{per_class}-{val_per_class}-{test_per_class}-{seed}"
    if marker.is_file():
        return dest
    rng = np.random.default_rng(seed)
    sources = {
        "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    }
    arrays = {k: (read_idx(idx_dir / a), read_idx(idx_dir / b)) for k, (a, b) in sources.items()}
    for label, name in enumerate(CLASSES):
        images, labels = arrays["train"]
        pick = rng.permutation(np.flatnonzero(labels == label))[: per_class + val_per_class]
        chosen = {"train": pick[:per_class], "val": pick[per_class:]}
        images_t, labels_t = arrays["test"]
        chosen["test"] = rng.permutation(np.flatnonzero(labels_t == label))[:test_per_class]
        for split, idx in chosen.items():
            src = images_t if split == "test" else images
            folder = dest / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in idx:
                Image.fromarray(src[i]).save(folder / f"{int(i):05d}.png")
    marker.write_text("complete\n")
    return dest


def plain_forward(data: Path, backbone_name: str, img_size: int, batch_size: int) -> float:
    """Seconds for: backbone, data set read, one eval-mode pass of every image through it."""
    from torch.utils.data import ConcatDataset, DataLoader

    from transferkit.core.config import RunConfig
    from transferkit.tasks import get_task
    from transferkit.zoo import create_backbone

    start = time.perf_counter()
    cfg = RunConfig().with_values(path=str(data), backbone=backbone_name, img_size=img_size)
    backbone = create_backbone(backbone_name).eval()
    task = get_task("classify")
    splits = task.load_data(cfg, backbone.data_config)
    splits.train.transform = splits.val.transform  # eval transform everywhere, as the probe
    parts = [d for d in (splits.train, splits.val, splits.test) if d is not None]
    loader = DataLoader(ConcatDataset(parts), batch_size=batch_size)
    with torch.no_grad():
        for images, _ in loader:
            backbone.forward_pooled(images)
    return time.perf_counter() - start


def timed_probe(data: Path, out: Path, backbone_name: str, img_size: int, batch_size: int):
    from transferkit.core.config import RunConfig
    from transferkit.engine.run import run

    cfg = RunConfig().with_values(
        path=str(data),
        backbone=backbone_name,
        strategy="probe",
        img_size=img_size,
        batch_size=batch_size,
        quiet=True,
    )
    start = time.perf_counter()
    result = run(cfg, out)
    return time.perf_counter() - start, result.metrics


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--per-class", type=int, default=100, help="train images per class")
    p.add_argument("--val-per-class", type=int, default=20)
    p.add_argument("--test-per-class", type=int, default=20)
    p.add_argument("--img-size", type=int, default=96)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--work", type=Path, default=None, help="folder for data, cache and runs")
    p.add_argument("--idx-dir", type=Path, default=DEFAULT_IDX)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="tk-bench-probe-"))
    os.environ["TRANSFERKIT_CACHE_DIR"] = str(work / "cache")
    data = make_subset(
        work / f"fmnist-{args.per_class}",
        args.per_class,
        args.val_per_class,
        args.test_per_class,
        args.idx_dir,
    )
    from transferkit.transfer.features import FeatureCache

    n = 10 * (args.per_class + args.val_per_class + args.test_per_class)
    print(
        f"{args.backbone}, {n} images at {args.img_size}px, torch threads "
        f"{torch.get_num_threads()}, data in {data}",
        flush=True,
    )

    plain_forward(data, args.backbone, args.img_size, args.batch_size)  # warm-up: imports, caches
    # Interleaved repeats, medians reported: on a shared machine the load changes over minutes.
    runs = []
    for r in range(args.repeats):
        FeatureCache().clear()
        forward = plain_forward(data, args.backbone, args.img_size, args.batch_size)
        cold, m = timed_probe(
            data, work / f"cold{r}", args.backbone, args.img_size, args.batch_size
        )
        warm, m2 = timed_probe(
            data, work / f"warm{r}", args.backbone, args.img_size, args.batch_size
        )
        if m2["probe"]["extracted"] != 0:
            print("warning: the warm run extracted features; the cache missed", file=sys.stderr)
        runs.append((forward, cold, warm))
        print(
            f"repeat {r + 1}: forward {forward:6.2f} s  cold probe {cold:6.2f} s "
            f"(features {m['probe']['feature_seconds']:.2f} s, L2 grid "
            f"{m['probe']['fit_seconds']:.2f} s)  warm probe {warm:5.2f} s  "
            f"cold/forward {cold / forward:.2f}  cold/warm {cold / warm:.1f}",
            flush=True,
        )
    forward, cold, warm = (statistics.median(x) for x in zip(*runs, strict=True))
    print(f"median plain forward pass  {forward:7.2f} s")
    print(f"median cold probe          {cold:7.2f} s")
    print(f"median warm probe          {warm:7.2f} s")
    print(f"cold / forward             {cold / forward:7.2f}   (goal <= 1.3)")
    print(f"cold / warm                {cold / warm:7.2f}   (goal >= 20)")
    print(f"probe test accuracy        {m['accuracy']:.4f} (L2 {m['probe']['l2']:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
