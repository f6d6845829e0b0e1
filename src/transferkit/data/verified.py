"""Image verification that scales: decoded on parallel threads, remembered between runs.

Every run decodes each image once up front so that a corrupt file fails (or is skipped) before
training. On a large folder that costs tens of seconds, again on every run; so an image that
decoded cleanly is remembered by ``(path, size, mtime_ns)`` in the tool's folder
(``core.env.verified_dir``), and a later run skips decoding it while the file is unchanged. A file
that changed (size or modification time) is decoded again; a file that failed is never
remembered, so a corrupt file is caught on every run. JPEGs are decoded at reduced scale
(``images.inspect_image``), which still reads every byte.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from transferkit.core import env
from transferkit.core.errors import DatasetError
from transferkit.core.fileio import atomic_write_text
from transferkit.data.images import inspect_image

VERSION = 1
MAX_THREADS = 8


def memory_file(paths: list[str]) -> Path:
    """The file that remembers the images under the common folder of ``paths``."""
    root = os.path.commonpath([os.path.abspath(p) for p in paths]) if paths else ""
    return env.verified_dir() / f"{hashlib.sha256(root.encode()).hexdigest()[:24]}.json"


def verify_images(
    paths: Iterable[str],
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    remember: bool = True,
) -> tuple[dict[str, tuple[int, int]], dict[str, str]]:
    """Decode each image (unless remembered unchanged); ``(sizes, errors)`` by path.

    ``sizes`` holds the upright ``(width, height)`` of the good images, ``errors`` the message of
    each bad one. ``progress(done, total)`` is called as images are checked.
    """
    paths = sorted(set(map(str, paths)))
    known = _read(memory_file(paths)) if remember and paths else {}
    stamps = {p: _stamp(p) for p in paths}
    sizes: dict[str, tuple[int, int]] = {}
    todo = []
    for p in paths:
        seen = known.get(p)
        if seen is not None and stamps[p] is not None and tuple(seen[:2]) == stamps[p]:
            sizes[p] = (int(seen[2]), int(seen[3]))
        else:
            todo.append(p)
    errors: dict[str, str] = {}

    def check(p: str) -> None:
        try:
            sizes[p] = inspect_image(p)
        except DatasetError as e:
            errors[p] = e.message

    recalled = len(paths) - len(todo)
    if progress and recalled:
        progress(recalled, len(paths))
    # PIL releases the GIL while decoding, so threads overlap the decoding work.
    with ThreadPoolExecutor(max_workers=threads or min(MAX_THREADS, os.cpu_count() or 1)) as pool:
        for done, _ in enumerate(pool.map(check, todo), start=recalled + 1):
            if progress:
                progress(done, len(paths))
    if remember and todo:
        good = {p: [*stamps[p], *sizes[p]] for p in paths if p in sizes and stamps[p]}
        _write(memory_file(paths), good)
    return sizes, errors


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _read(path: Path) -> dict[str, list]:
    """The remembered images; nothing when the file is missing, unreadable or of another version
    (it is only a cache: the images are then decoded again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _write(path: Path, files: dict[str, list]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"version": VERSION, "files": files}))
    except OSError:  # a read-only home costs speed on the next run, never the run itself
        pass
