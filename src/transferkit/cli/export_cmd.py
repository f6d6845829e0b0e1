"""``transferkit export``: a run's best model as ONNX (optionally int8), checked against PyTorch on
inputs and on the run's val data."""

from __future__ import annotations

import argparse

from transferkit.cli.common import add_number


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a run to ONNX (checked against PyTorch in onnxruntime)",
        description="Export the best checkpoint of a run. The same inputs go through onnxruntime "
        "and PyTorch; the export fails if the outputs differ beyond the stated tolerance. Then "
        "(classify, segment) the export and the PyTorch model are scored on the run's val split; "
        "a difference beyond --tolerance is a loud warning (exit 1 with --strict). A sidecar "
        "MODEL.onnx.json holds class names, preprocessing, output meaning and both scores.",
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
    p.add_argument(
        "--quantize",
        choices=["int8"],
        help="classify / segment: int8 static quantization (onnxruntime), calibrated on "
        "training images",
    )
    p.add_argument(
        "--calibration-images",
        dest="calibration_images",
        type=int,
        help="--quantize: training images the int8 ranges are calibrated on (default 100)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        help="largest val metric difference (accuracy / mIoU, absolute) between the export and "
        "the PyTorch model before export warns (default 0.01)",
    )
    p.add_argument(
        "--strict", action="store_true", help="exit 1 when the difference exceeds --tolerance"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import export, sidecar_path
    from transferkit.core.fileio import read_json

    given = {k: getattr(args, k) for k in ("calibration_images", "tolerance")}
    path = export(
        args.run_dir,
        format=args.format,
        dynamic_batch=args.dynamic_batch,
        opset=args.opset,
        out=args.out,
        quantize=args.quantize,
        **{k: v for k, v in given.items() if v is not None},  # else the API's defaults
    )
    meta = read_json(sidecar_path(path))
    parity = meta["parity"]
    diffs = ", ".join(f"{k} {v:.3g}" for k, v in parity["max_abs_diff"].items())
    shapes = "; ".join("x".join(map(str, s)) for s in parity["inputs"])
    kind = "int8" if meta.get("quantization") else "float32"
    print(f"wrote {path} ({meta['task']}, {kind}, opset {meta['opset']})")
    graph = "float32 graph before quantization" if meta.get("quantization") else "outputs"
    print(f"parity with PyTorch ({graph}) on inputs {shapes}: max abs diff {diffs} (within)")
    e = meta["evaluation"]
    if e["checked"]:
        verdict = "within" if e["within"] else "BEYOND"
        print(
            f"val {e['metric']}: PyTorch {e['pytorch']:.4f}, export {e['onnx']:.4f} "
            f"({e['difference']:+.4f}; {verdict} the tolerance {e['tolerance']:g})"
        )
    else:
        print(f"val metric not checked: {e['reason']}")
    print(f"sidecar: {sidecar_path(path)}")
    return 1 if args.strict and e["checked"] and not e["within"] else 0
