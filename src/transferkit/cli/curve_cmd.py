"""``transferkit curve``: probe accuracy at 10/25/50/100 % of the labels: would more help?"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from transferkit.cli.common import add_number, fmt, print_table

SETTINGS = (
    "weights",
    "img_size",
    "val_fraction",
    "test_fraction",
    "split_seed",
    "seed",
    "batch_size",
    "num_workers",
    "format",
    "on_bad_image",
    "quiet",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "curve",
        help="learning curve: would more labels help?",
        description="Fit the linear probe on cached features of 10/25/50/100% of the training "
        "labels and report its validation accuracy at each, with a plot and a one-line answer. "
        "The test split is never used.",
    )
    p.add_argument("--data", required=True, help="data folder or CSV (classification)")
    p.add_argument(
        "--backbone", default="efficientnet_lite0", help="zoo name (default %(default)s)"
    )
    p.add_argument(
        "--fractions",
        default="0.1,0.25,0.5,1",
        help="shares of the training labels, increasing, in (0, 1] (default %(default)s)",
    )
    p.add_argument("--out", help="folder for curve.json and curve.png (default ./curve-<time>)")
    p.add_argument("--weights", help="auto (pretrained, offline), none (random init), or a file")
    add_number(p, "--img-size", help="input size in pixels")
    add_number(p, "--val-fraction")
    add_number(
        p, "--test-fraction", help="carve a test split as train does (set aside, never used here)"
    )
    add_number(p, "--split-seed", help="seed of the carve")
    add_number(p, "--seed", help="seed of the label subsets (default 0)")
    p.add_argument("--cache-dir", dest="cache_dir", help="feature cache folder")
    add_number(p, "--batch-size")
    add_number(p, "--num-workers")
    p.add_argument("--format", help="auto (default), folder or csv")
    p.add_argument("--on-bad-image", dest="on_bad_image", choices=["fail", "skip"])
    p.add_argument("--quiet", action="store_true", default=None, help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import curve

    out = Path(args.out) if args.out else Path(f"curve-{time.strftime('%Y%m%d-%H%M%S')}")
    given = {k: getattr(args, k) for k in SETTINGS if getattr(args, k) is not None}
    result = curve(args.data, args.backbone, args.fractions, out, cache_dir=args.cache_dir, **given)
    rows = [
        [f"{100 * p.fraction:g}%", p.images, fmt(p.val_accuracy), f"{p.l2:g}"]
        for p in result.curve.points
    ]
    print_table(
        f"linear probe on {args.backbone}",
        ["labels", "images", "val accuracy", "L2"],
        rows,
    )
    print(result.curve.answer)
    print(f"wrote {result.json_path} and {result.plot_path}")
    return 0
