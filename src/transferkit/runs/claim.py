"""Who may write a run directory: one process, into a folder that is the run's own.

A new run goes only into a folder that does not exist or is empty (a ``.lock`` left there by an
earlier holder aside: that file is the tool's, not the user's); ``--resume`` only into a run. Either
way the writer holds an OS lock on ``.lock`` for as long as it runs, so a second process on the same
folder is refused with the holder's PID, and a killed holder leaves no stale lock: the kernel drops
an ``flock`` (Windows: a ``msvcrt`` byte lock) with the process that held it. The lock file stays
after the run: deleting it would let a process that opened it just before lock an orphan file while
a third locks a new one.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from transferkit.core import env
from transferkit.core.errors import RunDirError
from transferkit.runs.rundir import RunDir

LOCK_FILE = ".lock"
_SHOWN = 4  # names listed when refusing a non-empty folder
_WIN_LOCK_OFFSET = 1 << 20  # Windows locks bytes: lock one far from the holder's text, readable

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt


def _try_lock(fd: int, shared: bool = False) -> bool:
    """Take the lock on ``fd`` without waiting; False when another process holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        else:
            os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _holder_text(fd: int) -> str:
    """The holder as "process PID on HOST (since T)", or a vaguer phrase if unreadable."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        who = json.loads(os.read(fd, 4096).decode("utf-8"))
        return f"process {int(who['pid'])} on {who['host']} (since {who['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _after_dead_holder(fd: int, wait: float = 20.0) -> bool:
    """Take the lock once a killed holder's children let go of it; False if the holder lives.

    ``flock`` is shared with forked children: the data loader's worker processes of a run killed
    with ``kill -9`` hold its lock until they notice their parent is gone (a few seconds).
    """
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        who = json.loads(os.read(fd, 4096).decode("utf-8"))
        pid, host = int(who["pid"]), who["host"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if fcntl is None or host != socket.gethostname() or _alive(pid):
        return False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.25)
        if _try_lock(fd):
            return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _busy(path: Path, holder: str) -> RunDirError:
    return RunDirError(
        f"{path} is in use: {holder} is writing it",
        hint="wait for that run to end (or stop it), or choose another --out; a killed process "
        "leaves no lock behind",
    )


def held_by(path: str | Path) -> str | None:
    """Who holds the lock of the run directory ``path`` ("process PID on HOST …"), or None."""
    lock = Path(path) / LOCK_FILE
    try:
        fd = os.open(lock, os.O_RDONLY if fcntl is not None else os.O_RDWR)
    except OSError:
        return None
    try:
        if _try_lock(fd, shared=True):
            _unlock(fd)
            return None
        return _holder_text(fd)
    finally:
        os.close(fd)


class RunLock:
    """The lock of one run directory, held from :meth:`acquire` to :meth:`release`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.file = self.path / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise RunDirError naming the process that holds it."""
        try:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise unwritable(self.path, e) from None
        if not _try_lock(fd) and not _after_dead_holder(fd):
            holder = _holder_text(fd)
            os.close(fd)
            raise _busy(self.path, holder)
        since = _dt.datetime.now().isoformat(timespec="seconds")
        who = {"pid": os.getpid(), "host": socket.gethostname(), "since": since}
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, (json.dumps(who) + "\n").encode("utf-8"))
        except OSError as e:
            _unlock(fd)
            os.close(fd)
            raise unwritable(self.path, e) from None
        self._fd = fd
        return self

    def release(self) -> None:
        """Let go of the lock (the file stays; see the module notes)."""
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def unwritable(path: Path, e: OSError) -> RunDirError:
    """The error for an output folder that cannot be created or written."""
    return RunDirError(
        f"cannot write the run directory {path}: {e.strerror or e}",
        hint="choose an --out on a writable disk (out= in the API), or fix the folder's "
        "permissions",
    )


def _occupied(path: Path) -> RunDirError | None:
    """Why ``path`` cannot take a new run (a file, a run, a non-empty folder), or None."""
    if path.exists() and not path.is_dir():
        return RunDirError(f"--out {path} is a file, not a folder", hint="choose a new folder")
    if not path.is_dir():
        return None
    names = sorted(p.name for p in path.iterdir() if p.name != LOCK_FILE)
    if not names:
        return None
    if RunDir(path).is_run():
        return RunDirError(
            f"{path} already holds a run; it is left untouched",
            hint=f"continue it with `transferkit train --resume {path}` (resume=True in the API) "
            "or choose another output folder",
        )
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return RunDirError(
        f"{path} is not empty (it holds {', '.join(names[:_SHOWN])}{more}) and is not a run; "
        "nothing in it was touched",
        hint="a run is written only into a new or empty folder: choose another --out "
        "(out= in the API)",
    )


def refuse_occupied(path: str | Path) -> None:
    """Raise RunDirError unless ``path`` is free for a new run: absent, or empty but for a
    ``.lock``. Writes nothing."""
    path = Path(path)
    problem = _occupied(path)
    if problem is None:
        return
    holder = held_by(path) if path.is_dir() else None
    raise _busy(path, holder) if holder else problem


def _probe_write(path: Path) -> None:
    """Write and remove a small file in ``path``: a read-only or full disk fails here, before
    any work rather than after it."""
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe.") as f:
            f.write(b"transferkit")
            f.flush()
    except OSError as e:
        raise unwritable(path, e) from None


@contextmanager
def claim(path: str | Path, resume: bool = False) -> Iterator[RunLock | None]:
    """Hold ``path`` for one run: checked (new: free; resume: a run), writable, and locked.

    Yields the lock (None in the secondary processes of a torchrun / SLURM launch: rank 0 writes
    the run directory, and holds its lock, for all of them).
    """
    path = Path(path)
    if env.global_rank() != 0:
        yield None
        return
    created = not path.exists()
    if resume:
        RunDir(path).require_run()
    else:
        refuse_occupied(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise unwritable(path, e) from None
    lock = RunLock(path).acquire()
    try:
        # Checked again under the lock: another process may have written a run here between the
        # first look and the lock.
        problem = None if resume else _occupied(path)
        if problem is not None:
            raise problem
        _probe_write(path)
        yield lock
    except BaseException:
        if created:  # a run that failed before writing anything leaves no empty folder behind
            _remove_if_bare(path)
        raise
    finally:
        lock.release()


def _remove_if_bare(path: Path) -> None:
    """Remove ``path`` when it holds nothing but its lock file."""
    try:
        if {p.name for p in path.iterdir()} <= {LOCK_FILE}:
            (path / LOCK_FILE).unlink(missing_ok=True)
            path.rmdir()
    except OSError:  # best effort: the error being raised matters more
        pass
