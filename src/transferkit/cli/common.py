"""Helpers shared by the command modules: printing tables and JSON."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a rich table to stdout (plain text when stdout is not a terminal)."""
    # rich costs a tenth of a second to import: only commands that print a table pay for it
    from rich.console import Console
    from rich.table import Table

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
