"""``transferkit weights list | add NAME FILE``: the local weight store."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "weights",
        help="list or import pretrained weights for offline use",
        description="The local weight store ($TRANSFERKIT_HOME/weights). `add` checks that FILE "
        "(.safetensors, .pth or .pt state dict) fits backbone NAME, then keeps a safetensors copy "
        "that `--weights auto` finds without a network.",
    )
    actions = p.add_subparsers(dest="weights_action", metavar="ACTION", required=True)
    actions.add_parser("list", help="list stored weights")
    add = actions.add_parser("add", help="import a state dict for a backbone")
    add.add_argument("name", help="backbone name (short name, timm:NAME[.TAG] or tv:NAME)")
    add.add_argument("file", help="state dict file (.safetensors, .pth, .pt)")
    add.add_argument("--licence", default="unknown", help="licence of the weights")
    add.add_argument(
        "--pretraining-data", dest="pretraining_data", default="unknown", help="e.g. ImageNet-1k"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import add_weights, list_weights, weights_dir
    from transferkit.cli.common import print_table

    if args.weights_action == "add":
        entry = add_weights(args.name, args.file, args.licence, args.pretraining_data)
        head = "with" if entry.has_source_head else "without"
        print(
            f"stored {entry.name} ({entry.parameters:,} parameters, {head} the pretraining "
            f"classifier) in {entry.file}\nsha256 {entry.sha256}"
        )
        return 0
    entries = list_weights()
    if not entries:
        print(f"no weights stored in {weights_dir()}")
        return 0
    print_table(
        f"weight store {weights_dir()}",
        ["name", "params", "classifier", "licence", "added", "sha256", "from"],
        [
            [
                e.name,
                f"{e.parameters:,}",
                "yes" if e.has_source_head else "no",
                e.licence,
                e.added,
                e.sha256[:12],
                e.original_file,
            ]
            for e in entries
        ],
        below=("from",),
    )
    return 0
