"""``transferkit report``: (re)write the self-contained HTML report of a run directory."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write the HTML report of a run",
        description="Write RUNDIR/report.html: config and freeze plan, data summary, learning "
        "curves, final metrics and example predictions; one file, images embedded.",
    )
    p.add_argument("run_dir", metavar="RUNDIR", help="a run directory")
    p.add_argument("--out", help="HTML file to write (default RUNDIR/report.html)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import write_report

    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    path = write_report(args.run_dir, out=args.out, warn=warn)
    print(f"report written to {path}")
    return 0
