"""Start-up cost as a user sees it: ``transferkit --help`` and a cold vs warm probe, whole processes.

Run from the repository root::

    .venv/bin/python benchmarks/bench_start.py [--src src OTHER/src] [--digits-csv PATH]

It writes scikit-learn's handwritten digits (1,797 images, 8 px, upsampled to 224 px PNGs, one
folder per class) once, then times, each as a fresh ``python -m transferkit`` process with the
source tree ``--src`` (so a checkout of an older version can be measured the same way):

* ``cold``: ``train --strategy probe`` with an empty feature cache (extraction + fit + report),
  once, with the first source tree;
* ``help``: ``transferkit --help``, median of ``--repeats``, for each source tree;
* ``warm``: the same probe again into a new run directory (features from the cache), median of
  ``--repeats``, for each source tree (e.g. ``--src src ../main/src``: after, before).

Wall and CPU (user + system of the process) seconds are both printed: on a shared machine the CPU
time is the steadier figure.

Goals from issue 11: help < 0.3 s; warm <= 6 s and cold / warm >= 8. The digits come from
``sklearn.datasets.load_digits`` when scikit-learn is installed, else from ``--digits-csv`` (the
``digits.csv.gz`` file scikit-learn ships).
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def load_digits(csv_path: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(N, 8, 8) uint8 images (0-255) and (N,) labels of scikit-learn's digits."""
    try:
        from sklearn.datasets import load_digits as sk_digits

        d = sk_digits()
        images, labels = d.images, d.target
    except ImportError:
        if not csv_path:
            sys.exit("scikit-learn is not installed: pass --digits-csv PATH/digits.csv.gz")
        with gzip.open(csv_path, "rt") as f:
            table = np.loadtxt(f, delimiter=",")
        images, labels = table[:, :64].reshape(-1, 8, 8), table[:, 64].astype(int)
    return (images * (255 / 16)).clip(0, 255).astype(np.uint8), labels


def write_folder(root: Path, images: np.ndarray, labels: np.ndarray, size: int) -> Path:
    """One PNG per image at ``size`` px, in a folder per class; reused when already written."""
    if (root / "done").is_file():
        return root
    for i, (im, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(im).convert("RGB").resize((size, size), Image.BILINEAR).save(
            folder / f"{i:04d}.png"
        )
    (root / "done").write_text("")
    return root


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one ``python -m transferkit ARGV`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "transferkit", *argv], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"transferkit {' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def median_of(runs: list[tuple[float, float]]) -> str:
    wall = statistics.median(w for w, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    return f"{wall:6.2f} s wall, {cpu:6.2f} s CPU (runs: {', '.join(f'{w:.2f}' for w, _ in runs)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--src", nargs="+", default=[str(ROOT / "src")], help="source trees to measure, in turn"
    )
    parser.add_argument("--digits-csv", help="scikit-learn's digits.csv.gz (without sklearn)")
    parser.add_argument("--work", help="folder for the data and runs (default: a temp folder)")
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--cache", help="a feature cache folder to reuse (no cold run when warm)")
    args = parser.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="tk-bench-start-"))
    data = write_folder(
        work / f"digits{args.img_size}", *load_digits(args.digits_csv), args.img_size
    )
    cache = Path(args.cache or tempfile.mkdtemp(prefix="features-", dir=work))
    warm_already = args.cache is not None and any(cache.iterdir())
    runs = Path(tempfile.mkdtemp(prefix="runs-", dir=work))
    probe = ["train", "--data", str(data), "--strategy", "probe", "--backbone", args.backbone]
    probe += ["--img-size", str(args.img_size), "--quiet"]
    print(f"{len(list(data.rglob('*.png')))} images at {args.img_size} px, {os.cpu_count()} cores")
    cold = (0.0, 0.0) if warm_already else None
    for n, src in enumerate(args.src):
        env = {**os.environ, "PYTHONPATH": src, "TRANSFERKIT_CACHE_DIR": str(cache)}
        if cold is None:  # the feature cache is shared: later sources start warm
            cold = timed([*probe, "--out", str(runs / "cold")], env)
        helps = [timed(["--help"], env) for _ in range(args.repeats)]
        warm = [
            timed([*probe, "--out", str(runs / f"warm{n}-{i}")], env) for i in range(args.repeats)
        ]
        print(f"source {src}")
        print(f"  help  {median_of(helps)}")
        print(f"  warm  {median_of(warm)}  (probe, features from the cache)")
        if n == 0 and not warm_already:
            w = statistics.median(x for x, _ in warm)
            print(f"  cold  {cold[0]:6.2f} s wall, {cold[1]:6.2f} s CPU (empty feature cache)")
            print(f"  cold / warm (wall) {cold[0] / w:.1f}x")


if __name__ == "__main__":
    main()
