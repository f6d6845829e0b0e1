"""GPU readiness: training img/s of a bare PyTorch loop vs ``fit``, and the real loader's img/s.

Run from the repository root on a machine with a GPU (one short run, side by side)::

    .venv/bin/python benchmarks/bench_gpu.py [--model timm:resnet50] [--batch-size 256]

Prints, in one run:

* ``bare``: a bare timm / PyTorch loop (AdamW, bf16 autocast, channels_last) on synthetic
  224-px images already on the device: the ceiling;
* ``bare+loader``: the same loop fed from CPU tensors through a ``DataLoader`` (what ``fit`` gets);
* ``fit``: ``engine.loop.fit`` (Fabric, bf16-mixed, ``full`` strategy) on the same CPU tensors,
  img/s from its epoch times (validation and checkpoints included, as a user pays them);
* ``loader``: images/s of the classification data path on a folder of 224-px JPEGs the script
  writes itself: torchvision ``ImageFolder`` + PIL, then ``transferkit`` (reduced-scale decode,
  seeded items), first epoch and a later epoch with the decoded-image cache, same workers.

Goals of issue 11: fit / bare+loader >= 0.95; bare >= 7,000 img/s on one H200 (ResNet-50, bf16);
loader with the cache within 10% of the synthetic figure. ``--device cpu --model timm:resnet18
--images 64 --steps 3`` is a smoke test that runs anywhere.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from transferkit.core.config import RunConfig
from transferkit.data.datasets import DataSplits
from transferkit.data.datasets.classification import load_classification_data
from transferkit.data.loading import cache_images, make_loader, resolve_workers
from transferkit.data.transforms.classify import decode_sizes, train_transform
from transferkit.engine.loop import fit
from transferkit.engine.prepare import Prepared
from transferkit.tasks.classify import TASK
from transferkit.zoo import create_backbone

CLASSES = 10


def synthetic(n: int, size: int) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    return TensorDataset(
        torch.randn(n, 3, size, size, generator=g), torch.randint(0, CLASSES, (n,), generator=g)
    )


def build(model_name: str, device: torch.device):
    cfg = RunConfig().with_values(backbone=model_name, weights="none")
    model = TASK.build_model(create_backbone(model_name, weights="none"), CLASSES, cfg.model)
    return model.to(device, memory_format=torch.channels_last)


def bare(args, device, batches) -> float:
    """img/s of a bare loop over ``batches`` (an iterable of (x, y), re-iterated per step)."""
    model = build(args.model, device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    seen, start = 0, None
    for step, (x, y) in enumerate(batches()):
        if step == args.warmup:
            torch.cuda.synchronize() if device.type == "cuda" else None
            seen, start = 0, time.perf_counter()
        x = x.to(device, non_blocking=True).to(memory_format=torch.channels_last)
        y = y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(x)
        if step + 1 == args.warmup + args.steps:
            break
    torch.cuda.synchronize() if device.type == "cuda" else None
    return seen / (time.perf_counter() - start)


def on_device(args, device):
    x = torch.randn(args.batch_size, 3, args.size, args.size, device=device)
    y = torch.randint(0, CLASSES, (args.batch_size,), device=device)
    return lambda: iter(lambda: (x, y), None)


def from_loader(args, data):
    loader = DataLoader(data, args.batch_size, shuffle=True, num_workers=4)

    def batches():
        while True:
            yield from loader

    return batches


def run_fit(args, device, data) -> float:
    n_val = max(args.batch_size, len(data) // 10)
    val = TensorDataset(*(t[:n_val] for t in data.tensors))
    splits = DataSplits(data, val, None, [str(i) for i in range(CLASSES)], {})
    cfg = RunConfig().with_values(
        path="in-memory", backbone=args.model, weights="none", strategy="full", epochs=2,
        batch_size=args.batch_size, patience=None, quiet=True, num_workers=4,
        precision="bf16-mixed" if device.type == "cuda" else "32",
        accelerator="gpu" if device.type == "cuda" else "cpu", cache_images="none",
    )  # fmt: skip
    backbone = create_backbone(args.model, weights="none")
    with tempfile.TemporaryDirectory() as tmp:
        result = fit(cfg, Path(tmp) / "run", prepared=Prepared(TASK, backbone, splits))
    last = result.history[-1]  # the second epoch: compiled kernels and workers warm
    return (len(data) + len(val)) / float(last["seconds"])


def write_jpegs(root: Path, n: int, size: int) -> Path:
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / f"c{i % CLASSES}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((size, size), Image.BICUBIC).save(folder / f"{i}.jpg")
    return root


def loader_rates(args, root: Path) -> dict[str, float]:
    """img/s of one pass over the folder for torchvision ImageFolder and for transferkit's path."""
    from torchvision.datasets import ImageFolder

    backbone = create_backbone(args.model, weights="none")
    transform = train_transform(backbone.data_config, args.size)
    workers = resolve_workers("auto")
    kw = {"batch_size": args.batch_size, "num_workers": workers}

    def rate(loader) -> float:
        start, n = time.perf_counter(), 0
        for x, _ in loader:
            n += len(x)
        return n / (time.perf_counter() - start)

    out = {"workers": workers}
    out["torchvision ImageFolder"] = rate(
        DataLoader(ImageFolder(root, transform), shuffle=True, **kw)
    )
    train = load_classification_data(
        root, val_fraction=0.01, train_transform=transform,
        decode_sizes=decode_sizes(backbone.data_config, args.size),
    ).train  # fmt: skip
    out["transferkit, no cache"] = rate(make_loader(train, shuffle=True, **kw))
    cache_images([train], "ram", lambda m: None)
    loader = make_loader(train, shuffle=True, **kw)
    rate(loader)  # workers start
    out["transferkit, image cache (epoch 2+)"] = rate(loader)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="timm:resnet50")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--images", type=int, default=5120, help="synthetic set for fit / loader")
    args = parser.parse_args()
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{args.model}, {args.size} px, batch {args.batch_size}, {name}, {os.cpu_count()} cores")
    data = synthetic(args.images, args.size)
    rates = {
        "bare (data on device)": bare(args, device, on_device(args, device)),
        "bare + DataLoader": bare(args, device, from_loader(args, data)),
        "fit (epoch 2, val incl.)": run_fit(args, device, data),
    }
    for label, value in rates.items():
        print(f"train  {label:<28} {value:9.1f} img/s")
    print(
        f"fit / bare+loader: {rates['fit (epoch 2, val incl.)'] / rates['bare + DataLoader']:.3f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = write_jpegs(Path(tmp) / "jpegs", args.images, args.size)
        loaders = loader_rates(args, root)
    print(f"loader workers: {loaders.pop('workers')}")
    for label, value in loaders.items():
        print(f"loader {label:<36} {value:9.1f} img/s")


if __name__ == "__main__":
    main()
