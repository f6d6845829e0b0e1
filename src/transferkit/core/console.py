"""The one console: every message the library shows goes through here, printed on rank 0 only.

Under DDP every process runs the same code; only global rank 0 speaks, so a message appears once.
The rank comes from the launcher's environment (``core.env.global_rank``) unless the engine has set
it with :func:`set_rank` once it knows better. The streams are looked up at call time (not bound
once, as a ``logging`` handler would) so redirections such as pytest's capture see every line.
"""

from __future__ import annotations

import sys

from transferkit.core import env

_rank: int | None = None  # set by the engine; None means "ask the environment"


def set_rank(rank: int | None) -> None:
    """Fix this process's global rank (None: read it from the environment again)."""
    global _rank
    _rank = rank


def is_main() -> bool:
    """Whether this process is global rank 0, the one that prints."""
    return (_rank if _rank is not None else env.global_rank()) == 0


def info(msg: str) -> None:
    """Print ``msg`` to standard output (rank 0 only)."""
    if is_main():
        print(msg, file=sys.stdout, flush=True)


def warn(msg: str) -> None:
    """Print ``msg`` to standard error (rank 0 only)."""
    if is_main():
        print(msg, file=sys.stderr, flush=True)
