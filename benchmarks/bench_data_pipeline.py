"""Images/s of transferkit's classification loader vs torchvision ImageFolder + PIL, side by side.

Both read the same folder through a DataLoader with the same eval transform (built from a
DataConfig), so the difference is the reading path: transferkit decodes with ``load_image_rgb``
(EXIF orientation, alpha on white, 16-bit scaling) where ImageFolder does a plain
``convert("RGB")``. Set-up is timed apart: transferkit decodes every image once up front to find
bad files, ImageFolder only lists them.

    python benchmarks/bench_data_pipeline.py [--images 300] [--size 320x240] [--repeats 3]

Data sets: generated JPEGs (photo-sized, 3 classes) and the materialised Fashion-MNIST demo
folder (tiny grayscale PNGs).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import ConcatDataset, DataLoader
from torchvision.datasets import ImageFolder

from transferkit.data.datasets.classification import load_classification_data
from transferkit.data.demo.fashion import materialize_fashion_mnist
from transferkit.data.transforms.classify import eval_transform
from transferkit.zoo.backbone import DataConfig


def make_jpegs(root: Path, n: int, width: int, height: int, classes: int = 3) -> Path:
    """``n`` smooth, noisy RGB JPEGs spread over ``classes`` folders (seeded)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    for i in range(n):
        folder = root / f"class{i % classes}"
        folder.mkdir(parents=True, exist_ok=True)
        base = np.stack([x * (i % 7 + 1), y * 3, (x + y) * (i % 5 + 1)], -1) % 256
        noisy = base + rng.integers(0, 24, base.shape)
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(
            folder / f"{i:05d}.jpg", quality=90
        )
    return root


def images_per_second(dataset, batch_size: int, workers: int) -> float:
    """One full pass over ``dataset``; returns images/s."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, shuffle=False)
    n = 0
    start = time.perf_counter()
    for images, _ in loader:
        n += images.shape[0]
    return n / (time.perf_counter() - start)


def bench(name: str, root: Path, transform, args) -> None:
    """Print set-up time and best-of-``repeats`` images/s for both loaders on ``root``."""
    t = time.perf_counter()
    splits = load_classification_data(
        root, val_fraction=0.1, train_transform=transform, eval_transform=transform
    )
    ours_setup = time.perf_counter() - t
    ours = ConcatDataset([d for d in (splits.train, splits.val, splits.test) if d is not None])
    t = time.perf_counter()
    if (root / "train").is_dir():  # the demo is split on disk: read its three folders
        theirs = ConcatDataset(
            [ImageFolder(str(root / s), transform=transform) for s in ("train", "val", "test")]
        )
    else:
        theirs = ImageFolder(str(root), transform=transform)
    theirs_setup = time.perf_counter() - t
    if len(ours) != len(theirs):
        raise SystemExit(f"{name}: the loaders see {len(ours)} vs {len(theirs)} images")
    rate = {"transferkit": 0.0, "ImageFolder": 0.0}
    for _ in range(args.repeats):  # alternate so that machine load hits both alike
        rate["transferkit"] = max(rate["transferkit"], images_per_second(ours, 32, args.workers))
        rate["ImageFolder"] = max(rate["ImageFolder"], images_per_second(theirs, 32, args.workers))
    print(
        f"\n{name}: {len(ours)} images, eval transform to {args.img_size} px, "
        f"{args.workers} DataLoader worker(s), best of {args.repeats}"
    )
    print(f"  {'loader':<12} {'set-up s':>9} {'images/s':>9}")
    print(f"  {'transferkit':<12} {ours_setup:>9.2f} {rate['transferkit']:>9.0f}")
    print(f"  {'ImageFolder':<12} {theirs_setup:>9.2f} {rate['ImageFolder']:>9.0f}")
    print(
        f"  throughput ratio transferkit / ImageFolder: "
        f"{rate['transferkit'] / rate['ImageFolder']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--size", default="320x240", help="generated JPEG size, WxH")
    parser.add_argument("--img-size", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    torch.set_num_threads(1)  # transforms run per image; keep the comparison single-threaded
    config = DataConfig(mean=(0.5,) * 3, std=(0.5,) * 3, interpolation="bicubic")
    transform = eval_transform(config, args.img_size)
    with tempfile.TemporaryDirectory() as tmp:
        jpegs = make_jpegs(Path(tmp) / "jpegs", args.images, width, height)
        bench(f"generated JPEGs {width}x{height}", jpegs, transform, args)
        demo = materialize_fashion_mnist(Path(tmp) / "fashion-mnist")
        bench("Fashion-MNIST demo (28x28 PNG)", demo, transform, args)


if __name__ == "__main__":
    main()
