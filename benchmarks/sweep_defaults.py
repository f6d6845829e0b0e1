"""The sweep the classification defaults rest on: learning rate of the default recipe per data size.

Run from the repository root (the data writer needs scikit-learn for the digits; the fastai
environment of ``bench_vs_fastai.py`` has it)::

    /tmp/transferkit-fastai-venv/bin/python benchmarks/sweep_defaults.py \
        --transferkit-python .venv/bin/python --out /tmp/sweep.json

Each data set is drawn with ``--seed 1``: other images than the seed-0 draws that
``bench_vs_fastai.py`` reports on, so the defaults are chosen on data they are then not judged
on. For every data set it runs the probe and the default recipe (``train`` without a strategy)
at each ``--lrs`` value, all with ``--epochs``; the choice is read from the validation accuracy
(the best epoch's, as the run keeps it), the test accuracy is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vs_fastai_side import DATASETS, write_dataset

SWEEP_SETS = {
    "fashion10": (10, 10, 50),
    "fashion50": (50, 20, 50),
    "fashion100": (100, 20, 50),
    "fashion500": (500, 50, 50),
}


def train(args, root: Path, out: Path, img_size: int, extra: list[str]) -> dict:
    """One ``transferkit train`` run; its val and test accuracy and wall seconds."""
    cmd = [args.transferkit_python, "-m", "transferkit", "train", "--data", str(root)]
    cmd += ["--backbone", "efficientnet_lite0", "--img-size", str(img_size), "--quiet"]
    cmd += ["--epochs", str(args.epochs), "--seed", "0", "--out", str(out), *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "val": round(metrics["val"]["accuracy"], 4),
        "test": round(metrics["test"]["accuracy"], 4),
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--datasets", default="digits,fashion10,fashion50,fashion100")
    p.add_argument("--lrs", default="1e-4,3e-4,1e-3")
    p.add_argument("--extra", default="", help="more train options for the default runs")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--transferkit-python", default=sys.executable)
    p.add_argument("--work", type=Path, default=Path(tempfile.mkdtemp()))
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    for name, per_class in SWEEP_SETS.items():
        DATASETS[name] = {"title": name, "kind": "fashion", "img_size": 64, "per_class": per_class}
    results = {}
    for name in args.datasets.split(","):
        root = args.work / name / "data"
        if not root.exists():
            write_dataset(name, root, seed=1)
        size = DATASETS[name]["img_size"]
        res = {"probe": train(args, root, args.work / name / "probe", size, ["--strategy", "probe"])}
        print(name, "probe", res["probe"], flush=True)
        for lr in args.lrs.split(","):
            extra = ["--lr", lr, *args.extra.split()]
            res[f"lr={lr}"] = train(args, root, args.work / name / f"lr{lr}", size, extra)
            print(name, f"lr={lr}", res[f"lr={lr}"], flush=True)
        results[name] = res
        if args.out:
            args.out.write_text(json.dumps({"epochs": args.epochs, "results": results}, indent=1))


if __name__ == "__main__":
    main()
