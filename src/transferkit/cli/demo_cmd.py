"""``transferkit demo``: train on the built-in data and show what transfer learning buys."""

from __future__ import annotations

import argparse
from pathlib import Path

from transferkit.cli.common import fmt, fmt_ci, print_table
from transferkit.core.config import TASKS
from transferkit.core.display import cell
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
    fixed = ("run", "weights", "strategy", "seconds", "run_dir", "split", "ci")
    metric_keys = [k for k in rows[0] if k not in fixed]
    columns = ["run", "weights", "strategy", *metric_keys, "seconds", "run_dir"]
    header = [f"{c} (95% CI)" if c in metric_keys else c for c in columns]
    print_table(
        f"transferkit demo --task {args.task} (held-out {rows[0].get('split') or 'val'} split; "
        "95% bootstrap intervals over its images)",
        header,
        [[_cell(r, c, metric_keys) for c in columns] for r in rows],
        below=("run_dir",),
    )
    print(f"results: {out / 'demo.json'}")
    return 0


def _cell(row: dict, column: str, metric_keys: list[str]) -> str:
    """A table cell: metrics with their interval, ``0.756 [0.712, 0.798]``."""
    ci = fmt_ci((row.get("ci") or {}).get(column)) if column in metric_keys else ""
    return f"{fmt(row.get(column), 3)} {ci}" if ci else cell(column, row.get(column))
