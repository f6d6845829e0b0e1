"""Rank candidate backbones on the user's own labelled data before any fine-tuning.

For each backbone: its pooled features of every labelled image (from the feature cache, so a
later ``--strategy probe`` run or a second ranking costs no forward pass), then a transferability
score (LogME by default; LEEP and NCE use the backbone's ImageNet head on the same features). A
backbone that is unknown or has no weights offline becomes a row "skipped: why"; the others are
still ranked. Scores are computed on all labelled images (train, val and test alike): the score
fits no model that a held-out split would need to check.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from transferkit import zoo
from transferkit.core.config import check_option
from transferkit.core.errors import (
    BackboneNotFoundError,
    ConfigError,
    WeightsMismatchError,
    WeightsUnavailableError,
)
from transferkit.core.fileio import write_json
from transferkit.data.datasets.classification import load_classification_data
from transferkit.data.datasets.multilabel import load_multilabel_data
from transferkit.data.loading import resolve_workers
from transferkit.data.transforms.classify import eval_transform
from transferkit.transfer.features import FeatureCache
from transferkit.transfer.scores import NEEDS_SOURCE_HEAD, check_metric, compute_score
from transferkit.zoo.weights import store


def parse_backbones(text: str | Sequence[str]) -> list[str]:
    """``"a,b,c"`` (or a list) into names; ``"local"`` means every backbone with weights offline."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text)
    names = [n for n in names if n]
    if names == ["local"]:
        names = local_backbones()
        if not names:
            raise ConfigError(
                "--backbones local: no backbone has pretrained weights on this machine",
                hint="import weights with `transferkit weights add NAME FILE`, or list names",
            )
    if not names:
        raise ConfigError(
            "no backbones to rank", hint="pass --backbones A,B,C or --backbones local"
        )
    return list(dict.fromkeys(names))  # keep order, drop repeats


def local_backbones() -> list[str]:
    """Zoo backbones whose pretrained weights load offline, plus every weight-store entry."""
    rows = [r for r in zoo.list_backbones() if r.weights_local]
    names = [r.name for r in rows]
    known = {r.canonical for r in rows}
    names += [e.name for e in store.list_entries() if e.name not in known]
    return names


def load_labelled(
    data: str | Path, *, format: str = "auto", on_bad_image: str = "fail", task: str = "classify"
):
    """Every labelled image of the data set as ``(paths, labels, class_names)``.

    ``labels`` are class indices (N,), or 0/1 rows (N, K) for ``task`` multilabel. The
    classification reader refuses a data set with fewer than two classes, which no score could
    rank on.
    """
    if task == "multilabel":
        splits = load_multilabel_data(data, format=format, on_bad_image=on_bad_image)
    elif task == "classify":
        splits = load_classification_data(data, format=format, on_bad_image=on_bad_image)
    else:
        raise ConfigError(
            f"rank scores classification data, not task {task!r}",
            hint="use --task classify or multilabel",
        )
    samples = [
        s for d in (splits.train, splits.val, splits.test) if d is not None for s in d.samples
    ]
    return [p for p, _ in samples], torch.tensor([y for _, y in samples]), splits.class_names


def score_backbone(
    name: str,
    paths: list[str],
    labels: torch.Tensor,
    metric: str,
    *,
    weights: str = "auto",
    img_size: int | None = None,
    cache=None,
    batch_size: int = 32,
    num_workers: int = 0,
    seed: int = 0,
    progress: bool = True,
    backbone=None,
) -> dict[str, Any]:
    """One ranking row: the score of backbone ``name`` (or the given ``backbone`` object).

    Features come from ``cache`` (a :class:`~transferkit.transfer.features.FeatureCache`; the
    default location when None). A backbone that cannot be built or scored gives a row with
    ``status="skipped"`` and the ``reason``.
    """
    cache = cache if cache is not None else FeatureCache()
    start = time.perf_counter()
    row: dict[str, Any] = {"backbone": name, "metric": metric, "weights": weights}
    try:
        if backbone is None:
            torch.manual_seed(seed)  # random init (--weights none) is then the same every time
            backbone = zoo.create_backbone(
                name, weights=weights, keep_source_head=metric in NEEDS_SOURCE_HEAD
            )
        if metric in NEEDS_SOURCE_HEAD and not backbone.has_source_head():
            raise ConfigError(f"{name} keeps no ImageNet classifier head, which {metric} needs")
        transform = eval_transform(backbone.data_config, img_size)
        got = cache.features(
            backbone, paths, transform, batch_size=batch_size, num_workers=num_workers,
            progress=progress,
        )  # fmt: skip
        logits = None
        if metric in NEEDS_SOURCE_HEAD:
            with torch.no_grad():
                logits = backbone.forward_source_head(got.features)
        row["score"] = compute_score(metric, got.features, labels, logits)
        row.update(
            status="ok",
            dim=int(got.features.shape[1]),
            extracted=got.extracted,
            feature_seconds=round(got.seconds, 3),
        )
    except (BackboneNotFoundError, WeightsUnavailableError, WeightsMismatchError, ConfigError) as e:
        row.update(status="skipped", reason=e.message)
    except RuntimeError as e:  # e.g. an input too small for the architecture: rank the others
        row.update(status="skipped", reason=f"failed: {str(e).splitlines()[0]}")
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


def rank(
    data: str | Path,
    backbones: str | Sequence[str],
    metric: str = "logme",
    *,
    weights: str = "auto",
    img_size: int | None = None,
    cache_dir: str | Path | None = None,
    out: str | Path | None = None,
    batch_size: int = 32,
    num_workers: int = 0,
    format: str = "auto",
    on_bad_image: str = "fail",
    seed: int = 0,
    progress: bool = True,
    task: str = "classify",
) -> list[dict[str, Any]]:
    """Score each of ``backbones`` on ``data``; rows sorted by score, skipped ones last.

    ``task`` multilabel reads a multi-label data set and scores LogME per label, averaged.

    Each row has ``backbone``, ``status`` ("ok" or "skipped"), ``score`` or ``reason``, and
    ``seconds``. With ``out``, ``rank.json`` is written there (atomically).
    """
    check_metric(metric)
    for name, value in (("img_size", img_size), ("batch_size", batch_size)):
        check_option(name, value)
    for name, value in (("num_workers", num_workers), ("seed", seed)):
        check_option(name, value)
    num_workers = resolve_workers(num_workers)
    names = parse_backbones(backbones)
    cache = FeatureCache(cache_dir)
    paths, labels, class_names = load_labelled(
        data, format=format, on_bad_image=on_bad_image, task=task
    )
    options = dict(weights=weights, img_size=img_size, cache=cache, batch_size=batch_size,
                   num_workers=num_workers, seed=seed, progress=progress)  # fmt: skip
    rows = [score_backbone(n, paths, labels, metric, **options) for n in names]
    rows = sort_rows(rows)
    if out is not None:
        record = {"data": str(data), "metric": metric, "weights": weights, "task": task,
                  "img_size": img_size, "images": len(paths), "classes": class_names}  # fmt: skip
        write_json(Path(out) / "rank.json", {**record, "rows": rows})
    return rows


def sort_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Scored rows by score (highest first) with their rank, then skipped rows in given order."""
    ok = sorted((r for r in rows if r.get("status") == "ok"), key=lambda r: -r["score"])
    for i, r in enumerate(ok, 1):
        r["rank"] = i
    return ok + [r for r in rows if r.get("status") != "ok"]
