"""``transferkit cache info|clear``: what the feature cache holds, and emptying it."""

from __future__ import annotations

import argparse

from transferkit.cli.common import print_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cache",
        help="show or clear the feature cache",
        description="The feature cache keeps pooled backbone features per image "
        "(used by --strategy probe, rank and compare).",
    )
    p.add_argument("action", choices=["info", "clear"])
    p.add_argument(
        "--cache-dir",
        dest="cache_dir",
        help="cache folder (default $TRANSFERKIT_CACHE_DIR or $TRANSFERKIT_HOME/features)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import feature_cache

    cache = feature_cache(args.cache_dir)
    if args.action == "clear":
        entries, size = cache.clear()
        print(f"removed {entries} entries ({_mib(size)}) from {cache.root}")
        return 0
    rows = cache.entries()
    table = [
        [
            r["entry"],
            r.get("backbone", "?"),
            r.get("images", ""),
            r.get("dim", ""),
            _mib(r["bytes"]),
            r.get("created", "") if r["complete"] else "incomplete",
            r.get("data_root", ""),
        ]
        for r in rows
    ]
    print_table(
        f"feature cache {cache.root}",
        ["entry", "backbone", "images", "dim", "size", "created", "data"],
        table,
        below=("data",),
    )
    print(f"{len(rows)} entries, {_mib(sum(r['bytes'] for r in rows))} in total")
    return 0


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"
