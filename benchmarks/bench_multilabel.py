"""Multi-label classification: transferkit's default, probe and auto on Fashion-MNIST mosaics.

Run from the repository root::

    .venv/bin/python benchmarks/bench_multilabel.py --train 100 --img-size 64 --epochs 6

Each image is a 2x2 mosaic of Fashion-MNIST tiles (a tile empty with probability 0.25), labelled
by the classes it holds (``transferkit.data.demo.mosaics``); tiles of train and val mosaics come
from the original training set, tiles of test mosaics from the original test set. ``--train``
labelled mosaics train, ``--val`` choose the L2, thresholds and checkpoint, ``--test`` measure.
Every run uses efficientnet_lite0's real ImageNet weights at the same size, seed and epochs:

* ``default``: ``train --task multilabel`` as it comes (gradual unfreezing from the probe's head);
* ``probe``: one-vs-rest logistic regression on cached features (``--strategy probe``);
* ``auto``: ``--strategy auto`` (probe vs fine-tuning recipes by successive halving on val).

Printed: test macro / micro mAP, macro F1 at the val thresholds, exact match, wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DEFAULT_IDX = ROOT.parent / "shared" / "data" / "fashion-mnist"
CLASSES = ["T-shirt-top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle_boot"]  # fmt: skip
STRATEGIES = {"default": "gradual", "probe": "probe", "auto": "auto"}


def make_mosaics(dest: Path, counts: dict[str, int], idx_dir: Path, seed: int) -> Path:
    """``dest/labels.csv`` and its mosaics (reused when already written with these sizes)."""
    from transferkit.data.demo.fashion import read_idx
    from transferkit.data.demo.mosaics import write_mosaics

    marker = dest / f".mosaics-{counts['train']}-{counts['val']}-{counts['test']}-{seed}"
    if marker.is_file():
        return dest / "labels.csv"
    train = (read_idx(idx_dir / "train-images-idx3-ubyte.gz"),
             read_idx(idx_dir / "train-labels-idx1-ubyte.gz"))  # fmt: skip
    test = (read_idx(idx_dir / "t10k-images-idx3-ubyte.gz"),
            read_idx(idx_dir / "t10k-labels-idx1-ubyte.gz"))  # fmt: skip
    # Disjoint pools of source images for train and val mosaics (4 tiles each at most).
    order = np.random.default_rng(seed).permutation(len(train[0]))
    cut = 4 * counts["train"]
    pick = {"train": order[:cut], "val": order[cut : cut + 4 * counts["val"]]}
    pools = {s: (train[0][i], train[1][i]) for s, i in pick.items()}
    pools["test"] = test
    path = write_mosaics(dest, pools, counts, CLASSES, seed=seed)
    marker.write_text("complete\n")
    return path


def train(data: Path, out: Path, strategy: str, args) -> dict:
    from transferkit.core.config import RunConfig
    from transferkit.engine.run import run

    cfg = RunConfig(task="multilabel").with_values(
        path=str(data), backbone="efficientnet_lite0", strategy=strategy, epochs=args.epochs,
        img_size=args.img_size, batch_size=args.batch_size, seed=args.seed, quiet=True,
        patience=args.patience,
    )  # fmt: skip
    start = time.perf_counter()
    metrics = run(cfg, out, cache_dir=out.parent / "cache").metrics
    auto = out / "auto.json"
    chosen = json.loads(auto.read_text())["winner"] if auto.is_file() else strategy
    return {**metrics, "seconds": time.perf_counter() - start, "chosen": chosen}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", type=int, default=100, help="labelled training mosaics")
    p.add_argument("--val", type=int, default=50)
    p.add_argument("--test", type=int, default=300)
    p.add_argument("--img-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--patience", type=int, default=5, help="early stopping (0: off); 5 = train's")
    p.add_argument("--runs", default="default,probe,auto", help="which of default, probe, auto")
    p.add_argument("--work", type=Path, default=None, help="folder for data, cache and runs")
    p.add_argument("--idx-dir", type=Path, default=DEFAULT_IDX)
    args = p.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-multilabel-"))
    counts = {"train": args.train, "val": args.val, "test": args.test}
    data = make_mosaics(work / f"mosaics-{args.train}", counts, args.idx_dir, args.seed)
    print(f"data: {data} ({counts}); efficientnet_lite0, {args.img_size} px, {args.epochs} epochs")
    print(f"{'run':<9}{'mAP macro':>10}{'mAP micro':>10}{'F1 macro':>10}{'exact':>8}{'seconds':>9}")
    for name in args.runs.split(","):
        out = work / f"run-{args.train}-{name}-{time.strftime('%H%M%S')}"
        m = train(data, out, STRATEGIES[name], args)
        print(
            f"{name:<9}{m['map_macro']:>10.4f}{m['map_micro']:>10.4f}{m['f1_macro']:>10.4f}"
            f"{m['exact_match']:>8.3f}{m['seconds']:>9.1f}  {m['chosen']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
