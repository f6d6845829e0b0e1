"""The learning curve of a data set (``transferkit curve``): would more labels help?

One forward pass of the backbone over the train and val images (none when the feature cache holds
them), then the linear probe refitted on 10 / 25 / 50 / 100 % of the training labels
(:func:`transferkit.transfer.curve.learning_curve`). The validation split chooses each fit's L2
and is where accuracy is reported; the test split (given by the data or carved by
``test_fraction``) is set aside and never read, not even its features, so a curve can never tune
anything on it. With an output folder, ``curve.json`` and ``curve.png`` are written there.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from transferkit import zoo
from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.core.fileio import atomic_write_bytes, write_json
from transferkit.data.datasets.classification import load_classification_data
from transferkit.data.loading import resolve_workers
from transferkit.data.transforms.classify import eval_transform
from transferkit.render.plots import label_curve
from transferkit.transfer.curve import DEFAULT_FRACTIONS, LearningCurve, learning_curve
from transferkit.transfer.features import FeatureCache
from transferkit.transfer.probe import probe_device

JSON_NAME = "curve.json"
PLOT_NAME = "curve.png"


@dataclass
class CurveResult:
    """The curve, what it was measured on, and the files written (None without an output)."""

    curve: LearningCurve
    record: dict[str, Any]  # the content of curve.json
    json_path: Path | None
    plot_path: Path | None


def run_curve(
    cfg: RunConfig,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    *,
    out: str | Path | None = None,
    cache_dir: str | Path | None = None,
) -> CurveResult:
    """The learning curve of ``cfg``'s data (path, split, backbone, weights, image size).

    ``cfg.train.seed`` draws the label subsets (the same seed, the same subsets); the split comes
    from ``cfg.data`` exactly as a training run of the same config carves it.
    """
    cache = FeatureCache(cache_dir)  # checks the cache folder before any work
    d, t = cfg.data, cfg.train
    splits = load_classification_data(
        d.path,
        format=d.format,
        val_fraction=d.val_fraction,
        test_fraction=d.test_fraction,
        seed=d.split_seed,
        on_bad_image=d.on_bad_image,
    )
    # The reader refuses data without a validation split (val_fraction 0 and no val folder).
    torch.manual_seed(t.seed)  # random init (--weights none) is then the same every time
    backbone = zoo.create_backbone(cfg.model.backbone, weights=cfg.model.weights)
    train_x, train_y, val_x, val_y, got = _features(cfg, backbone, splits, cache)
    names = splits.class_names
    curve = learning_curve(
        train_x, train_y, val_x, val_y, len(names), fractions=tuple(fractions), seed=t.seed
    )
    record = {
        "data": str(d.path),
        "backbone": cfg.model.backbone,
        "weights": cfg.model.weights,
        "img_size": d.img_size,
        "classes": names,
        "images": {"train": len(splits.train), "val": len(splits.val)},
        "evaluated_split": "val",
        "split": {"val_fraction": d.val_fraction, "test_fraction": d.test_fraction,
                  "split_seed": d.split_seed},
        "seed": t.seed,
        "fractions": list(fractions),
        **curve.to_dict(),
        "features": {"extracted": got.extracted, "seconds": round(got.seconds, 3)},
    }  # fmt: skip
    json_path = plot_path = None
    if out is not None:
        json_path = write_json(Path(out) / JSON_NAME, record)
        title = f"{cfg.model.backbone}: linear probe accuracy on val by labels"
        images = [p.images for p in curve.points]
        png = label_curve(images, [p.val_accuracy for p in curve.points], title)
        plot_path = atomic_write_bytes(Path(out) / PLOT_NAME, png)
    return CurveResult(curve, record, json_path, plot_path)


def _features(cfg: RunConfig, backbone, splits, cache: FeatureCache):
    """Pooled features and labels of the train and val images (from the cache when there)."""
    train, val = splits.train.samples, splits.val.samples
    device = probe_device(cfg.train.accelerator)
    started = time.perf_counter()
    got = cache.features(
        backbone,
        [p for p, _ in train + val],
        eval_transform(backbone.data_config, cfg.data.img_size),
        batch_size=cfg.train.batch_size,
        num_workers=resolve_workers(cfg.train.num_workers),
        device=device,
        progress=not cfg.train.quiet,
    )
    source = "from the cache" if got.extracted == 0 else f"{got.extracted} extracted"
    console.info(
        f"features: {len(train)} train + {len(val)} val images, {source} "
        f"({time.perf_counter() - started:.1f}s)"
    )
    feats = got.features.to(device)
    labels = torch.tensor([y for _, y in train + val], device=device)
    n = len(train)
    return feats[:n], labels[:n], feats[n:], labels[n:], got
