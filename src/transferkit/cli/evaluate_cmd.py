"""``transferkit evaluate``: metrics of a run on its data (or other data), or of a predictions file."""

from __future__ import annotations

import argparse

from transferkit.cli.common import add_number, fmt_ci, print_json, print_table
from transferkit.core.config import TASKS, option_default
from transferkit.core.display import cell
from transferkit.core.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="metrics of a run, or of a predictions file",
        description="Evaluate a run directory on its held-out split (or --data), or "
        "score a predictions file made by any tool (--predictions).",
    )
    p.add_argument(
        "run_dir",
        nargs="?",
        metavar="RUNDIR",
        help="a run directory, or an exported MODEL.onnx (classify, segment)",
    )
    p.add_argument("--data", help="data to evaluate on (default: the run's own data)")
    p.add_argument("--split", choices=["val", "test"], help="default: test when present, else val")
    p.add_argument(
        "--task",
        choices=list(TASKS),
        help="with --predictions: the task the predictions are for",
    )
    p.add_argument("--predictions", help="predictions file / folder made by any tool")
    add_number(p, "--batch-size", default=option_default("batch_size"))
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import evaluate, evaluate_predictions

    if args.predictions:
        if not args.task or not args.data:
            raise ConfigError(
                "--predictions needs --task and --data (the ground truth)",
                hint="e.g. evaluate --task detect --data ann.json --predictions res.json",
            )
        metrics = evaluate_predictions(args.task, args.data, args.predictions)
    else:
        if not args.run_dir:
            raise ConfigError(
                "evaluate needs a run directory or --predictions",
                hint="transferkit evaluate RUNDIR [--data PATH] [--split test]",
            )
        metrics = evaluate(
            args.run_dir, data=args.data, split=args.split, batch_size=args.batch_size
        )
    if args.json:
        print_json(metrics)
    else:
        ci = metrics.get("ci") or {}
        rows = [
            [k, cell(k, v), fmt_ci(ci.get(k))]
            for k, v in metrics.items()
            if isinstance(v, (int, float, str))
        ]
        print_table("metrics", ["metric", "value", "95% CI (bootstrap over images)"], rows)
    return 0
