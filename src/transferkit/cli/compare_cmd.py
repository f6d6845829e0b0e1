"""``transferkit compare``: several transfer strategies on one data set, one table and a plot."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from transferkit.cli.common import fmt, print_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="run several strategies with the same seed and budget",
        description="Train one run per strategy (same backbone, split, seed and epochs) and "
        "write a table (compare.csv / .json) and a plot (compare.png).",
    )
    p.add_argument("--data", required=True, help="data folder or CSV (classification)")
    p.add_argument(
        "--strategies",
        default="probe,head,gradual,full",
        help="comma-separated: probe, head, gradual, full, partial:N, auto",
    )
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument(
        "--with-scratch",
        dest="with_scratch",
        action="store_true",
        help="add a row: full fine-tuning from random init (--weights none)",
    )
    p.add_argument("--out", help="output folder (default ./compare-<time>)")
    p.add_argument("--img-size", dest="img_size", type=int)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--val-fraction", dest="val_fraction", type=float)
    p.add_argument("--test-fraction", dest="test_fraction", type=float)
    p.add_argument("--seed", type=int, default=0, help="training seed of every run")
    p.add_argument(
        "--split-seed",
        dest="split_seed",
        type=int,
        help="seed of the train/val/test carve, as train's --split-seed (default 0)",
    )
    p.add_argument("--num-workers", dest="num_workers", type=int)
    p.add_argument("--unlabelled", help="not supported yet (train --unlabelled compares both)")
    p.add_argument("--quiet", action="store_true", default=None, help="no progress bars")
    p.set_defaults(func=run)


SETTINGS = (
    "img_size",
    "batch_size",
    "lr",
    "val_fraction",
    "test_fraction",
    "split_seed",
    "num_workers",
    "unlabelled",
    "quiet",
)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import compare, parse_strategies

    parse_strategies(args.strategies)  # a typo fails here, before any run starts
    out = Path(args.out) if args.out else Path(f"compare-{time.strftime('%Y%m%d-%H%M%S')}")
    rows = compare(
        args.data,
        args.strategies,
        backbone=args.backbone,
        epochs=args.epochs,
        with_scratch=args.with_scratch,
        out=out,
        seed=args.seed,
        **{k: getattr(args, k) for k in SETTINGS},
    )
    table = [
        [
            r["strategy"],
            r["weights"],
            fmt(r["accuracy"]),
            fmt(r["macro_f1"]),
            r["evaluated_split"],
            f"{r['seconds']:.1f}",
            r["trainable_parameters"],
        ]
        for r in rows
    ]
    print_table(
        f"{args.backbone} on {args.data}, {args.epochs} epochs, seed {args.seed}",
        ["strategy", "weights", "accuracy", "macro F1", "split", "seconds", "trainable"],
        table,
    )
    print(f"wrote {out / 'compare.csv'} and {out / 'compare.png'}")
    return 0
