"""CPU inference speed: the exported ONNX model in onnxruntime vs the PyTorch model in eager mode.

Run from the repository root::

    .venv/bin/python benchmarks/bench_onnx.py --repeats 5

It builds a classification run of efficientnet_lite0 (its ImageNet weights when they are
installed, else random init: speed does not depend on the values) with a 10-class head, exports
it with ``transferkit.export`` (dynamic batch, so one file serves both batch sizes, parity checked),
then times both engines on the same 224 px inputs at batch 1 and batch 32. Timings are interleaved
(PyTorch, ONNX, PyTorch, ONNX …) after a warm-up, and the median of ``--repeats`` rounds is
reported, because the machine may be shared. Both engines use the same number of threads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def make_run(folder: Path, backbone: str, size: int) -> tuple[Path, str]:
    """A run directory as training leaves it (classify, 10 classes); returns it and the weights."""
    from transferkit.core.config import RunConfig
    from transferkit.core.errors import WeightsUnavailableError
    from transferkit.runs import checkpoint as ckpt
    from transferkit.runs.rundir import RunDir
    from transferkit.tasks import get_task
    from transferkit.zoo import create_backbone

    try:
        weights, bb = "auto", create_backbone(backbone, weights="auto")
    except WeightsUnavailableError:
        weights, bb = "none", create_backbone(backbone, weights="none")
    cfg = RunConfig().with_values(backbone=backbone, weights=weights, img_size=size)
    model = get_task("classify").build_model(bb, 10, cfg.model)
    run = RunDir(folder)
    cfg.save(run.config)
    run.write_classes([f"class_{i}" for i in range(10)], bb.data_config)
    ckpt.save_model(run.best, model, {"epoch": 1, "task": "classify"})
    return folder, weights


def images_per_second(fn, batch: int, seconds: float) -> float:
    """Call ``fn`` for at least ``seconds`` (and 3 calls); images per second."""
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return calls * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per round")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    from transferkit.export import export
    from transferkit.export.onnx_export import sidecar_path
    from transferkit.export.parity import onnx_session
    from transferkit.runs.rundir import load_run

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir, weights = make_run(Path(tmp) / "run", args.backbone, args.size)
        started = time.perf_counter()
        model_path = export(run_dir, dynamic_batch=True)
        export_seconds = time.perf_counter() - started
        parity = json.loads(sidecar_path(model_path).read_text())["parity"]["max_abs_diff"]
        model = load_run(run_dir).model.eval()
        session = onnx_session(model_path, threads=args.threads)
        rows = []
        for batch in args.batches:
            x = np.random.default_rng(0).normal(size=(batch, 3, args.size, args.size))
            x = x.astype(np.float32)
            xt = torch.from_numpy(x)

            def run_torch(xt=xt):
                with torch.inference_mode():
                    model(xt)

            def run_onnx(x=x):
                session.run(["logits"], {"input": x})

            for fn in (run_torch, run_onnx):  # warm-up: allocations, kernel selection
                images_per_second(fn, batch, 0.5)
            torch_ips, onnx_ips = [], []
            for _ in range(args.repeats):
                torch_ips.append(images_per_second(run_torch, batch, args.seconds))
                onnx_ips.append(images_per_second(run_onnx, batch, args.seconds))
            t, o = statistics.median(torch_ips), statistics.median(onnx_ips)
            rows.append(
                {
                    "batch": batch,
                    "pytorch_eager_ips": round(t, 1),
                    "onnxruntime_ips": round(o, 1),
                    "onnx_over_pytorch": round(o / t, 2),
                    "pytorch_rounds": [round(v, 1) for v in torch_ips],
                    "onnx_rounds": [round(v, 1) for v in onnx_ips],
                }
            )
    import onnxruntime

    result = {
        "backbone": args.backbone,
        "weights": weights,
        "size": args.size,
        "threads": args.threads,
        "repeats": args.repeats,
        "seconds_per_round": args.seconds,
        "export_seconds": round(export_seconds, 1),
        "parity_max_abs_diff": parity["logits"],
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "rows": rows,
    }
    print(
        f"{args.backbone} ({weights} weights) at {args.size} px, {args.threads} threads, "
        f"median of {args.repeats} interleaved rounds"
    )
    print(f"export + parity check: {export_seconds:.1f} s, max abs diff {parity['logits']:.2g}")
    print(f"{'batch':>5}  {'PyTorch eager img/s':>20}  {'onnxruntime img/s':>18}  {'ratio':>6}")
    for r in rows:
        print(
            f"{r['batch']:>5}  {r['pytorch_eager_ips']:>20.1f}  {r['onnxruntime_ips']:>18.1f}"
            f"  {r['onnx_over_pytorch']:>6.2f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
