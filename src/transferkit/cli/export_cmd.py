"""``transferkit export``: a run's best model as ONNX, checked in onnxruntime against PyTorch."""

from __future__ import annotations

import argparse

from transferkit.cli.common import add_number


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a run to ONNX (checked against PyTorch in onnxruntime)",
        description="Export the best checkpoint of a run. The same inputs go through onnxruntime "
        "and PyTorch; the export fails if the outputs differ beyond the stated tolerance. A "
        "sidecar MODEL.onnx.json holds class names, preprocessing and output meaning.",
    )
    p.add_argument("run_dir", metavar="RUNDIR", help="a run directory")
    p.add_argument("--format", default="onnx", choices=["onnx"], help="export format")
    p.add_argument(
        "--dynamic-batch",
        dest="dynamic_batch",
        action="store_true",
        help="classify / segment: any batch size (default: batch 1)",
    )
    add_number(p, "--opset", help="ONNX opset (default 17; 11 to 20)")
    p.add_argument("--out", help="model file to write (default RUNDIR/model.onnx)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import export, sidecar_path
    from transferkit.core.fileio import read_json

    path = export(
        args.run_dir,
        format=args.format,
        dynamic_batch=args.dynamic_batch,
        opset=args.opset,
        out=args.out,
    )
    meta = read_json(sidecar_path(path))
    parity = meta["parity"]
    diffs = ", ".join(f"{k} {v:.3g}" for k, v in parity["max_abs_diff"].items())
    shapes = "; ".join("x".join(map(str, s)) for s in parity["inputs"])
    print(f"wrote {path} ({meta['task']}, opset {meta['opset']})")
    print(f"parity with PyTorch on inputs {shapes}: max abs diff {diffs} (within tolerance)")
    print(f"sidecar: {sidecar_path(path)}")
    return 0
