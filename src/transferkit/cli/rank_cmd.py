"""``transferkit rank``: score candidate backbones on your data before fine-tuning any of them."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from transferkit.cli.common import add_number, fmt, print_table
from transferkit.core.config import option_default


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rank",
        help="rank backbones by a transferability score on your data",
        description="Extract (cached) features of every labelled image with each backbone and "
        "score how well they suit the labels, without fine-tuning.",
    )
    p.add_argument("--data", required=True, help="data folder or CSV (classification)")
    p.add_argument(
        "--task",
        default="classify",
        choices=["classify", "multilabel"],
        help="multilabel: LogME per label, averaged",
    )
    p.add_argument(
        "--backbones",
        required=True,
        help="comma-separated zoo names, or 'local' for all with weights offline",
    )
    p.add_argument(
        "--metric",
        default="logme",
        help="logme (default), leep / nce (use the ImageNet head), hscore",
    )
    p.add_argument("--weights", default="auto", help="auto (pretrained) or none (random init)")
    add_number(p, "--img-size", help="input size in pixels")
    p.add_argument("--out", help="folder for rank.json (default ./rank-<time>)")
    p.add_argument("--cache-dir", dest="cache_dir", help="feature cache folder")
    add_number(p, "--batch-size", default=option_default("batch_size"))
    add_number(p, "--num-workers", default=0)
    p.add_argument("--format", default="auto", help="auto, folder or csv")
    p.add_argument("--on-bad-image", dest="on_bad_image", choices=["fail", "skip"], default="fail")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import rank

    out = Path(args.out) if args.out else Path(f"rank-{time.strftime('%Y%m%d-%H%M%S')}")
    rows = rank(
        args.data,
        args.backbones,
        args.metric,
        weights=args.weights,
        img_size=args.img_size,
        cache_dir=args.cache_dir,
        out=out,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        format=args.format,
        on_bad_image=args.on_bad_image,
        progress=not args.quiet,
        task=args.task,
    )
    table = [
        [
            r.get("rank", "-"),
            r["backbone"],
            fmt(r.get("score")) if "score" in r else "",
            f"{r['seconds']:.1f}",
            ("cached" if r.get("extracted") == 0 else f"extracted {r['extracted']}")
            if r["status"] == "ok"
            else f"skipped: {r['reason']}",
        ]
        for r in rows
    ]
    print_table(
        f"{args.metric} on {args.data}",
        ["rank", "backbone", args.metric, "seconds", "features"],
        table,
    )
    print(f"wrote {out / 'rank.json'}")
    return 0
