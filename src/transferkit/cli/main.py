"""``transferkit`` command line: one small module per command, dispatch and error handling here.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func=run`` (a callable taking the parsed args and returning an exit status). User errors
(``TransferkitError``) print one line plus a hint and exit 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from transferkit.core.errors import TransferkitError

# Command modules, in the order ``--help`` lists them.
COMMAND_MODULES = [
    "transferkit.cli.demo_cmd",
    "transferkit.cli.train_cmd",
    "transferkit.cli.evaluate_cmd",
    "transferkit.cli.predict_cmd",
    "transferkit.cli.plan_cmd",
    "transferkit.cli.zoo_cmd",
    "transferkit.cli.weights_cmd",
    "transferkit.cli.rank_cmd",
    "transferkit.cli.curve_cmd",
    "transferkit.cli.compare_cmd",
    "transferkit.cli.cache_cmd",
    "transferkit.cli.data_cmd",
    "transferkit.cli.report_cmd",
    "transferkit.cli.export_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every available command registered."""
    parser = argparse.ArgumentParser(
        prog="transferkit",
        description="Transfer learning for classification, detection and segmentation.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:  # a command not built yet; the others still work
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except TransferkitError as e:
        if args.debug:
            raise
        print(f"error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
