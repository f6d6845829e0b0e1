"""The API's building blocks outside a run: data sets and models as training builds them, the
learning curve, the feature cache and the local weight store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transferkit.core.config import RunConfig
from transferkit.core.errors import DatasetError
from transferkit.data.datasets import DataSplits
from transferkit.engine.curve import CurveResult, run_curve
from transferkit.runs.carry import create_backbone
from transferkit.tasks import get_task
from transferkit.transfer.curve import DEFAULT_FRACTIONS, parse_fractions
from transferkit.transfer.features import FeatureCache
from transferkit.transfer.model import TransferModel
from transferkit.zoo.weights import store as weight_store


def load_dataset(
    path: str | Path,
    task: str = "classify",
    backbone: str = "efficientnet_lite0",
    weights: str = "auto",
    **settings: Any,
) -> DataSplits:
    """Read a data set as training would (splits, transforms of ``backbone``'s weights)."""
    cfg = RunConfig(task=task).with_values(path=str(path), backbone=backbone, **settings)
    data_config = create_backbone(backbone, weights).data_config
    return get_task(task).load_data(cfg, data_config)


def create_model(
    backbone: str, num_classes: int, task: str = "classify", weights: str = "auto", **settings: Any
) -> TransferModel:
    """A pretrained ``backbone`` with new layers on top for ``num_classes`` classes."""
    cfg = RunConfig(task=task).with_values(backbone=backbone, weights=weights, **settings)
    bb = create_backbone(backbone, weights)
    return get_task(task).build_model(bb, num_classes, cfg.model)


def curve(
    data: str | Path,
    backbone: str = "efficientnet_lite0",
    fractions: str | Sequence[float] = DEFAULT_FRACTIONS,
    out: str | Path | None = None,
    *,
    cache_dir: str | Path | None = None,
    **settings: Any,
) -> CurveResult:
    """Probe accuracy on val at ``fractions`` of the training labels, and "would more labels help?".

    ``settings`` are config fields by name (weights, img_size, val_fraction, test_fraction,
    split_seed, seed, batch_size, num_workers, format, on_bad_image, quiet); with ``out``,
    ``curve.json`` and ``curve.png`` are written there. The test split is never read.
    """
    chosen = parse_fractions(fractions)
    cfg = RunConfig().with_values(path=str(data), backbone=backbone, **settings)
    if not Path(data).exists():
        raise DatasetError(f"data path not found: {data}", hint="check the path given to --data")
    return run_curve(cfg, chosen, out=out, cache_dir=cache_dir)


def feature_cache(cache_dir: str | Path | None = None) -> FeatureCache:
    """The feature cache (``entries()``, ``clear()``) in ``cache_dir`` or the default folder."""
    return FeatureCache(cache_dir)


def weights_dir() -> Path:
    """The folder of the local weight store."""
    return weight_store.store_dir()


def add_weights(name: str, file: str | Path, licence: str, pretraining_data: str):
    """Import a state dict file into the local weight store as ``name``; returns its entry."""
    return weight_store.add(name, file, licence, pretraining_data)


def list_weights() -> list:
    """The entries of the local weight store."""
    return weight_store.list_entries()
