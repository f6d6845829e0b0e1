"""``transferkit zoo list [PATTERN]``: the backbones, their size, local weights and licence."""

from __future__ import annotations

import argparse

from transferkit.cli.common import print_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "zoo",
        help="list the backbones",
        description="The short names, or every timm:/tv: name matching PATTERN (a glob; a plain "
        "word matches as a substring). 'weights' says where pretrained weights are found "
        "offline (built-in, store, torch hub cache, hf cache) or 'no'.",
    )
    actions = p.add_subparsers(dest="zoo_action", metavar="ACTION", required=True)
    lst = actions.add_parser("list", help="list backbones")
    lst.add_argument("pattern", nargs="?", help="e.g. resnet, 'timm:convnext*', 'tv:*'")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.pattern:  # every timm / torchvision name: the libraries are imported
        from transferkit.api import MAX_ROWS, list_backbones

        rows = list_backbones(args.pattern)
    else:  # the short names, from their table: no torch, well under a second
        from transferkit.api import alias_rows

        rows = alias_rows()
    if not rows:
        print(f"no backbone matches {args.pattern!r}")
        return 0
    print_table(
        "backbones" + (f" matching {args.pattern!r}" if args.pattern else " (short names)"),
        ["name", "source", "params", "weights", "licence", "resolves to"],
        [
            [r.name, r.source, _millions(r.parameters), r.weights, r.licence, r.canonical]
            for r in rows
        ],
    )
    if args.pattern and len(rows) >= MAX_ROWS:
        print(f"showing the first {MAX_ROWS} full names; narrow the pattern to see others")
    return 0


def _millions(n: int) -> str:
    return f"{n / 1e6:.1f}M"
