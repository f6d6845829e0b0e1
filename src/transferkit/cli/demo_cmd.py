"""``transferkit demo``: train on the built-in data and show what transfer learning buys."""

from __future__ import annotations

import argparse
from pathlib import Path

from transferkit.cli.common import print_table
from transferkit.core.config import TASKS
from transferkit.core.fileio import write_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="fine-tune on built-in demo data: pretrained vs random init")
    p.add_argument("--task", default="classify", choices=list(TASKS))
    p.add_argument("--out", default="transferkit-demo", help="folder for data and runs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import demo

    out = Path(args.out) / args.task
    rows = demo(args.task, out, quiet=args.quiet)
    write_json(out / "demo.json", rows)
    metric_keys = [
        k for k in rows[0] if k not in ("run", "weights", "strategy", "seconds", "run_dir", "split")
    ]
    columns = ["run", "weights", "strategy", *metric_keys, "seconds", "run_dir"]
    print_table(
        f"transferkit demo --task {args.task} (held-out {rows[0].get('split') or 'val'} split)",
        columns,
        [[r.get(c) for c in columns] for r in rows],
        below=("run_dir",),
    )
    print(f"results: {out / 'demo.json'}")
    return 0
