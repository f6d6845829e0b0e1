"""Per-image predictions of a run's final evaluation: ``predictions/<split>.jsonl`` (+ ``.csv``).

The final evaluation of the best checkpoint computes every val / test prediction once; they are
kept here so that users can analyse errors, and so that the report, ``evaluate`` of the same split
and ``compare`` read them instead of running the model again. ``predictions/index.json`` says, per
split, which checkpoint (sha256 of its weights) made them and how many rows there are: a stored
split is used only while it still describes the run's best checkpoint and today's files.

Rows are the task's ``prediction_rows`` hook output with the image ``file`` first; classification
rows hold ``true``, ``predicted``, ``score``, ``true_score`` and ``top_k`` (label, score pairs);
detection and instance rows the image id and its COCO results, also written flat as
``<split>.coco.json`` (what ``evaluate --predictions`` scores).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

from transferkit.core.fileio import atomic_write_text, read_json, write_json
from transferkit.runs import readback

FOLDER = "predictions"
INDEX = "index.json"


def folder(run_dir: str | Path) -> Path:
    """The predictions folder of a run directory."""
    return Path(run_dir) / FOLDER


def dataset_files(dataset) -> list[str] | None:
    """The image file of each item of ``dataset``, in order (None when it does not say)."""
    if hasattr(dataset, "samples"):
        return [str(p) for p, _ in dataset.samples]
    if hasattr(dataset, "records"):
        return [str(r.path) for r in dataset.records]
    return None


def fingerprint(dataset) -> str | None:
    """A digest of what ``dataset`` holds today: each image's path, size, mtime and its label
    (classification) or objects (detection, instance). None when it does not list its items."""
    if hasattr(dataset, "samples"):
        items = [(str(p), int(label)) for p, label in dataset.samples]
    elif hasattr(dataset, "records"):
        items = [(str(r.path), repr(getattr(r, "objects", None))) for r in dataset.records]
    else:
        return None
    digest = hashlib.sha256()
    for path, label in items:
        try:
            st = os.stat(path)
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = None
        digest.update(repr((path, label, stamp)).encode())
    return digest.hexdigest()


def checkpoint_sha256(run_dir: str | Path) -> str | None:
    """The sha256 of the best checkpoint's weights, checked against the file itself: stored
    predictions never stand in for a checkpoint that was swapped or damaged (that raises,
    naming the file, as loading it would)."""
    meta = Path(run_dir) / "checkpoints" / "best.json"
    if not meta.is_file():
        return None
    record = readback.read_json_file(meta)
    readback.require(isinstance(record, dict), meta, "not a JSON object")
    readback.check_sha256(meta.with_suffix(".safetensors"), meta, record)
    return record["sha256"]


def write_split(run_dir: str | Path, split: str, dataset, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` (one per image of ``split``'s ``dataset``, in its order) with their files.

    The JSON-lines file holds every field; the CSV (classification) is one line per image with
    the top-k flattened, for a spreadsheet. The index is written last.
    """
    out = folder(run_dir)
    files = dataset_files(dataset)
    if files is not None and len(files) != len(rows):
        raise ValueError(f"{len(rows)} predictions for {len(files)} files of split {split!r}")
    named = [{"file": f, **r} for f, r in zip(files, rows, strict=True)] if files else rows
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in named)
    target = atomic_write_text(out / f"{split}.jsonl", text)
    if named and "predicted" in named[0]:
        atomic_write_text(out / f"{split}.csv", _csv(named))
    if named and "results" in named[0]:  # detection, instance: COCO results JSON as well
        write_json(out / f"{split}.coco.json", [r for row in named for r in row["results"]])
    index_path = out / INDEX
    index = read_json(index_path) if index_path.is_file() else {}
    index[split] = {
        "rows": len(named),
        "checkpoint_sha256": checkpoint_sha256(run_dir),
        "data_fingerprint": fingerprint(dataset),
    }
    write_json(index_path, index)
    return target


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["file", "true", "predicted", "score", "true_score", "top_k"])
    for r in rows:
        top = " ".join(f"{t['label']}:{t['score']:.6f}" for t in r.get("top_k", []))
        writer.writerow(
            [r.get("file", ""), r["true"], r["predicted"], f"{r['score']:.6f}"]
            + [f"{r['true_score']:.6f}", top]
        )
    return buf.getvalue()


def read_split(run_dir: str | Path, split: str, dataset=None) -> list[dict] | None:
    """The stored predictions of ``split``, or None when there are none that still hold.

    They hold when the index names the run's current best checkpoint and, given ``dataset``
    (the split as read today), when they were made for exactly its files, labels and contents.
    """
    out = folder(run_dir)
    index_path, path = out / INDEX, out / f"{split}.jsonl"
    if not (index_path.is_file() and path.is_file()):
        return None
    entry = read_json(index_path).get(split) or {}
    sha = checkpoint_sha256(run_dir)
    if sha is None or entry.get("checkpoint_sha256") != sha:
        return None
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if len(rows) != entry.get("rows"):
        return None
    if dataset is not None:
        today = fingerprint(dataset)
        if today is None or today != entry.get("data_fingerprint"):
            return None
    return rows
