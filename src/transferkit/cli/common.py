"""Helpers shared by the command modules: numeric options, printing tables and JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from transferkit.core.config import RANGES


def add_number(p: argparse.ArgumentParser, flag: str, help: str | None = None, **kwargs) -> None:
    """Add ``flag``, a number declared in ``core.config``: its type, and its range in ``--help``.

    The range is checked by the config (or the API function) the value goes to, so that the CLI,
    the API and YAML give one message; argparse only refuses text that is not a number.
    """
    dest = kwargs.pop("dest", flag.lstrip("-").replace("-", "_"))
    declared = RANGES[dest]
    bounds = str(declared) if str(declared)[0] in "[(" else f"({declared})"  # [0, 1) or (> 0)
    text = f"{help} {bounds}" if help else bounds
    p.add_argument(flag, dest=dest, type=declared.kind, help=text, **kwargs)


def print_table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a rich table to stdout (plain text when stdout is not a terminal)."""
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console(width=max(100, Console().width), highlight=False).print(table)


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout."""
    json.dump(obj, sys.stdout, indent=2)
    sys.stdout.write("\n")


def fmt(value: Any, digits: int = 4) -> str:
    """Numbers rounded for tables; other values as text."""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return "" if value is None else str(value)
