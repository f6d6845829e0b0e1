"""``transferkit compare``: several transfer strategies on one data set, one table and a plot."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from transferkit.cli.common import add_number, fmt, fmt_ci, print_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="run several strategies with the same seed and budget",
        description="Train one run per strategy (same backbone, split, seed and epochs) and "
        "write a table (compare.csv / .json) and a plot (compare.png).",
    )
    p.add_argument("--data", required=True, help="data folder or CSV (classification)")
    p.add_argument(
        "--task", default="classify", choices=["classify", "multilabel"], help="default: classify"
    )
    p.add_argument(
        "--strategies",
        default="probe,head,gradual,full",
        help="comma-separated: probe, head, gradual, full, partial:N, auto",
    )
    p.add_argument("--backbone", default="efficientnet_lite0")
    add_number(p, "--epochs", default=3)
    p.add_argument(
        "--with-scratch",
        dest="with_scratch",
        action="store_true",
        help="add a row: full fine-tuning from random init (--weights none)",
    )
    p.add_argument("--out", help="output folder (default ./compare-<time>)")
    add_number(p, "--img-size")
    add_number(p, "--batch-size")
    add_number(p, "--lr")
    add_number(p, "--val-fraction")
    add_number(p, "--test-fraction")
    add_number(p, "--seed", default=0, help="training seed of every run")
    add_number(
        p,
        "--split-seed",
        help="seed of the train/val/test carve, as train's --split-seed (default 0)",
    )
    add_number(p, "--num-workers")
    p.add_argument("--unlabelled", help="not supported yet (train --unlabelled compares both)")
    p.add_argument("--quiet", action="store_true", default=None, help="no progress bars")
    p.set_defaults(func=run)


HEADERS = {
    "accuracy": "accuracy",
    "macro_f1": "macro F1",
    "map_macro": "macro mAP",
    "f1_macro": "macro F1",
}
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
        task=args.task,
        **{k: getattr(args, k) for k in SETTINGS},
    )
    if not rows:
        print("no runs to compare")
        return 0
    first, second = list(rows[0])[2:6:3]  # accuracy, macro_f1 (multilabel: map_macro, f1_macro)
    table = [
        [
            r["strategy"],
            r["weights"],
            _with_ci(r, first),
            _with_ci(r, second),
            r["better_than"] or "-",
            r["evaluated_split"],
            r["seconds"],
            r["trainable_parameters"],
        ]
        for r in rows
    ]
    print_table(
        f"{args.backbone} on {args.data}, {args.epochs} epochs, seed {args.seed}",
        [
            "strategy",
            "weights",
            f"{HEADERS[first]} (95% CI)",
            f"{HEADERS[second]} (95% CI)",
            "better than (p < 0.05)",
            "split",
            "seconds",
            "trainable",
        ],
        table,
    )
    print(json.loads((out / "compare.json").read_text())["verdict"])
    print(
        "intervals: bootstrap over the test images; better than: McNemar mid-p on the same "
        "images, Holm-adjusted over all pairs (every pair's tests in compare.json)"
    )
    print(f"wrote {out / 'compare.csv'} and {out / 'compare.png'}")
    return 0


def _with_ci(row: dict, key: str) -> str:
    """A metric with its interval, ``0.756 [0.712, 0.798]``."""
    ci = fmt_ci([row[f"{key}_low"], row[f"{key}_high"]])
    return f"{fmt(row[key], 3)} {ci}" if ci else fmt(row[key])
