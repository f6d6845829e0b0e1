"""Unlabelled images: self-training and AdaBN against labelled-only transfer, side by side.

Run from the repository root::

    .venv/bin/python benchmarks/bench_unlabelled.py --img-size 48 --test 2000

Fashion-MNIST (../shared/data, the IDX files), efficientnet_lite0 with its real weights, one
process, one feature cache, the same seed and split everywhere:

* semi-supervised: 10 and 50 labelled images per class (a fifth carved off as val), 10,000
  unlabelled images from the rest of the training set, ``--test`` images of the original test
  set: the labelled-only probe and LP-FT (``gradual``, ``--epochs``) against ``--unlabelled``
  (probe; with ``--semi-fine-tune`` also LP-FT on labelled + pseudo-labelled images);
* domain shift: the 50-per-class labelled images as the source; the target is the same classes
  with inverted intensities: 10,000 unlabelled target images, test on labelled target images:
  unadapted probe, ``--adapt bn``, ``--unlabelled``, and both.

Prints one table row per run (test accuracy) and writes them to ``--out``/results.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

import transferkit as tk

ROOT = Path(__file__).resolve().parents[1]
IDX = ROOT.parent / "shared" / "data" / "fashion-mnist"
CLASSES = ("tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
           "boot")  # fmt: skip


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path) as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write(images: np.ndarray, folder: Path, names, invert: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for img, name in zip(images, names):
        Image.fromarray(255 - img if invert else img).save(folder / f"{name}.png")


def make_data(work: Path, per_class: list[int], n_unlabelled: int, n_test: int, seed: int):
    """Labelled folders per count (train/<class>, test/<class>), the unlabelled pools and the
    inverted target test set; everything drawn once, disjoint, seeded."""
    rng = np.random.default_rng(seed)
    tx, ty = (
        read_idx(IDX / "train-images-idx3-ubyte.gz"),
        read_idx(IDX / "train-labels-idx1-ubyte.gz"),
    )
    ex, ey = (
        read_idx(IDX / "t10k-images-idx3-ubyte.gz"),
        read_idx(IDX / "t10k-labels-idx1-ubyte.gz"),
    )
    order = rng.permutation(len(tx))
    most = max(per_class)
    labelled = {c: [i for i in order if ty[i] == c][:most] for c in range(10)}
    used = {i for ids in labelled.values() for i in ids}
    pool = [i for i in order if i not in used][:n_unlabelled]
    test = rng.permutation(len(ex))[:n_test]
    if (work / "done").is_file():
        return
    for n in per_class:
        for c, ids in labelled.items():
            write(tx[ids[:n]], work / f"labelled{n}" / "train" / CLASSES[c], ids[:n])
            write(
                ex[test[ey[test] == c]],
                work / f"labelled{n}" / "test" / CLASSES[c],
                test[ey[test] == c],
            )
    for c, ids in labelled.items():  # domain shift: source train, inverted target test
        write(tx[ids[:most]], work / "shift" / "train" / CLASSES[c], ids[:most])
        write(
            ex[test[ey[test] == c]], work / "shift" / "test" / CLASSES[c], test[ey[test] == c], True
        )
    write(tx[pool], work / "unlabelled", pool)
    write(tx[pool], work / "unlabelled_inverted", pool, invert=True)
    (work / "done").write_text("ok")


def fit(args, data: Path, name: str, **settings) -> dict:
    started = time.perf_counter()
    result = tk.fit(
        data, out=args.out / "runs" / name, backbone="efficientnet_lite0", img_size=args.img_size,
        epochs=args.epochs, batch_size=64, seed=args.seed, quiet=True, patience=None, **settings,
    )  # fmt: skip
    row = {"run": name, "test_accuracy": round(result.metrics["accuracy"], 4),
           "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    semi = result.run_dir / "semi.json"
    if semi.is_file():
        record = json.loads(semi.read_text())
        row["kept"] = record["kept"]
        st = record.get("self_training") or {}
        row["pseudo_labelled"] = st.get("pseudo_labelled")
        row["holdout"] = [r["holdout"]["accuracy"] for r in st.get("rounds", [])]
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--img-size", type=int, default=64)
    p.add_argument("--test", type=int, default=2000, help="test images (of 10,000)")
    p.add_argument("--unlabelled", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs (LP-FT runs)")
    p.add_argument("--semi-fine-tune", action="store_true", help="also LP-FT with pseudo-labels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("bench-unlabelled"))
    args = p.parse_args()
    data = args.out / "data"
    os.environ["TRANSFERKIT_CACHE_DIR"] = str(args.out / "cache")  # one cache for every run
    make_data(data, [10, 50], args.unlabelled, args.test, args.seed)
    rows = []
    for n in (10, 50):
        root = data / f"labelled{n}"
        rows.append(fit(args, root, f"{n}pc-probe", strategy="probe"))
        rows.append(fit(args, root, f"{n}pc-lpft", strategy="gradual"))
        rows.append(fit(args, root, f"{n}pc-probe-unlabelled", strategy="probe",
                        unlabelled=str(data / "unlabelled")))  # fmt: skip
        if args.semi_fine_tune:
            rows.append(fit(args, root, f"{n}pc-lpft-unlabelled", strategy="gradual",
                            unlabelled=str(data / "unlabelled")))  # fmt: skip
    target = str(data / "unlabelled_inverted")
    shift = data / "shift"
    rows.append(fit(args, shift, "shift-probe", strategy="probe"))
    rows.append(fit(args, shift, "shift-adapt-bn", strategy="probe", unlabelled=target,
                    adapt="bn", semi="none"))  # fmt: skip
    rows.append(fit(args, shift, "shift-unlabelled", strategy="probe", unlabelled=target))
    rows.append(fit(args, shift, "shift-adapt-bn-unlabelled", strategy="probe",
                    unlabelled=target, adapt="bn"))  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
