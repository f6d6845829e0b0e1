"""Feature cache: pooled backbone features per image, computed once and kept on disk.

An entry is keyed by everything the features depend on: the backbone (name, class, width), its
weights (the sha256 of the weights file, or a digest of the tensors for random init), the eval
transform (its full ``repr``, so a different size, crop or normalisation is a different entry) and
the data (the sorted file list with sizes and modification times). Change any of them and the key
changes, so a stale entry is never read; ``transferkit cache clear`` removes old ones.

Layout of an entry folder ``<root>/<key[:20]>/``::

    shard-00000.safetensors   features of sorted files [0, S), written to a temp name then renamed
    shard-00001.safetensors   ...
    manifest.json             written last: an entry without it is incomplete and never read
    .lock                     serialises extraction between processes (flock)

An extraction killed half-way leaves whole shards only (atomic rename); the next run keeps the
shards whose metadata matches the key and slice, and extracts the rest. Two runs that need the
same entry take turns on the lock: the second finds the manifest and reads it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from transferkit.core import env
from transferkit.core.errors import ConfigError
from transferkit.core.fileio import atomic_write, read_json, write_json
from transferkit.transfer.cache_key import digest, file_fingerprint, weights_digest
from transferkit.transfer.extract import extract_pooled
from transferkit.zoo.backbone import Backbone

try:  # POSIX only; elsewhere atomic renames alone keep concurrent runs safe (work may be doubled)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

FORMAT_VERSION = 1
SHARD_SIZE = 1024


def default_cache_dir() -> Path:
    """``$TRANSFERKIT_CACHE_DIR`` when set, else ``$TRANSFERKIT_HOME/features`` (``core.env``)."""
    return env.cache_dir()


def resolve_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The cache folder (``cache_dir`` or the default), created and checked to be writable."""
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-test-"):
            pass
    except OSError as e:
        raise ConfigError(
            f"feature cache folder {root} is not writable ({e.strerror or e})",
            hint=f"pass --cache-dir DIR or set {env.CACHE_DIR_VAR} to a folder you can write to",
        ) from None
    return root


@dataclass
class FeatureSet:
    """Features of the images asked for, in the order asked, and how they were obtained."""

    features: torch.Tensor  # (N, D) float32
    key: str
    entry: Path
    extracted: int  # images run through the backbone by this call (0: all from the cache)
    seconds: float


class FeatureCache:
    """Pooled features on disk under ``root`` (see the module documentation)."""

    def __init__(self, root: str | Path | None = None, shard_size: int = SHARD_SIZE):
        self.root = resolve_cache_dir(root)
        self.shard_size = shard_size

    def key(self, backbone: Backbone, transform: Any, fingerprint: Sequence[str]) -> str:
        """The entry key of ``backbone`` + its weights + ``transform`` + the data fingerprint."""
        parts = {
            "version": FORMAT_VERSION,
            "backbone": backbone.name,
            "class": f"{type(backbone).__module__}.{type(backbone).__qualname__}",
            "num_features": backbone.num_features,
            "weights": weights_digest(backbone),
            "transform": repr(transform),
            "data": digest(fingerprint),
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def features(
        self,
        backbone: Backbone,
        paths: Sequence[str | Path],
        transform: Callable,
        *,
        batch_size: int = 64,
        num_workers: int = 0,
        device: str | torch.device | None = None,
        progress: bool = True,
    ) -> FeatureSet:
        """Pooled features of ``paths`` under ``transform``, from the cache or extracted into it."""
        start = time.perf_counter()
        fingerprint = file_fingerprint(paths)
        key = self.key(backbone, transform, fingerprint)
        entry = self.root / key[:20]
        table = self._read(entry, key, len(fingerprint))
        extracted = 0
        if table is None:
            entry.mkdir(parents=True, exist_ok=True)
            with _locked(entry / ".lock"):
                table = self._read(entry, key, len(fingerprint))  # another run may have finished it
                if table is None:
                    table, extracted = self._fill(
                        entry,
                        key,
                        fingerprint,
                        backbone,
                        transform,
                        batch_size,
                        num_workers,
                        device,
                        progress,
                    )
        rows = {line.rsplit("|", 2)[0]: i for i, line in enumerate(fingerprint)}
        order = torch.tensor([rows[str(Path(p).resolve())] for p in paths], dtype=torch.long)
        return FeatureSet(table[order], key, entry, extracted, time.perf_counter() - start)

    def _read(self, entry: Path, key: str, count: int) -> torch.Tensor | None:
        """The whole feature table of a complete entry, or None if absent, partial or damaged."""
        manifest_path = entry / "manifest.json"
        if not manifest_path.is_file():
            return None
        try:
            manifest = read_json(manifest_path)
            if manifest.get("key") != key or manifest.get("num_images") != count:
                return None
            parts = [
                self._load_shard(entry / s["file"], key, s["start"], s["count"])
                for s in manifest["shards"]
            ]
        except (OSError, ValueError, KeyError):
            parts = [None]
        if any(p is None for p in parts):
            manifest_path.unlink(missing_ok=True)  # damaged: rebuild whatever shard is bad
            return None
        return torch.cat(parts) if parts else torch.zeros(0, manifest["dim"])

    def _load_shard(self, path: Path, key: str, start: int, count: int) -> torch.Tensor | None:
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                if meta.get("key") != key or meta.get("start") != str(start):
                    return None
                feats = f.get_tensor("features")
        except (OSError, SafetensorError, ValueError):  # missing, truncated or not safetensors
            return None
        return feats if feats.ndim == 2 and feats.shape[0] == count else None

    def _fill(
        self, entry, key, fingerprint, backbone, transform, batch_size, num_workers, device,
        progress,
    ) -> tuple[torch.Tensor, int]:  # fmt: skip
        """Extract the shards that are missing or damaged, then write the manifest (last)."""
        for stale in entry.glob(".shard-*.tmp"):  # left by a killed run; we hold the lock
            stale.unlink(missing_ok=True)
        n, size = len(fingerprint), self.shard_size
        slices = [(s, min(s + size, n)) for s in range(0, n, size)]
        parts: dict[int, torch.Tensor] = {}
        todo = []
        for i, (a, b) in enumerate(slices):
            got = self._load_shard(entry / _shard_name(i), key, a, b - a)
            if got is None:
                todo.append(i)
            else:
                parts[i] = got
        total = sum(slices[i][1] - slices[i][0] for i in todo)
        start = time.perf_counter()
        files = [line.rsplit("|", 2)[0] for line in fingerprint]
        with extract_pooled(
            backbone, transform, batch_size=batch_size, num_workers=num_workers, device=device,
            total=total, progress=progress, description=f"features {backbone.name}",
        ) as run:  # fmt: skip
            for i in todo:
                a, b = slices[i]
                feats = run(files[a:b])
                meta = {"key": key, "start": str(a), "digest": digest(fingerprint[a:b])}
                atomic_write(
                    entry / _shard_name(i),
                    lambda p, f=feats, m=meta: save_file({"features": f}, str(p), m),
                )
                parts[i] = feats
        dim = parts[0].shape[1] if parts else backbone.num_features
        table = torch.cat([parts[i] for i in range(len(slices))]) if slices else torch.zeros(0, dim)
        _write_manifest(entry, key, backbone, transform, files, slices, int(dim), start)
        return table, total

    def entries(self) -> list[dict[str, Any]]:
        """One row per entry folder: backbone, images, size on disk, complete or not."""
        rows = []
        for entry in sorted(p for p in self.root.iterdir() if p.is_dir()):
            size = sum(f.stat().st_size for f in entry.iterdir() if f.is_file())
            manifest = entry / "manifest.json"
            row: dict[str, Any] = {"entry": entry.name, "bytes": size, "complete": False}
            if manifest.is_file():
                try:
                    m = read_json(manifest)
                    row.update(
                        complete=True,
                        backbone=m["backbone"],
                        images=m["num_images"],
                        dim=m["dim"],
                        data_root=m["data_root"],
                        created=m["created"],
                    )
                except (OSError, ValueError, KeyError):
                    pass
            rows.append(row)
        return rows

    def clear(self) -> tuple[int, int]:
        """Delete every entry; returns (entries removed, bytes freed)."""
        rows = self.entries()
        for row in rows:
            shutil.rmtree(self.root / row["entry"], ignore_errors=True)
        return len(rows), sum(r["bytes"] for r in rows)


def _write_manifest(entry, key, backbone, transform, files, slices, dim: int, start: float):
    """``manifest.json``, written last: an entry without it is never read."""
    write_json(
        entry / "manifest.json",
        {
            "version": FORMAT_VERSION,
            "key": key,
            "backbone": backbone.name,
            "weights": weights_digest(backbone),
            "transform": repr(transform),
            "num_images": len(files),
            "dim": dim,
            "data_root": os.path.commonpath(files) if files else "",
            "shards": [
                {"file": _shard_name(i), "start": a, "count": b - a}
                for i, (a, b) in enumerate(slices)
            ],
            "extract_seconds": round(time.perf_counter() - start, 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )


def _shard_name(i: int) -> str:
    return f"shard-{i:05d}.safetensors"


@contextmanager
def _locked(path: Path):
    """Hold an exclusive advisory lock on ``path`` (no-op where flock does not exist)."""
    with open(path, "a+") as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
