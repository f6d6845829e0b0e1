"""``transferkit predict``: run a trained model on image files or folders."""

from __future__ import annotations

import argparse

from transferkit.cli.common import add_number, print_table
from transferkit.core.config import option_default


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predict image files with a trained run")
    p.add_argument("run_dir", metavar="RUNDIR", help="a run directory (or an exported .onnx file)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    add_number(
        p, "--top-k", default=option_default("top_k"), help="classification: labels per image"
    )
    add_number(
        p,
        "--score-threshold",
        default=option_default("score_threshold"),
        help="detection / instance: lowest score kept",
    )
    p.add_argument("--draw", metavar="DIR", help="write images with predictions drawn on them")
    p.add_argument(
        "--out", help="write predictions to FILE.json / FILE.csv (or a folder for masks)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import predict

    options = {"top_k": args.top_k, "score_threshold": args.score_threshold, "draw_dir": args.draw}
    predictions = predict(args.run_dir, args.paths, out=args.out, **options)
    if args.out:
        print(f"{len(predictions)} predictions written to {args.out}")
    elif predictions and "label" in predictions[0]:
        print_table(
            None,
            ["path", "label", "score"],
            [[p["path"], p["label"], f"{p['score']:.4f}"] for p in predictions],
        )
    elif predictions and "labels" in predictions[0]:  # multi-label: the label set, by score
        rows = [
            [p["path"], "; ".join(f"{n} {p['scores'][n]:.3f}" for n in p["labels"]) or "(none)"]
            for p in predictions
        ]
        print_table(None, ["path", "labels (score)"], rows)
    else:
        print(f"{len(predictions)} images predicted; pass --out FILE to save them")
    return 0
