"""Helpers shared by the command modules: numeric options, printing tables and JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from transferkit.core.config import RANGES
from transferkit.core.display import cell, number


def add_number(p: argparse.ArgumentParser, flag: str, help: str | None = None, **kwargs) -> None:
    """Add ``flag``, a number declared in ``core.config``: its type, and its range in ``--help``.

    The range is checked by the config (or the API function) the value goes to, so that the CLI,
    the API and YAML give one message; argparse only refuses text that is not a number.
    """
    dest = kwargs.pop("dest", flag.lstrip("-").replace("-", "_"))
    declared = RANGES[dest]
    bounds = str(declared) if str(declared)[0] in "[(" else f"({declared})"  # [0, 1) or (> 0)
    text = f"{help} {bounds}" if help else bounds
    kind = declared.parse if declared.words else declared.kind
    p.add_argument(flag, dest=dest, type=kind, help=text, **kwargs)


def print_table(
    title: str | None,
    columns: list[str],
    rows: list[list[Any]],
    below: Sequence[str] = (),
) -> None:
    """Print a rich table to stdout; numbers formatted by :func:`core.display.cell` (durations
    as ``117.6 s``, counts with separators). Columns named in ``below`` (paths) are printed
    under the table, one line per row named by its first cell, instead of wrapping inside it.
    """
    # rich costs a tenth of a second to import: only commands that print a table pay for it
    from rich.console import Console
    from rich.table import Table

    keep = [i for i, c in enumerate(columns) if c not in below]
    table = Table(title=title, show_lines=False)
    for i in keep:
        table.add_column(columns[i], overflow="fold")
    for row in rows:
        table.add_row(
            *[
                v if isinstance(v, str) else cell(columns[i], v)
                for i, v in enumerate(row)
                if i in keep
            ]
        )
    out = Console(highlight=False)
    # Piped output has no width to fit: never fold a cell there.
    width = out.width if out.is_terminal else 1000
    Console(width=max(100, width), highlight=False).print(table)
    for name in below:
        col = columns.index(name)
        print(f"{name}:")
        for row in rows:
            print(f"  {row[0]}: {'' if row[col] is None else row[col]}")


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout."""
    json.dump(obj, sys.stdout, indent=2)
    sys.stdout.write("\n")


def fmt(value: Any, digits: int = 4) -> str:
    """Numbers rounded for tables; other values as text."""
    return number(value, digits)


def fmt_ci(ci: Any, digits: int = 3) -> str:
    """A ``[low, high]`` interval for tables, "" when there is none."""
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or None in ci:
        return ""
    return f"[{float(ci[0]):.{digits}f}, {float(ci[1]):.{digits}f}]"
